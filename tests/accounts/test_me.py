"""The "Me" page settings: fragment and full page, validation, and what changes the whole page."""

from __future__ import annotations

import re

from webapp.accounts.models import User
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _settings(**overrides):
    data = {"display_name": "Jeanne M.", "language": "en", "timezone": "Europe/Paris",
            "theme": "auto"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _user(app, user_id):
    with app.app_context():
        u = db.session.get(User, user_id)
        return {"display_name": u.display_name, "language": u.language, "timezone": u.timezone,
                "theme": u.theme, "large_text": u.large_text}


def test_me_page_shows_every_section(client, make_user, login):
    login(client, make_user("patient", display_name="Jeanne", language="en"))
    page = client.get("/accounts/me").get_data(as_text=True)
    for marker in ('id="settings"', 'id="passkeys"', 'id="password-settings"',
                   'id="sign-out"', 'id="sign-out-everywhere"', 'data-passkey="register"'):
        assert marker in page, marker
    assert "Invitation codes" not in page


def test_name_change_returns_the_fragment_under_htmx(app, client, make_user, login):
    user = make_user("patient", language="en")
    login(client, user)
    response = client.post("/accounts/me/settings", data=_settings(display_name=" New name "),
                           headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="settings"')
    assert "Your settings are saved." in body and 'value="New name"' in body
    assert _user(app, user.id)["display_name"] == "New name"
    # Said once, in the form: not again at the top of whatever page comes next.
    assert "Your settings are saved." not in client.get("/home").get_data(as_text=True)


def test_without_javascript_the_form_redirects_to_the_page(app, client, make_user, login):
    user = make_user("patient", language="en")
    login(client, user)
    response = client.post("/accounts/me/settings",
                           data=_settings(timezone="America/Guadeloupe", large_text="on"))
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/me"
    page = client.get("/accounts/me").get_data(as_text=True)
    assert 'class="large-text"' in page and "Your settings are saved." in page
    assert _user(app, user.id)["timezone"] == "America/Guadeloupe"


def test_theme_language_and_large_text_reload_the_whole_page(app, client, make_user, login):
    user = make_user("patient", language="en")
    login(client, user)
    response = client.post("/accounts/me/settings",
                           data=_settings(theme="dark", language="fr", large_text="on"),
                           headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/accounts/me"
    page = client.get("/accounts/me").get_data(as_text=True)
    assert 'data-theme="dark"' in page and 'lang="fr"' in page and 'class="large-text"' in page
    assert _user(app, user.id) == {"display_name": "Jeanne M.", "language": "fr",
                                   "timezone": "Europe/Paris", "theme": "dark",
                                   "large_text": True}


def test_bad_settings_are_refused_with_a_message_and_change_nothing(app, client, make_user,
                                                                   login):
    user = make_user("patient", language="en")
    login(client, user)
    before = _user(app, user.id)
    cases = [
        (_settings(timezone="Mars/Olympus_Mons"), "Please choose a time zone from the list."),
        (_settings(timezone="../../etc/passwd"), "Please choose a time zone from the list."),
        (_settings(display_name=""), "Please enter a name"),
        (_settings(display_name="x" * 121), "Please enter a name"),
        (_settings(language="de"), "Please choose a language from the list."),
        (_settings(theme="neon"), "Please choose a theme from the list."),
        (_settings(timezone=None), "Please choose a time zone from the list."),
    ]
    for data, message in cases:
        for headers in (HX, {}):
            response = client.post("/accounts/me/settings", data=data, headers=headers)
            assert response.status_code == 400, (data, response.status_code)
            assert message in response.get_data(as_text=True), data
    assert _user(app, user.id) == before


def test_the_me_tab_needs_sign_in(client):
    response = client.get("/accounts/me")
    assert response.status_code == 302 and "/accounts/sign-in" in response.headers["Location"]


def test_french_translation_of_the_sign_in_page(client):
    page = client.get("/accounts/sign-in", headers={"Accept-Language": "fr"}).get_data(
        as_text=True)
    assert "Se connecter avec une clé d’accès" in page
    assert "Mot de passe" in page


def _zone_options(page: str) -> list[tuple[str, str]]:
    import re

    select = re.search(r'<select id="timezone".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select)


def test_time_zones_are_named_in_french_and_sorted_by_that_name(client, make_user, login):
    login(client, make_user("patient", language="fr", timezone="America/Guadeloupe"))
    page = client.get("/accounts/me").get_data(as_text=True)
    options = dict(_zone_options(page))
    assert options["Europe/Paris"] == "France (Paris)"
    assert options["America/Guadeloupe"] == "Guadeloupe"
    assert options["Europe/London"] == "Royaume-Uni (Londres)"
    assert options["Europe/Berlin"] == "Allemagne (Berlin)"
    assert options["Indian/Reunion"] == "La Réunion"
    # The same list as before (the stored ids), ordered by what the reader sees.
    names = [name for _zone, name in _zone_options(page)]
    assert names.index("Allemagne (Berlin)") < names.index("Belgique (Bruxelles)") \
        < names.index("Espagne (Madrid)") < names.index("France (Paris)")
    assert '<option value="America/Guadeloupe" selected>Guadeloupe</option>' in page


def test_time_zones_are_named_in_english(client, make_user, login):
    login(client, make_user("patient", language="en"))
    options = dict(_zone_options(client.get("/accounts/me").get_data(as_text=True)))
    assert options["Europe/Paris"] == "France (Paris)"
    assert options["Europe/London"] == "United Kingdom (London)"
    assert options["Europe/Berlin"] == "Germany (Berlin)"
    assert options["UTC"] == "UTC"


def test_an_uncommon_zone_of_the_person_is_listed_by_name(client, make_user, login):
    login(client, make_user("patient", language="fr", timezone="Asia/Kolkata"))
    options = _zone_options(client.get("/accounts/me").get_data(as_text=True))
    assert ("Asia/Kolkata", "Inde (Calcutta)") in options


def test_saving_a_named_zone_stores_its_id(app, client, make_user, login):
    user = make_user("patient", language="fr")
    login(client, user)
    response = client.post("/accounts/me/settings", headers=HX,
                           data=_settings(language="fr", timezone="Europe/London"))
    assert response.status_code == 200
    assert '<option value="Europe/London" selected>Royaume-Uni (Londres)</option>' in \
        response.get_data(as_text=True)
    assert _user(app, user.id)["timezone"] == "Europe/London"
    # A displayed name is not an id: refused, nothing changes.
    refused = client.post("/accounts/me/settings", headers=HX,
                          data=_settings(language="fr", timezone="Royaume-Uni (Londres)"))
    assert refused.status_code == 400
    assert _user(app, user.id)["timezone"] == "Europe/London"


def test_zone_names_are_computed_once_per_language():
    from webapp.accounts import zones

    zones._choices.cache_clear()
    first = zones.zone_choices("fr")
    assert zones.zone_choices("fr") is first
    assert zones.zone_choices("en") is not first
    assert zones._choices.cache_info().hits == 1


def _tag(body: str, element_id: str) -> str:
    return re.search(rf'<(?:input|select) id="{element_id}"[^>]*>', body).group(0)


def test_a_refused_form_puts_the_focus_on_the_field_to_correct(client, make_user, login):
    # Each form is replaced by its answer: without this the focus fell back to the page's top.
    login(client, make_user("patient", language="en"))
    body = client.post("/accounts/me/settings", data=_settings(display_name=""),
                       headers=HX).get_data(as_text=True)
    assert "autofocus" in _tag(body, "display_name") and "autofocus" not in _tag(body, "timezone")
    body = client.post("/accounts/me/password", data={"password": "short"},
                       headers=HX).get_data(as_text=True)
    field = _tag(body, "new-password")
    assert 'aria-invalid="true"' in field and "autofocus" in field
    # Nothing is focused on a form shown without an error.
    assert "autofocus" not in client.get("/accounts/me").get_data(as_text=True)
