import re

import pytest
from sqlalchemy import func, select

from tests.chat.conftest import client_id, get
from tests.csrf import token_in
from webapp.chat import services
from webapp.chat.models import Conversation, Message
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Message.id)))


def _post(app, who, conversation, body):
    with app.app_context():
        return services.post_message(
            get(who), db.session.get(Conversation, conversation), body, client_id()
        )[0].id


def test_list_full_page_and_fragment(app, client, login, circle, conversation):
    _post(app, circle.nurse, conversation, "Bonjour Jeanne")
    login(client, circle.patient)
    page = client.get("/chat/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "Dressing change" in html and "Bonjour Jeanne" in html
    assert 'id="emergency-notice"' in html
    assert re.search(r'id="unread-badge" class="badge" >1<', html)
    fragment = client.get("/chat/?filter=unread", headers=HX).get_data(as_text=True)
    assert (
        fragment.lstrip().startswith('<section id="conversation-list"') and "<html" not in fragment
    )
    assert "Bonjour Jeanne" in fragment
    assert "No conversation matches" in client.get("/chat/?q=nobody", headers=HX).get_data(
        as_text=True
    )


def test_conversation_page_marks_read_and_escapes(app, client, login, circle, conversation):
    _post(app, circle.nurse, conversation, "<script>alert(1)</script> see https://example.org")
    login(client, circle.patient)
    page = client.get(f"/chat/{conversation}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert '<a href="https://example.org"' in html
    assert 'id="emergency-notice"' in html and 'id="composer"' in html
    assert "Today" in html  # the day separator
    fragment = client.get(f"/chat/{conversation}", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="chat"')
    with app.app_context():
        assert services.unread_total(get(circle.patient)) == 0


def test_post_with_htmx_returns_the_fragment(app, client, login, circle, conversation):
    login(client, circle.relative)
    response = client.post(
        f"/chat/{conversation}/messages",
        headers=HX,
        data={"body": "Maman a bien dormi", "client_id": client_id()},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<li class="msg"') and "Maman a bien dormi" in html
    assert f'data-author="{circle.relative.id}"' in html
    assert "Written by Claire Martin for Jeanne Martin" in html
    assert _count(app) == 1


def test_post_without_javascript_redirects_back(app, client, login, circle, conversation):
    login(client, circle.patient)
    response = client.post(
        f"/chat/{conversation}/messages", data={"body": "Merci", "client_id": client_id()}
    )
    assert response.status_code == 302
    assert f"/chat/{conversation}#msg-" in response.headers["Location"]
    assert "Merci" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "Write a message before sending."),
        ("x" * 4001, "A message can have at most 4,000 characters."),
    ],
)
def test_bad_bodies_get_a_clear_message(app, client, login, circle, conversation, body, message):
    login(client, circle.patient)
    full = client.post(
        f"/chat/{conversation}/messages", data={"body": body, "client_id": client_id()}
    )
    assert full.status_code == 400 and message in full.get_data(as_text=True)
    assert "<html" in full.get_data(as_text=True)
    hx = client.post(
        f"/chat/{conversation}/messages", headers=HX, data={"body": body, "client_id": client_id()}
    )
    assert hx.status_code == 400 and hx.headers["HX-Retarget"] == "#composer-error"
    assert message in hx.get_data(as_text=True)
    assert _count(app) == 0


def test_counts_are_written_the_readers_way(app, client, login, circle, conversation):
    """A French reader sees "4 000" (a narrow no-break space between thousands), on the
    composer's hint and in the refusal; nothing is stored. An English page first: the hint
    is not fixed in the language of the first reader."""
    nurse = login(app.test_client(), circle.nurse)
    assert "4,000 characters at most" in nurse.get(f"/chat/{conversation}").get_data(
        as_text=True)
    with app.app_context():
        get(circle.patient).language = "fr"
        db.session.commit()
    login(client, circle.patient)
    page = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert "4\u202f000 caractères au maximum" in page
    refused = client.post(f"/chat/{conversation}/messages", headers=HX,
                          data={"body": "x" * 4001, "client_id": client_id()})
    assert refused.status_code == 400
    assert "au plus 4\u202f000 caractères" in refused.get_data(as_text=True)
    assert _count(app) == 0


def test_forged_client_id_and_outsiders_are_refused(app, client, login, circle, conversation):
    cid = client_id()
    with app.app_context():
        services.post_message(
            get(circle.nurse), db.session.get(Conversation, conversation), "x", cid
        )
    login(client, circle.patient)
    response = client.post(
        f"/chat/{conversation}/messages", data={"body": "forged", "client_id": cid}
    )
    assert response.status_code == 409
    other = client.__class__(app, app.response_class, use_cookies=True)
    login(other, circle.stranger)
    for method, url in [
        ("get", f"/chat/{conversation}"),
        ("get", f"/chat/{conversation}/messages"),
        ("post", f"/chat/{conversation}/messages"),
    ]:
        kwargs = {"data": {"body": "hi", "client_id": client_id()}} if method == "post" else {}
        assert getattr(other, method)(url, **kwargs).status_code == 403
    assert other.get("/chat/999999").status_code == 404
    assert other.get("/chat/abc").status_code == 404
    assert _count(app) == 1


def test_older_pages_load_by_keyset(app, client, login, circle, conversation):
    with app.app_context():
        conv = db.session.get(Conversation, conversation)
        ids = [
            services.post_message(get(circle.nurse), conv, f"m{n}", client_id())[0].id
            for n in range(40)
        ]
    login(client, circle.patient)
    page = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert f"before={ids[10]}" in page and ">m9<" not in page and ">m10<" in page
    older = client.get(f"/chat/{conversation}/messages?before={ids[10]}", headers=HX)
    html = older.get_data(as_text=True)
    assert older.status_code == 200 and ">m0<" in html and ">m9<" in html and ">m10<" not in html
    assert "Load older messages" not in html
    # Without JavaScript, the "older" link is a full page.
    full = client.get(f"/chat/{conversation}?before={ids[10]}").get_data(as_text=True)
    assert ">m9<" in full and "Back to the newest messages" in full
    gap = client.get(f"/chat/{conversation}/messages?after={ids[37]}", headers=HX).get_data(
        as_text=True
    )
    assert ">m38<" in gap and ">m39<" in gap and ">m37<" not in gap
    assert client.get(f"/chat/{conversation}/messages?before=abc", headers=HX).status_code == 400


def test_start_a_conversation_from_the_form(app, client, login, circle):
    login(client, circle.nurse)
    form = client.get(f"/chat/new?patient={circle.patient.id}").get_data(as_text=True)
    assert "Claire Martin" in form and "Paul Lefevre" not in form  # the GP has no messages scope
    response = client.post(
        "/chat/new",
        data={"patient": circle.patient.id, "subject": "Bilan", "members": [circle.relative.id]},
    )
    assert response.status_code == 302
    with app.app_context():
        conv = db.session.scalar(select(Conversation))
        assert conv.subject == "Bilan"
        assert {m.user_id for m in conv.members} == {
            circle.nurse.id,
            circle.patient.id,
            circle.relative.id,
        }
    bad = client.post(
        "/chat/new",
        data={"patient": circle.patient.id, "subject": "", "members": [circle.relative.id]},
    )
    assert bad.status_code == 400 and "Give the conversation a subject." in bad.get_data(
        as_text=True
    )
    refused = client.post(
        "/chat/new",
        data={"patient": circle.patient.id, "subject": "x", "members": [circle.stranger.id]},
    )
    assert refused.status_code == 403
    assert "cannot take part" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Conversation.id))) == 1


