"""The Activity page: whole sentences in both languages, the app's times, repeated reads folded."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.circle.conftest import count, get, record_at
from webapp import audit
from webapp.circle import services
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _text(html: str) -> str:
    """The page as read: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" )", ")")


def _speak(app, user, language: str) -> None:
    with app.app_context():
        get(user).language = language
        db.session.commit()


@pytest.fixture
def managed(app, granted):
    """Jeanne changes and revokes Claire's access, blocks Paul, invites Luc, saves an
    appointment; Claire looks at the agenda."""
    with app.app_context():
        jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
        for grant_id in (granted.claire_grant, granted.nadia_grant):
            audit.record(jeanne, jeanne, "grant", "grant", grant_id)
        services.change_grant(jeanne, granted.claire_grant, "messages", None)
        services.revoke_grant(jeanne, granted.claire_grant)
        services.block(jeanne, granted.paul.id)
        services.create_invitation(jeanne, "Luc", "messages", None)
        audit.record(jeanne, jeanne, "write", "appointment", 12)
        audit.record(claire, jeanne, "read", "agenda", on_behalf_of=jeanne)
        audit.record(nadia, jeanne, "read", "summary", jeanne.id)
        db.session.commit()
    return granted


def test_my_actions_are_whole_sentences_naming_the_person_in_english(client, login, managed):
    login(client, managed.jeanne)
    for headers in ({}, HX):  # the full page and its fragment say the same
        html = client.get("/circle/activity?tab=mine", headers=headers).get_data(as_text=True)
        assert ("<html" in html) is not bool(headers)
        text = _text(html)
        for sentence in ("You gave access to Claire Martin", "You gave access to Nadia Benali",
                         "You changed Claire Martin’s access", "You revoked Claire Martin’s access",
                         "You blocked Paul Lefevre", "You invited Luc", "You saved an appointment"):
            assert sentence in text, sentence
    others = _text(client.get("/circle/activity", headers=HX).get_data(as_text=True))
    assert "Claire Martin (relative) viewed the agenda" in others
    assert "Nadia Benali (professional) viewed the health summary" in others


def test_my_actions_read_as_french_sentences(app, client, login, managed):
    _speak(app, managed.jeanne, "fr")
    login(client, managed.jeanne)
    for headers in ({}, HX):
        text = _text(client.get("/circle/activity?tab=mine", headers=headers)
                     .get_data(as_text=True))
        for sentence in ("Vous avez donné accès à Claire Martin",
                         "Vous avez modifié l’accès de Claire Martin",
                         "Vous avez retiré l’accès de Claire Martin",
                         "Vous avez bloqué Paul Lefevre", "Vous avez invité Luc",
                         "Vous avez enregistré un rendez-vous"):
            assert sentence in text, sentence
        assert "Vous a " not in text
    others = _text(client.get("/circle/activity").get_data(as_text=True))
    assert "Claire Martin (proche) a consulté l’agenda" in others
    assert "Nadia Benali (professionnel·le) a consulté la synthèse médicale" in others


def test_a_person_no_longer_known_is_still_a_sentence(app, client, login, granted):
    with app.app_context():
        jeanne = get(granted.jeanne)
        audit.record(jeanne, jeanne, "revoke", "grant", 987654)  # no such grant any more
        audit.record(jeanne, jeanne, "unblock", "block", 987654)
        db.session.commit()
    _speak(app, granted.jeanne, "fr")
    login(client, granted.jeanne)
    text = _text(client.get("/circle/activity?tab=mine").get_data(as_text=True))
    assert "Vous avez retiré l’accès de quelqu’un" in text
    assert "Vous avez débloqué un professionnel" in text


def test_names_in_sentences_are_escaped(app, client, login, granted, make_user):
    with app.app_context():
        mallory = make_user("relative", display_name="<b>Mallory</b>", language="en")
        row = services.grant(get(granted.jeanne), get(mallory), "agenda", None)
        audit.record(get(granted.jeanne), get(granted.jeanne), "grant", "grant", row.id)
        audit.record(get(mallory), get(granted.jeanne), "read", "agenda")
        db.session.commit()
    login(client, granted.jeanne)
    html = client.get("/circle/activity").get_data(as_text=True)
    assert "<b>Mallory</b>" not in html and "&lt;b&gt;Mallory&lt;/b&gt;" in html
    mine = client.get("/circle/activity?tab=mine").get_data(as_text=True)
    assert "You gave access to &lt;b&gt;Mallory&lt;/b&gt;" in mine


