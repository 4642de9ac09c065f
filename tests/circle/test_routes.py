"""The circle's screens over HTTP: joining, bad input, the Activity page, banners, fresh auth."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.circle.conftest import count, get, give, record_at
from webapp import audit
from webapp.accounts.models import User
from webapp.circle import services
from webapp.circle.models import AccessRequest, EmergencyAccess, Grant, Invitation
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _code(html: str) -> str:
    return re.search(r'id="invitation-code">([^<]+)<', html).group(1)


def test_patient_invites_and_anonymous_relative_joins_with_a_new_account(
        app, client, people, login):
    login(client, people.jeanne)
    page = client.post("/circle/invitations",
                       data={"label": "Claire", "scopes": ["messages", "agenda"]})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    code = _code(html)
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code, drawn on the server
    assert f"/circle/join?code={code.replace('-', '')}" in html
    visitor = app.test_client()
    landing = visitor.get(f"/circle/join?code={code}")
    assert "Jeanne Martin invites you" in landing.get_data(as_text=True)
    joined = visitor.post("/circle/join", data={
        "code": code, "display_name": "Claire Dupont", "email": "claire.d@example.test",
        "password": "a long enough password"})
    assert joined.status_code == 302
    home = visitor.get("/home").get_data(as_text=True)
    assert "Acting for Jeanne Martin" in home  # the banner, on every page
    with app.app_context():
        new = db.session.scalar(db.select(User).filter_by(email="claire.d@example.test"))
        assert new.role == "relative"
        grant = services.active_grant(people.jeanne.id, new.id)
        assert grant.scope_set == {"messages", "agenda"}
    # The code is spent.
    again = app.test_client().post("/circle/join", data={
        "code": code, "display_name": "Mallory", "email": "m@example.test",
        "password": "a long enough password"})
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(email="m@example.test")) is None


def test_the_join_page_says_until_when_the_access_lasts(app, people):
    # The relative learns before joining that the access ends, and when (the patient's last
    # day, written as everywhere else in the circle).
    with app.app_context():
        ends = services.now() + timedelta(days=10)
        _row, limited = services.create_invitation(get(people.jeanne), "Luc", "messages", ends)
        _row, open_ended = services.create_invitation(get(people.jeanne), "Léa", "messages", None)
        last = services.last_day(ends, "Europe/Paris")
    page = app.test_client().get(f"/circle/join?code={limited}").get_data(as_text=True)
    assert f"Until {last.day} {last.strftime('%B')} {last.year}" in page
    page = app.test_client().get(f"/circle/join?code={open_ended}").get_data(as_text=True)
    assert "Jeanne Martin invites you" in page and "Until " not in page


def test_bad_codes_say_so_and_create_nothing(app, client, people, login):
    with app.app_context():
        _row, expired = services.create_invitation(get(people.jeanne), "Late", "messages", None)
        db.session.get(Invitation, _row.id).expires_at = services.now() - timedelta(hours=1)
        db.session.commit()
        users_before = count(User)
    for code, status, words in ((expired, 410, "expired"), ("ZZZZZ-ZZZZZ", 400, "not valid"),
                                ("<script>", 400, "not valid")):
        response = client.post("/circle/join", data={
            "code": code, "display_name": "Eve", "email": "eve@example.test",
            "password": "a long enough password"})
        assert response.status_code == status
        assert words in response.get_data(as_text=True)
        fragment = client.post("/circle/join", headers=HX, data={"code": code})
        assert fragment.status_code == status
        assert "<html" not in fragment.get_data(as_text=True)
        assert 'id="circle-join"' in fragment.get_data(as_text=True)
    with app.app_context():
        assert count(User) == users_before and count(Grant) == 0
    # A signed-in relative with a bad code: same message, nothing changed.
    login(client, people.claire)
    response = client.post("/circle/join", data={"code": "ABCDE-FGHJK"})
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    # A bad new account (short password) keeps the code unspent.
    with app.app_context():
        _row, code = services.create_invitation(get(people.jeanne), "Bob", "messages", None)
        bob_invitation = _row.id
    bad = app.test_client().post("/circle/join", data={
        "code": code, "display_name": "Bob", "email": "bob@example.test", "password": "short"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.get(Invitation, bob_invitation).used_at is None
        assert count(User) == users_before


def test_granting_to_oneself_unknown_scope_and_bad_date_change_nothing(
        app, client, granted, login):
    login(client, granted.jeanne)
    response = client.post("/circle/grants", data={"professional_id": granted.jeanne.id,
                                                   "scopes": ["messages"]})
    assert response.status_code == 400
    assert "own space" in response.get_data(as_text=True)
    response = client.post(f"/circle/grants/{granted.claire_grant}",
                           data={"scopes": ["messages", "xray"]})
    assert response.status_code == 400
    assert "Unknown kind of access: xray" in response.get_data(as_text=True)
    response = client.post(f"/circle/grants/{granted.claire_grant}",
                           data={"scopes": ["messages"], "ends_on": "not a date"})
    assert response.status_code == 400
    response = client.post("/circle/invitations", data={"label": "", "scopes": ["messages"]})
    assert response.status_code == 400 and "who the invitation is for" in \
        response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Grant, granted.claire_grant).scopes == "messages,agenda"
        assert count(Grant) == 2 and count(Invitation) == 0


def test_narrow_then_revoke_through_the_page(app, client, granted, login):
    login(client, granted.jeanne)
    page = client.get("/circle/").get_data(as_text=True)
    assert "Claire Martin" in page and "Nadia Benali" in page
    response = client.post(f"/circle/grants/{granted.claire_grant}",
                           data={"scopes": ["messages"], "ends_on": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Grant, granted.claire_grant).scope_set == {"messages"}
    response = client.post(f"/circle/grants/{granted.nadia_grant}/revoke")
    assert response.status_code == 302
    assert f'id="grant-{granted.nadia_grant}"' not in client.get("/circle/").get_data(as_text=True)


def test_professional_searching_a_patient_who_blocked_them(app, client, granted, login):
    with app.app_context():
        services.block(get(granted.jeanne), granted.nadia.id)
    login(client, granted.nadia)
    response = client.get(f"/circle/patients/find?email={granted.jeanne.email}")
    assert response.status_code == 404
    assert "No patient you can contact" in response.get_data(as_text=True)
    assert client.post(f"/circle/patients/{granted.jeanne.id}/request",
                       data={"scopes": ["messages"]}).status_code == 404
    assert client.post(f"/circle/patients/{granted.jeanne.id}/emergency",
                       data={"reason": "Unconscious, allergies?"}).status_code == 404
    assert client.get(f"/circle/patients/{granted.jeanne.id}/summary").status_code == 403
    with app.app_context():
        assert count(audit.AccessEvent) == 1  # only Jeanne's own "block"


def test_each_summary_read_by_someone_else_is_one_history_row(app, client, granted, login):
    login(client, granted.jeanne)
    assert client.get(f"/circle/patients/{granted.jeanne.id}/summary").status_code == 200
    with app.app_context():
        assert count(audit.AccessEvent) == 0  # the patient's own reads are not history
    nadia = login(app.test_client(), granted.nadia)
    for _ in range(3):
        assert nadia.get(f"/circle/patients/{granted.jeanne.id}/summary").status_code == 200
    with app.app_context():
        rows = db.session.scalars(db.select(audit.AccessEvent)).all()
        assert len(rows) == 3
        assert {(r.actor_id, r.kind, r.action, r.device, r.emergency) for r in rows} == \
            {(granted.nadia.id, "summary", "read", "desktop", False)}


def test_emergency_access_through_the_screens(app, client, people, login):
    paul = login(app.test_client(), people.paul)
    found = paul.get(f"/circle/patients/find?email={people.jeanne.email}")
    assert found.status_code == 200 and "Emergency access to the summary" in \
        found.get_data(as_text=True)
    short = paul.post(f"/circle/patients/{people.jeanne.id}/emergency", data={"reason": "x"})
    assert short.status_code == 400
    opened = paul.post(f"/circle/patients/{people.jeanne.id}/emergency",
                       data={"reason": "Fall at home, unconscious"})
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/summary")
    summary = paul.get(opened.headers["Location"]).get_data(as_text=True)
    assert "Emergency access, until" in summary
    login(client, people.jeanne)
    home = client.get("/home").get_data(as_text=True)
    assert "Paul Lefevre opened your summary with emergency access" in home  # notice banner
    activity = client.get("/circle/activity").get_data(as_text=True)
    assert activity.count("activity--emergency") == 2  # opening and reading, highlighted


def test_activity_filters_and_keyset_paging(app, client, granted, login):
    with app.app_context():
        jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
        start = services.now() - timedelta(days=60)
        for i in range(45):
            who = claire if i % 3 else nadia
            record_at(start + timedelta(hours=i),  # distinct, ordered times
                      who, jeanne, "read", "message" if i % 2 else "appointment", i)
        record_at(services.now() - timedelta(days=400), claire, jeanne, "read", "document", 99)
        audit.record(jeanne, jeanne, "grant", "grant", 1)
        db.session.commit()
    login(client, granted.jeanne)
    first = client.get("/circle/activity")
    html = first.get_data(as_text=True)
    assert html.count('data-kind=') == 20
    more = re.search(r'hx-get="([^"]*before=[^"]+)"', html).group(1).replace("&amp;", "&")
    page2 = client.get(more, headers=HX)
    body = page2.get_data(as_text=True)
    assert "<html" not in body and body.count('data-kind=') == 20
    seen1 = set(re.findall(r'datetime="([^"]+)"', html))
    seen2 = set(re.findall(r'datetime="([^"]+)"', body))
    assert not seen1 & seen2  # keyset: no row twice
    # Same URL without HTMX: the full page.
    assert "<html" in client.get(more).get_data(as_text=True)
    # Filters: person, kind, period.
    only_nadia = client.get(f"/circle/activity?person={granted.nadia.id}", headers=HX)
    text = only_nadia.get_data(as_text=True)
    assert 'id="activity"' in text and "Claire Martin" not in text and "Nadia Benali" in text
    docs = client.get("/circle/activity?kind=documents", headers=HX).get_data(as_text=True)
    assert docs.count('data-kind=') == 1
    recent = client.get("/circle/activity?kind=documents&period=365d",
                        headers=HX).get_data(as_text=True)
    assert recent.count('data-kind=') == 0
    mine = client.get("/circle/activity?tab=mine").get_data(as_text=True)
    assert mine.count('data-kind=') == 1 and "gave access" in mine
    # Junk in the query never fails.
    for junk in ("before=zzz", "before=2020-01-01T00:00:00_x", "person=abc", "kind=<b>",
                 "period=99y"):
        assert client.get(f"/circle/activity?{junk}").status_code == 200


def test_directory_page_and_fragment(app, client, people, login):
    login(client, people.jeanne)
    page = client.get("/circle/directory?q=nurse")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/circle/directory?q=nurse", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="directory-results"')
    assert "Nadia Benali" in fragment and "Paul Lefevre" not in fragment


def test_managing_access_needs_a_fresh_sign_in(app, client, granted, login):
    login(client, granted.jeanne)
    with client.session_transaction() as session:
        session["auth_at"] = 0
    response = client.post(f"/circle/grants/{granted.claire_grant}/revoke")
    assert response.status_code == 302 and "/accounts/reauth" in response.headers["Location"]
    with app.app_context():
        assert db.session.get(Grant, granted.claire_grant).revoked_at is None


def test_relative_act_for_switch_and_limits(app, client, granted, login, make_user):
    with app.app_context():
        albert = make_user("patient", display_name="Albert Martin")
        services.grant(get(albert), get(granted.claire), "agenda", None)
        db.session.commit()
    login(client, granted.claire)
    page = client.get("/circle/").get_data(as_text=True)
    assert "Act for Jeanne Martin" in page and "Act for Albert Martin" in page
    assert "Acting for" not in client.get("/home").get_data(as_text=True)
    assert client.post("/circle/act-for", data={"patient_id": albert.id}).status_code == 302
    assert "Acting for Albert Martin" in client.get("/home").get_data(as_text=True)
    assert client.post("/circle/act-for",
                       data={"patient_id": granted.olga.id}).status_code == 403
    assert client.post("/circle/act-for", data={"patient_id": "x"}).status_code == 400
    # A relative never manages, reads the history, or sees what her scopes do not open.
    assert client.get("/circle/activity").status_code == 403
    assert client.post(f"/circle/grants/{granted.claire_grant}/revoke").status_code == 403
    assert client.get(f"/circle/patients/{granted.jeanne.id}/summary").status_code == 403


def test_circle_screens_speak_french(app, client, granted, login, make_user):
    with app.app_context():
        get(granted.jeanne).language = "fr"
        db.session.commit()
    login(client, granted.jeanne)
    page = client.get("/circle/").get_data(as_text=True)
    assert "Mon entourage" in page and "Inviter un proche" in page
    response = client.post(f"/circle/grants/{granted.claire_grant}", data={"scopes": ["xray"]})
    assert "Type d’accès inconnu\u202f: xray." in response.get_data(as_text=True)


def test_every_recorded_action_has_a_label_in_the_access_history(app):
    """The history shows an action by a sentence in the reader's language, never the raw word
    the code records: every action any domain records has one."""
    from pathlib import Path

    from webapp.circle import activity_text

    recorded = set()
    call = re.compile(r"""(?:audit\.record|audit_action)\(\s*[^,]+,\s*[^,]+,\s*"""
                      r"""("[a-z_]+"(?:\s+if\s+[^,]+?\s+else\s+"[a-z_]+")?)""")
    for path in Path(app.root_path).rglob("*.py"):
        for match in call.finditer(path.read_text(encoding="utf-8")):
            recorded.update(re.findall(r'"([a-z_]+)"', match.group(1)))
    assert {"read", "write", "watch", "taken", "propose", "forbid"} <= recorded
    with app.test_request_context():
        assert recorded - set(activity_text.sentences()) == set()


# ---- A refused change to someone's access: that person stays open, the message focused ----

def _li(html: str, grant_id: int) -> str:
    start = html.index(f'<li id="grant-{grant_id}"')
    return html[start:html.index("</li>", start)]


def test_a_refused_change_comes_back_open_with_the_message(app, client, granted, login):
    login(client, granted.jeanne)
    url = f"/circle/grants/{granted.claire_grant}"
    # HTMX: only that person comes back, open, what was typed kept, the date field focused.
    past = client.post(url, headers=HX, data={"scopes": ["messages"], "ends_on": "2020-01-01"})
    assert past.status_code == 400
    body = past.get_data(as_text=True)
    assert "<html" not in body
    assert body.lstrip().startswith(f'<li id="grant-{granted.claire_grant}"')
    assert "<details open>" in body
    error = f'id="grant-error-{granted.claire_grant}"'
    assert re.search(rf'<p class="field-error" role="alert" {error}>The end date must be today',
                     body)
    date_input = re.search(r'<input type="date"[^>]*>', body).group(0)
    assert 'value="2020-01-01"' in date_input and 'aria-invalid="true"' in date_input
    assert "autofocus" in date_input and f"grant-error-{granted.claire_grant}" in date_input
    assert f'hx-target="#grant-{granted.claire_grant}"' in body  # the next try swaps it again
    # No scope at all: the first box takes focus, the boxes say what they were.
    none = client.post(url, headers=HX, data={"ends_on": ""})
    assert none.status_code == 400
    body = none.get_data(as_text=True)
    assert "<details open>" in body and "Choose at least one kind of access." in body
    boxes = re.findall(r'<input type="checkbox"[^>]*>', body)
    assert "autofocus" in boxes[0] and not any("checked" in b for b in boxes)
    assert all(f'aria-describedby="grant-error-{granted.claire_grant}"' in b for b in boxes)
    # Without JavaScript: the whole page, only that person open, the same message.
    page = client.post(url, data={"scopes": ["messages"], "ends_on": "2020-01-01"})
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "<html" in html
    assert "<details open>" in _li(html, granted.claire_grant)
    assert "role=\"alert\"" in _li(html, granted.claire_grant)
    assert "<details open>" not in _li(html, granted.nadia_grant)
    with app.app_context():
        row = db.session.get(Grant, granted.claire_grant)
        assert (row.scopes, row.ends_at) == ("messages,agenda", None)  # nothing saved


def test_a_refused_change_speaks_french(app, client, granted, login):
    with app.app_context():
        get(granted.jeanne).language = "fr"
        db.session.commit()
    login(client, granted.jeanne)
    body = client.post(f"/circle/grants/{granted.claire_grant}", headers=HX,
                       data={"scopes": ["messages"], "ends_on": "2020-01-01"}
                       ).get_data(as_text=True)
    assert "<details open>" in body
    assert "La date de fin doit être aujourd’hui ou plus tard." in body


def test_changing_an_access_revoked_meanwhile_says_so_on_top(app, client, granted, login):
    login(client, granted.jeanne)
    with app.app_context():
        services.revoke_grant(get(granted.jeanne), granted.claire_grant)
    url = f"/circle/grants/{granted.claire_grant}"
    # HTMX: nothing to reopen; the circle reloads with the message.
    swapped = client.post(url, headers=HX, data={"scopes": ["messages"]})
    assert swapped.status_code == 410 and swapped.headers["HX-Redirect"] == "/circle/"
    assert "This access was revoked" in client.get("/circle/").get_data(as_text=True)
    # Without JavaScript: the page, the message at the top.
    page = client.post(url, data={"scopes": ["messages"]})
    assert page.status_code == 410
    assert re.search(r'<p class="flash flash--error" role="alert"[^>]*>This access was revoked',
                     page.get_data(as_text=True))


# ---- After creating an invitation code, a reload never fails ------------------------------

def test_reloading_after_creating_a_code_lands_on_the_circle(app, client, people, login):
    login(client, people.jeanne)
    boosted = {**HX, "HX-Boosted": "true"}  # the form is boosted: the bar shows its address
    created = client.post("/circle/invitations", headers=boosted,
                          data={"label": "Claire", "scopes": ["messages"]})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert 'id="invitation-code"' in html and "shown only once" in html
    for headers in ({}, boosted):
        reload = client.get("/circle/invitations", headers=headers)
        assert reload.status_code == 302
        assert reload.headers["Location"] == "/circle/"
    page = client.get("/circle/invitations", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "an invitation code is shown only once" in html  # why the code is not there
    assert 'id="invitation-code"' not in html  # only its hash is kept
    assert "Claire" in html and "Cancel the invitation" in html  # still listed, cancellable
    # Only the patient has invitations to come back to.
    claire = login(app.test_client(), people.claire)
    assert claire.get("/circle/invitations").status_code == 403


def test_reloading_after_creating_a_code_speaks_french(app, client, people, login):
    with app.app_context():
        get(people.jeanne).language = "fr"
        db.session.commit()
    login(client, people.jeanne)
    client.post("/circle/invitations", data={"label": "Claire", "scopes": ["messages"]})
    html = client.get("/circle/invitations", follow_redirects=True).get_data(as_text=True)
    assert "Par sécurité, un code d’invitation ne s’affiche qu’une fois." in html
    assert "Cette action n’est pas autorisée" not in html


# ---- Dates read like the rest of the app, in the reader's language -------------------------

MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"],
          "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                 "septembre", "octobre", "novembre", "décembre"]}


def _set_language(app, user, language):
    with app.app_context():
        get(user).language = language
        db.session.commit()


def test_end_dates_are_written_out_not_iso(app, client, granted, login):
    from datetime import date

    day = date(services.now().year + 1, 11, 29)
    with app.app_context():
        services.change_grant(get(granted.jeanne), granted.claire_grant, "messages",
                              services.parse_end_date(day.isoformat(), "Europe/Paris"))
    login(client, granted.jeanne)
    for language, until in (("en", "Until"), ("fr", "Jusqu’au")):
        _set_language(app, granted.jeanne, language)
        html = client.get("/circle/").get_data(as_text=True)
        assert f"{until} 29 {MONTHS[language][10]} {day.year}" in html
        assert f"{until} {day.isoformat()}" not in html
        assert f'value="{day.isoformat()}"' in html  # the date field still takes ISO
    # The relative reads her own end date the same way.
    claire = login(app.test_client(), granted.claire)
    html = claire.get("/circle/").get_data(as_text=True)
    assert f"Until 29 November {day.year}" in html and day.isoformat() not in html


def test_invitation_expiry_reads_like_the_agenda(app, client, people, login):
    from zoneinfo import ZoneInfo

    login(client, people.jeanne)
    with app.app_context():
        row, _code = services.create_invitation(get(people.jeanne), "Claire", "messages", None)
        expires = row.expires_at
    local = expires.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Paris"))
    days = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "fr": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]}
    months = {"en": MONTHS["en"], "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin",
                                         "juil.", "août", "sept.", "oct.", "nov.", "déc."]}
    for language in ("en", "fr"):
        _set_language(app, people.jeanne, language)
        html = client.get("/circle/").get_data(as_text=True)
        month = months[language][local.month - 1]
        month = month[:3] if language == "en" else month
        expected = (f"{days[language][local.weekday()]} {local.day} {month}, "
                    f"{local:%H:%M}")
        valid = "Valid until" if language == "en" else "Valable jusqu’au"
        assert f"{valid} {expected}" in html, re.findall(rf"{valid}[^<]*", html)
        assert not re.search(rf"{valid} \d+/\d+/\d+", html)  # never 12/6/26
        assert " AM" not in html and " PM" not in html


def test_emergency_end_reads_like_the_agenda(app, client, people, login):
    paul = login(app.test_client(), people.paul)
    opened = paul.post(f"/circle/patients/{people.jeanne.id}/emergency",
                       data={"reason": "Fall at home, unconscious"})
    summary = paul.get(opened.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Emergency access, until (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} "
                     r"[A-Z][a-z]{2}, \d\d:\d\d\.", summary)
    mine = paul.get("/circle/").get_data(as_text=True)
    assert re.search(r"Emergency access until (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} "
                     r"[A-Z][a-z]{2}, \d\d:\d\d<", mine)


# ---- Wording: the join page and a professional's request ----------------------------------

def test_join_page_names_the_field_without_guessing_a_gender(app, client, people):
    with app.app_context():
        _row, code = services.create_invitation(get(people.jeanne), "Claire", "messages", None)
    french = {"Accept-Language": "fr"}
    html = client.get(f"/circle/join?code={code}", headers=french).get_data(as_text=True)
    assert "Votre nom, tel qu’il s’affichera pour Jeanne Martin" in html
    assert "le verra" not in html
    html = client.get("/circle/join", headers=french).get_data(as_text=True)
    assert "Votre nom, tel qu’il s’affichera dans l’entourage" in html
    english = {"Accept-Language": "en"}
    html = app.test_client().get(f"/circle/join?code={code}",
                                 headers=english).get_data(as_text=True)
    assert "Your name, as it will be shown to Jeanne Martin" in html
    fragment = app.test_client().get(f"/circle/join?code={code}", headers={**english, **HX})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "as it will be shown to Jeanne Martin" in fragment.get_data(as_text=True)


def test_a_professionals_request_says_what_they_ask_for(app, client, people, login):
    login(client, people.paul)
    html = client.get(f"/circle/patients/find?email={people.jeanne.email}").get_data(
        as_text=True)
    assert "<legend>What you are asking for</legend>" in html
    assert "What they can see" not in html
    _set_language(app, people.paul, "fr")
    html = client.get(f"/circle/patients/find?email={people.jeanne.email}").get_data(
        as_text=True)
    assert "<legend>Ce que vous demandez</legend>" in html
    # The patient, giving access, still reads what the other person will see.
    login(app.test_client(), people.jeanne)
    page = login(app.test_client(), people.jeanne).get("/circle/").get_data(as_text=True)
    assert "<legend>What they can see</legend>" in page


# ---- Copy buttons next to a new invitation code and its link -------------------------------

@pytest.mark.parametrize("language, copy, code_label, link_label, copied", [
    ("en", "Copy", "Copy the code", "Copy the link", "Copied"),
    ("fr", "Copier", "Copier le code", "Copier le lien", "Copié")])
def test_a_new_code_and_its_link_have_copy_buttons(app, client, people, login, language, copy,
                                                   code_label, link_label, copied):
    _set_language(app, people.jeanne, language)
    login(client, people.jeanne)
    boosted = {**HX, "HX-Boosted": "true"}  # how the form is sent: the whole page comes back
    for headers in ({}, boosted):
        html = client.post("/circle/invitations", headers=headers,
                           data={"label": "Claire", "scopes": ["messages"]}).get_data(as_text=True)
        for target, label in (("invitation-code", code_label), ("invitation-link", link_label)):
            button = re.search(rf'<button type="button"[^>]*data-copy-target="{target}"[^>]*>'
                               r'([^<]*)</button>', html)
            assert button, target
            assert button.group(1) == copy
            assert f'aria-label="{label}"' in button.group(0)
            assert f'data-copied="{copied}"' in button.group(0)
            assert 'data-copy-status="invitation-copy-status"' in button.group(0)
            assert f'id="{target}"' in html
        assert re.search(r'<p[^>]*id="invitation-copy-status"[^>]*role="status"'
                         r'[^>]*aria-live="polite"', html)
    page = client.get("/circle/").get_data(as_text=True)  # no code: nothing to copy
    assert "data-copy-target" not in page
    assert "js%2Fcopy.js" in page or "js/copy.js" in page  # in every page's script bundle


# ---- A professional asking for access: what they see after asking, and refusals ------------

def test_a_professional_who_asked_sees_the_request_waiting_not_the_form_again(
        app, client, people, login):
    login(client, people.paul)
    find = f"/circle/patients/find?email={people.jeanne.email}"
    asked = client.post(f"/circle/patients/{people.jeanne.id}/request",
                        data={"scopes": ["messages", "summary"], "note": "Your new GP"})
    assert asked.status_code == 302
    html = client.get(find).get_data(as_text=True)
    assert 'id="pending-request"' in html
    assert "The answer has not come yet." in html
    assert f'/circle/patients/{people.jeanne.id}/request"' not in html  # no form to send again
    # Sent again anyway (an old tab): said beside the patient, nothing written.
    again = client.post(f"/circle/patients/{people.jeanne.id}/request",
                        data={"scopes": ["messages"]})
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert 'id="pending-request"' in html  # which says so
    with app.app_context():
        assert count(AccessRequest) == 1
    _set_language(app, people.paul, "fr")
    html = client.get(find).get_data(as_text=True)
    assert "Vous avez demandé l’accès le " in html
    assert "La réponse n’est pas encore venue." in html


def test_a_refused_request_keeps_the_note_and_says_why_beside_the_form(
        app, client, people, login):
    login(client, people.paul)
    refused = client.post(f"/circle/patients/{people.jeanne.id}/request",
                          data={"note": "I am her new GP, from 1 December"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert re.search(r'<p class="field-error" role="alert" id="request-error"[^>]*>'
                     r'Choose at least one kind of access.</p>', html)
    assert ">I am her new GP, from 1 December</textarea>" in html  # not typed again
    assert 'aria-describedby="request-error"' in html
    with app.app_context():
        assert count(AccessRequest) == 0
    hx = client.post(f"/circle/patients/{people.jeanne.id}/request", headers=HX,
                     data={"note": "x"})
    assert hx.status_code == 400 and 'id="request-error"' in hx.get_data(as_text=True)


def test_a_blank_emergency_reason_reopens_the_form_with_the_message(app, client, people, login):
    login(client, people.paul)
    refused = client.post(f"/circle/patients/{people.jeanne.id}/emergency",
                          data={"reason": "          "})  # ten spaces pass the browser's check
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert '<details class="emergency-access" open>' in html
    assert re.search(r'id="emergency-error"[^>]*>Describe the emergency \(at least 10 '
                     r'characters\).</p>', html)
    with app.app_context():
        assert count(EmergencyAccess) == 0


def test_refusals_about_who_may_ask_stay_plain_errors(app, client, granted, login):
    with app.app_context():
        services.block(get(granted.jeanne), granted.nadia.id)
    login(client, granted.claire)  # a relative: not a professional
    response = client.post(f"/circle/patients/{granted.jeanne.id}/request",
                           data={"scopes": ["messages"]})
    assert response.status_code == 404
    assert 'id="found-patient"' not in response.get_data(as_text=True)
    login(client, granted.nadia)  # blocked by Jeanne: she does not exist for Nadia
    for action, data in (("request", {"scopes": ["messages"]}),
                         ("emergency", {"reason": "Fall at home, unconscious"})):
        response = client.post(f"/circle/patients/{granted.jeanne.id}/{action}", data=data)
        assert response.status_code == 404
        assert 'id="found-patient"' not in response.get_data(as_text=True)


def test_a_relative_whose_access_ran_out_is_told_so(app, client, people, login):
    with app.app_context():
        row = db.session.get(Grant, give(people.jeanne, people.claire, "messages"))
        row.ends_at = services.now() - timedelta(days=1)  # its last day has passed
        db.session.commit()
        last = services.last_day(row.ends_at, "Europe/Paris")
    login(client, people.claire)
    html = client.get("/circle/").get_data(as_text=True)
    assert "Nobody has given you access yet." not in html
    assert "You have access to nobody’s space at the moment." in html
    assert (f"Your access to Jeanne Martin’s space ended on {last.day} "
            f"{last.strftime('%B')} {last.year}.") in html
    _set_language(app, people.claire, "fr")
    html = client.get("/circle/").get_data(as_text=True)
    assert "Votre accès à l’espace de Jeanne Martin a pris fin le " in html
    # Revoked (or blocked): nothing is said about that patient.
    with app.app_context():
        services.revoke_grant(get(people.jeanne), row.id)
    html = client.get("/circle/").get_data(as_text=True)
    assert "Jeanne Martin" not in html
    # ...but not that nobody ever gave her access: she had some.
    assert "Personne ne vous a encore donné accès." not in html
    assert "Vous n’avez accès à l’espace de personne pour le moment." in html
    # Given again: listed as a patient she helps, no ended line.
    with app.app_context():
        give(people.jeanne, people.claire, "messages")
    html = client.get("/circle/").get_data(as_text=True)
    assert 'id="ended-access"' not in html and 'id="patient-' in html


def test_a_newcomer_is_told_nobody_has_given_access_yet(app, client, people, login):
    login(client, people.claire)
    html = client.get("/circle/").get_data(as_text=True)
    assert "Nobody has given you access yet." in html
    assert 'id="ended-access"' not in html


@pytest.mark.parametrize("language, question", [
    ("en", "Cancel the invitation for Léo &lt;b&gt;? Its code will stop working."),
    ("fr", "Annuler l’invitation pour Léo &lt;b&gt;\u202f? Son code ne fonctionnera plus.")])
def test_cancelling_an_invitation_asks_first(app, client, people, login, language, question):
    # The code dies at once and cannot be shown again: a slip of the finger costs a new one.
    with app.app_context():
        row, _code = services.create_invitation(get(people.jeanne), "Léo <b>", "messages", None)
        invitation_id = row.id
    _set_language(app, people.jeanne, language)
    login(client, people.jeanne)
    html = client.get("/circle/").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/circle/invitations/{invitation_id}/cancel">.*?'
                     r'</form>', html, re.S).group(0)
    assert f'data-confirm="{question}"' in form