def test_a_professional_acting_for_a_patient_writes_about_them_by_default(
        app, client, login, circle):
    """The nurse acts for her only patient (the banner says so): New conversation is about
    that patient, her relatives offered, not "between professionals" only."""
    login(client, circle.nurse)
    form = client.get("/chat/new").get_data(as_text=True)
    assert f'name="patient" value="{circle.patient.id}"' in form
    assert "Claire Martin" in form
    chosen = client.get("/chat/new?patient=none").get_data(as_text=True)
    assert 'name="patient" value="none"' in chosen and "Claire Martin" not in chosen


def test_close_and_reopen(app, client, login, circle, conversation):
    login(client, circle.nurse)
    assert client.post(f"/chat/{conversation}/close", data={"closed": "1"}).status_code == 302
    patient = client.__class__(app, app.response_class, use_cookies=True)
    login(patient, circle.patient)
    page = patient.get(f"/chat/{conversation}").get_data(as_text=True)
    assert "closed this conversation to replies" in page and 'id="composer"' not in page
    nurse = circle.nurse.display_name
    assert f"{nurse} closed this conversation" in page
    # The one who closed it reads it as their own act, not their name in the third person.
    mine = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert "You closed this conversation to replies on" in mine and nurse not in mine.split(
        'class="closed-notice"')[1].split("</p>")[0]
    refused = patient.post(
        f"/chat/{conversation}/messages", data={"body": "?", "client_id": client_id()}
    )
    assert refused.status_code == 403 and "closed to replies" in refused.get_data(as_text=True)
    assert patient.post(f"/chat/{conversation}/close", data={"closed": "0"}).status_code == 403
    client.post(f"/chat/{conversation}/close", data={"closed": "0"})
    assert 'id="composer"' in patient.get(f"/chat/{conversation}").get_data(as_text=True)