@pytest.mark.parametrize("language, you, them", [("en", "You ", "%(who)s "),
                                                  ("fr", "Vous avez ", "%(who)s a ")])
def test_every_action_has_a_sentence_for_you_and_for_someone_else(app, language, you, them):
    from flask_babel import force_locale

    from webapp.circle import activity_text

    with app.test_request_context(), force_locale(language):
        table = {**activity_text.sentences(),
                 **{str(key): value for key, value in activity_text._special_cases().items()}}
        for action, (mine, theirs) in table.items():
            assert mine.startswith(you), (action, mine)
            assert theirs.startswith(them), (action, theirs)


@pytest.mark.parametrize("language, shown", [("en", "Mon 5 Jan 2026, 07:24"),
                                             ("fr", "lun. 5 janv. 2026, 07:24")])
def test_times_are_24_hour_in_the_users_zone(app, client, login, granted, language, shown):
    with app.app_context():
        record_at(datetime(2026, 1, 5, 6, 24, 43),  # UTC; 07:24 in Paris
                  get(granted.claire), get(granted.jeanne), "read", "agenda")
        db.session.commit()
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    for headers in ({}, HX):
        html = client.get("/circle/activity", headers=headers).get_data(as_text=True)
        assert f">{shown}</time>" in html
        assert not re.search(r"\d:\d\d(:\d\d)?\s?[AP]M", html) and "07:24:43" not in html


def test_a_history_line_goes_with_its_transaction(app, granted):
    """Written at once with a plain INSERT, the line still belongs to the action's transaction:
    a rolled-back action leaves no history, a committed one always does."""
    with app.app_context():
        jeanne, claire = get(granted.jeanne), get(granted.claire)
        before = count(audit.AccessEvent)
        row = audit.record(claire, jeanne, "write", "appointment", 5)
        assert row.id is not None and row.created_at is not None
        db.session.rollback()
        assert count(audit.AccessEvent) == before
        assert row not in db.session  # it stands for no row any more
        audit.record(get(granted.claire), get(granted.jeanne), "write", "appointment", 5)
        db.session.commit()
        assert count(audit.AccessEvent) == before + 1


# ---- Repeated reads: one line with a count; every row kept ------------------------------

def _reads(actor, patient, start: datetime, times: int, step=timedelta(seconds=30),
           object_type="agenda", object_id=None):
    rows = []
    for i in range(times):
        rows.append(record_at(start + i * step, actor, patient, "read", object_type, object_id))
    return rows


def test_the_same_read_repeated_within_minutes_is_one_line(app, granted):
    with app.app_context():
        jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
        start = services.now() - timedelta(hours=2)
        _reads(claire, jeanne, start, 5)                          # 5 in 2 minutes: one line
        _reads(nadia, jeanne, start + timedelta(minutes=3), 2)    # someone else: their own line
        _reads(claire, jeanne, start + timedelta(minutes=4), 3)   # Claire again: a new run
        record_at(start + timedelta(minutes=5, seconds=20), claire, jeanne, "write",
                  "appointment", 3)
        record_at(start + timedelta(minutes=5, seconds=40), claire, jeanne, "write",
                  "appointment", 3)                               # writes are never folded
        _reads(claire, jeanne, start + timedelta(minutes=6), 2, object_type="appointment",
               object_id=3)
        _reads(claire, jeanne, start + timedelta(minutes=7), 2, object_type="appointment",
               object_id=4)                                       # another target
        _reads(claire, jeanne, start + timedelta(minutes=30), 3, step=timedelta(minutes=6))
        db.session.commit()

        lines, older = audit.entries(jeanne.id, mine=False)
        assert older is None
        described = [(e.row.actor_id, e.row.action, e.row.object_type, e.row.object_id, e.count)
                     for e in lines]
        assert described == [
            (claire.id, "read", "agenda", None, 2),
            (claire.id, "read", "agenda", None, 1),  # 12 min before the run's newest: a new line
            (claire.id, "read", "appointment", "4", 2),
            (claire.id, "read", "appointment", "3", 2),
            (claire.id, "write", "appointment", "3", 1),
            (claire.id, "write", "appointment", "3", 1),
            (claire.id, "read", "agenda", None, 3),
            (nadia.id, "read", "agenda", None, 2),
            (claire.id, "read", "agenda", None, 5),
        ]
        assert lines[-1].oldest.at == start and lines[-1].row.at == start + 4 * timedelta(
            seconds=30)
        assert sum(e.count for e in lines) == count(audit.AccessEvent) == 19  # nothing dropped


