"""French and English: the browser's language first, then the visitor's or the user's choice."""

from __future__ import annotations

import re

import pytest

MARKED = re.compile(r"""\b_\(\s*"([^"]+)"|\b_\(\s*'([^']+)'""")


def _lang(html: str) -> str:
    return re.search(r'<html lang="([a-z]+)"', html).group(1)


def test_sign_in_page_follows_the_browser_language(client):
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(
        as_text=True)
    assert _lang(html) == "fr"
    assert "Aller au contenu" in html
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "en-GB"}).get_data(
        as_text=True)
    assert _lang(html) == "en"
    assert "Skip to content" in html


def test_visitor_switches_language_and_keeps_it(client):
    page = client.get("/accounts/sign-in", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="language-switcher"' in page
    assert 'value="fr"' in page and 'value="en"' not in page  # offers the other language
    response = client.post("/language", data={"language": "fr", "next": "/accounts/sign-in"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/sign-in"
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(html) == "fr"
    assert 'value="en"' in html and "English" in html


@pytest.mark.parametrize("language", ["de", "", "fr-FR", "<script>"])
def test_unknown_language_is_refused_with_a_message(client, language):
    response = client.post("/language", data={"language": language},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "This language is not available." in response.get_data(as_text=True)
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(html) == "en"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/language", data={"language": "fr", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_signed_in_user_choice_is_saved_on_the_account(app, client, make_user, login):
    user = make_user("patient", language="en")
    login(client, user)
    response = client.post("/language", data={"language": "fr", "next": "/home"})
    assert response.status_code == 302
    from webapp.accounts.models import User
    from webapp.extensions import db

    with app.app_context():
        assert db.session.get(User, user.id).language == "fr"
    html = client.get("/home", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(html) == "fr"
    assert "Bonjour" in html


def test_every_core_string_has_a_french_translation():
    from babel.messages.pofile import read_po

    from webapp.i18n import HERE

    with open(HERE / "translations" / "core" / "fr" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not m.string]
    assert not missing
    assert catalog.charset.lower() == "utf-8"
    # Every string the shell's own templates and modules mark for translation is in the catalog.
    root = HERE.parent
    components = ["_tabbar", "_banners", "_flashes", "_emergency_notice", "_language_switcher"]
    sources = [*root.joinpath("templates", "core").glob("*.html"),
               *(root / "templates" / "components" / f"{name}.html" for name in components),
               root / "templates" / "base.html",
               *root.joinpath("webapp", "core").glob("*.py")]
    marked = set()
    for path in sources:
        for double, single in MARKED.findall(path.read_text(encoding="utf-8")):
            marked.add(double or single)
    assert len(marked) > 20
    # Another domain may add a string to a shell page with its translation in its own catalog:
    # the catalogs are merged at run time, so any of them counts.
    translated = set()
    for po in (HERE / "translations").glob("*/fr/LC_MESSAGES/messages.po"):
        with open(po, "rb") as fh:
            translated |= {m.id for m in read_po(fh) if m.id and m.string}
    assert marked - translated == set()


@pytest.mark.parametrize("domain", ["accounts", "agenda", "chat", "circle", "push"])
def test_every_domain_string_has_a_french_translation(domain):
    """What a domain's templates and modules mark for translation is translated in one of the
    merged catalogs, and its own catalog has no empty entry. A literal split over lines is
    found by its first part."""
    from babel.messages.pofile import read_po

    from webapp.i18n import HERE

    translated = set()
    for po in (HERE / "translations").glob("*/fr/LC_MESSAGES/messages.po"):
        with open(po, "rb") as fh:
            catalog = read_po(fh)
        translated |= {m.id for m in catalog if isinstance(m.id, str) and m.string}
        if po.parts[-4] == domain:
            assert not [m.id for m in catalog if m.id and not m.string]
    root = HERE.parent
    sources = [*root.joinpath("templates", domain).glob("*.html"),
               *root.joinpath("webapp", domain).rglob("*.py")]
    marked = {double or single for path in sources
              for double, single in MARKED.findall(path.read_text(encoding="utf-8"))}
    assert len(marked) > 20
    missing = {text for text in marked if text not in translated
               and not (text.endswith(" ") and any(t.startswith(text) for t in translated))}
    assert missing == set()


def _french_texts():
    """(domain, text) for every French translation of every catalogue (not the header)."""
    from babel.messages.pofile import read_po

    from webapp.i18n import HERE

    for po in sorted((HERE / "translations").glob("*/fr/LC_MESSAGES/messages.po")):
        with open(po, "rb") as fh:
            for message in read_po(fh):
                if not message.id:  # the header (its plural formula is code)
                    continue
                forms = message.string if isinstance(message.string, tuple) else (message.string,)
                yield from ((po.parts[-4], text) for text in forms if text)


def test_french_punctuation_keeps_its_narrow_space():
    """French puts a (narrow, no-break) space before ; : ! ? and inside « »: a plain space
    there lets a phone's narrow screen break the line before the colon or the question mark."""
    wrong = [(domain, text) for domain, text in _french_texts()
             if re.search(r" [;:!?]|« | »", text)]
    assert wrong == []


def test_french_apostrophes_are_typographic():
    """One apostrophe across the app, ’: a straight ' beside it ("Pour vous aujourd'hui"
    above "Les personnes que j’aide") looks like a typo."""
    straight = [(domain, text) for domain, text in _french_texts() if "'" in text]
    assert straight == []