def test_quick_replies_pages(app, client, login, circle, conversation):
    login(client, circle.nurse)
    assert client.post("/chat/quick-replies", data={"text": "Je passe à 9h"}).status_code == 302
    assert client.post("/chat/quick-replies", data={"text": ""}).status_code == 400
    page = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert 'data-quick-reply="Je passe à 9h"' in page
    patient = client.__class__(app, app.response_class, use_cookies=True)
    login(patient, circle.patient)
    assert patient.get("/chat/quick-replies").status_code == 403


def test_mine_stylesheet_names_the_signed_in_user(client, login, circle):
    login(client, circle.patient)
    css = client.get("/chat/me.css")
    assert css.mimetype == "text/css"
    assert f'.msg[data-author="{circle.patient.id}"]' in css.get_data(as_text=True)
    assert client.get("/chat/unread").get_json() == {"count": 0}


def test_csrf_is_required(app, client, login, circle, conversation, csrf_enabled):
    login_page = client.get("/accounts/sign-in").get_data(as_text=True)
    token = token_in(login_page)
    client.post(
        "/accounts/sign-in",
        data={
            "email": circle.patient.email,
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
    )
    response = client.post(
        f"/chat/{conversation}/messages", data={"body": "x", "client_id": client_id()}
    )
    assert response.status_code == 400
    assert _count(app) == 0


def test_anonymous_is_sent_to_sign_in(client, conversation):
    assert "/accounts/sign-in" in client.get("/chat/").headers["Location"]
    assert client.post(f"/chat/{conversation}/messages", data={"body": "x"}).status_code in (
        302,
        401,
    )


def test_french_speakers_read_the_chat_in_french(
    app, client, login, make_user, circle, conversation
):
    from tests.chat.conftest import give

    francoise = make_user("relative", display_name="Françoise", language="fr")
    with app.app_context():
        give(circle.patient, francoise, "messages")
    login(client, francoise)
    page = client.get("/chat/").get_data(as_text=True)
    assert "Chercher par personne" in page
    with app.app_context():
        from webapp.chat.models import ConversationMember
        from webapp.chat.services import now

        db.session.add(
            ConversationMember(conversation_id=conversation, user_id=francoise.id, joined_at=now())
        )
        db.session.commit()
    refused = client.post(
        f"/chat/{conversation}/messages", data={"body": " ", "client_id": client_id()}
    )
    assert "Écrivez un message avant d’envoyer." in refused.get_data(as_text=True)


def test_the_composer_refuses_blank_text_with_the_servers_words(
    app, client, login, circle, conversation
):
    """The page hands its script the server's refusal, so a message of only spaces gets the
    same clear message before any request (and the same one from the server without JS)."""
    login(client, circle.patient)
    page = client.get(f"/chat/{conversation}").get_data(as_text=True)
    refused = client.post(
        f"/chat/{conversation}/messages",
        headers=HX,
        data={"body": "   \n\t ", "client_id": client_id()},
    )
    assert refused.status_code == 400
    assert "Write a message before sending." in refused.get_data(as_text=True)
    assert 'data-str-empty="Write a message before sending."' in page
    assert _count(app) == 0


def test_the_page_names_the_zone_its_times_are_shown_in(app, client, login, circle, conversation):
    """The script re-renders message times: in the reader's zone, like the server (and the
    agenda), not in the phone's."""
    from webapp.accounts.models import User

    _post(app, circle.nurse, conversation, "Bonjour")
    login(client, circle.patient)
    for zone in (None, "America/Montreal"):
        if zone:
            with app.app_context():
                db.session.get(User, circle.patient.id).timezone = zone
                db.session.commit()
        for headers in ({}, HX):
            html = client.get(f"/chat/{conversation}", headers=headers).get_data(as_text=True)
            assert f'data-time-zone="{zone or app.config["DEFAULT_TIMEZONE"]}"' in html


def test_long_quick_replies_are_shortened_at_a_word(app, client, login, circle, conversation):
    text = "Merci pour votre message, je reviens vers vous dans la journée sans faute."
    login(client, circle.nurse)
    client.post("/chat/quick-replies", data={"text": text})
    for headers in ({}, HX):
        html = client.get(f"/chat/{conversation}", headers=headers).get_data(as_text=True)
        chip = re.search(r'data-quick-reply="([^"]+)">([^<]+)</button>', html)
        assert chip and chip.group(1) == text
        assert chip.group(2) == "Merci pour votre message, je reviens…"
        # Outside the form that stays on screen: a long list must not cover the messages.
        assert html.index('class="quick-replies"') < html.index('id="composer"')