def test_a_run_longer_than_a_batch_and_a_page_is_never_split(app, granted):
    with app.app_context():
        jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
        start = services.now() - timedelta(days=1)
        for i in range(4):  # older, distinct reads
            _reads(nadia, jeanne, start + timedelta(hours=i), 1, object_type="document",
                   object_id=i)
        _reads(claire, jeanne, start + timedelta(hours=5), 150, step=timedelta(seconds=2))
        for i in range(2):  # newer, distinct reads
            _reads(nadia, jeanne, start + timedelta(hours=6 + i), 1, object_type="message",
                   object_id=i)
        db.session.commit()

        first, older = audit.entries(jeanne.id, mine=False, limit=3)
        assert [e.count for e in first] == [1, 1, 150]
        assert older == (first[-1].oldest.at, first[-1].oldest.id)
        second, last = audit.entries(jeanne.id, mine=False, before=older, limit=3)
        assert [e.count for e in second] == [1, 1, 1] and last is not None
        third, end = audit.entries(jeanne.id, mine=False, before=last, limit=3)
        assert [e.count for e in third] == [1] and end is None


def test_the_page_shows_a_run_as_one_line_with_its_count(app, client, login, granted):
    with app.app_context():
        start = services.now() - timedelta(hours=1)
        _reads(get(granted.claire), get(granted.jeanne), start, 5)
        db.session.commit()
        first = db.session.scalars(db.select(audit.AccessEvent.at).order_by(
            audit.AccessEvent.at)).first()
    login(client, granted.jeanne)
    for headers in ({}, HX):
        html = client.get("/circle/activity", headers=headers).get_data(as_text=True)
        assert html.count("data-kind=") == 1 and 'data-count="5"' in html
        assert re.search(r"Claire Martin \(relative\) viewed the agenda "
                         r"\(5 times since \d\d:\d\d\)", _text(html))
    _speak(app, granted.jeanne, "fr")
    text = _text(client.get("/circle/activity").get_data(as_text=True))
    assert "a consulté l’agenda (5 fois depuis" in text
    with app.test_request_context():
        from flask_babel import format_time
        assert format_time(first, "HH:mm") in text


# ---- "for ‹name›" only when it tells the reader something; sentences that read right ------

@pytest.mark.parametrize("language, viewed, wrote, for_word", [
    ("en", "Claire Martin (relative) viewed the agenda", "Claire Martin (relative) wrote a message",
     "for "),
    ("fr", "Claire Martin (proche) a consulté l’agenda",
     "Claire Martin (proche) a écrit un message", "pour ")])
def test_acting_for_the_patient_is_not_said_on_her_own_page(app, client, login, granted,
                                                              language, viewed, wrote, for_word):
    with app.app_context():
        jeanne, claire = get(granted.jeanne), get(granted.claire)
        audit.record(claire, jeanne, "read", "agenda", on_behalf_of=jeanne)
        audit.record(claire, jeanne, "write", "message", 7, on_behalf_of=jeanne)
        db.session.commit()
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    for headers in ({}, HX):
        text = _text(client.get("/circle/activity", headers=headers).get_data(as_text=True))
        assert f"{viewed} Agenda" in text  # the sentence ends there, then the kind's chip
        assert f"{wrote} Messages" in text
        assert f"{for_word}Jeanne Martin" not in text


@pytest.mark.parametrize("language, said", [("en", "wrote a message for Olga Petit"),
                                            ("fr", "a écrit un message pour Olga Petit")])
def test_acting_for_someone_else_than_the_reader_is_said(app, client, login, granted,
                                                         language, said):
    with app.app_context():
        audit.record(get(granted.claire), get(granted.jeanne), "write", "message", 8,
                     on_behalf_of=get(granted.olga))
        db.session.commit()
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    assert said in _text(client.get("/circle/activity").get_data(as_text=True))


def test_a_reader_other_than_the_patient_is_told_for_whom(app, granted):
    from flask_babel import force_locale

    from webapp.circle import activity_text

    with app.app_context():
        jeanne, claire = get(granted.jeanne), get(granted.claire)
        audit.record(claire, jeanne, "write", "message", 9, on_behalf_of=jeanne)
        db.session.commit()
        entries, _older = audit.entries(jeanne.id, mine=False)
        with app.test_request_context():
            for language, said in (("en", "for Jeanne Martin"), ("fr", "pour Jeanne Martin")):
                with force_locale(language):
                    (_entry, own), = activity_text.lines(jeanne.id, entries)
                    (_entry, other), = activity_text.lines(jeanne.id, entries,
                                                           reader_id=claire.id)
                assert said not in own and said in other


@pytest.mark.parametrize("language, opened, viewed, doubled", [
    ("en", "Paul Lefevre (professional) opened your health summary with emergency access",
     "Paul Lefevre (professional) viewed the health summary", "(emergency access)"),
    ("fr", "Paul Lefevre (professionnel·le) a ouvert votre synthèse médicale avec l’accès "
     "d’urgence", "Paul Lefevre (professionnel·le) a consulté la synthèse médicale",
     "(accès d’urgence)")])
def test_emergency_access_is_not_said_twice_in_a_line(app, client, login, granted, language,
                                                      opened, viewed, doubled):
    with app.app_context():
        jeanne, paul = get(granted.jeanne), get(granted.paul)
        audit.record(paul, jeanne, "open", "emergency", 1, emergency=True)
        audit.record(paul, jeanne, "read", "summary", jeanne.id, emergency=True)
        db.session.commit()
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    for headers in ({}, HX):
        html = client.get("/circle/activity", headers=headers).get_data(as_text=True)
        text = _text(html)
        assert opened in text and viewed in text and doubled not in text
        assert html.count("activity--emergency") == 2  # the chip still marks both lines


@pytest.mark.parametrize("language, started, closed", [
    ("en", "Nadia Benali (professional) started a conversation",
     "Nadia Benali (professional) closed or reopened a conversation"),
    ("fr", "Nadia Benali (professionnel·le) a commencé une conversation",
     "Nadia Benali (professionnel·le) a fermé ou rouvert une conversation")])
def test_older_rows_tell_a_conversation_s_start_from_its_closing(app, client, login, granted,
                                                                 language, started, closed):
    """Before the chat recorded "start", "close" and "reopen", all three were a "write"."""
    with app.app_context():
        jeanne, nadia = get(granted.jeanne), get(granted.nadia)
        audit.record(nadia, jeanne, "write", "conversation", 5)  # the chat's start...
        audit.record(nadia, jeanne, "write", "conversation", 5)  # ...and closing, the same row
        audit.record(nadia, jeanne, "write", "conversation", 6)  # another one, started
        db.session.commit()
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    text = _text(client.get("/circle/activity").get_data(as_text=True))
    assert text.count(started) == 2 and text.count(closed) == 1
    assert "saved a conversation" not in text and "enregistré une conversation" not in text
    assert text.index(started) < text.index(closed)  # newest first: 6 started, 5 closed, ...


@pytest.mark.parametrize("language, lines", [
    ("en", ["Nadia Benali (professional) reopened a conversation to replies",
            "Nadia Benali (professional) closed a conversation to replies",
            "Nadia Benali (professional) started a conversation"]),
    ("fr", ["Nadia Benali (professionnel·le) a rouvert une conversation aux réponses",
            "Nadia Benali (professionnel·le) a fermé une conversation aux réponses",
            "Nadia Benali (professionnel·le) a commencé une conversation"])])
def test_the_chat_s_start_close_and_reopen_read_as_such(app, client, login, granted,
                                                        language, lines):
    from webapp.chat import services as chat

    with app.app_context():
        nadia = get(granted.nadia)
        conversation = chat.start_conversation(nadia, patient=get(granted.jeanne),
                                               member_ids=[], subject="Pansement")
        chat.set_closed(nadia, conversation, True)
        chat.set_closed(nadia, conversation, False)
    _speak(app, granted.jeanne, language)
    login(client, granted.jeanne)
    text = _text(client.get("/circle/activity").get_data(as_text=True))
    positions = [text.index(line) for line in lines]  # newest first
    assert positions == sorted(positions)
