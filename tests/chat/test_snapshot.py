"""A socket event loads its conversation as a snapshot (webapp/chat/services/snapshot.py): the
same answers as the mapped conversation, one statement with the sender's account, and the
writes of the event kept in it."""

from __future__ import annotations

import pytest

from tests.chat.conftest import client_id, get, say
from tests.statements import reading, recorded_statements
from webapp import policy
from webapp.audit import AccessEvent
from webapp.chat import services
from webapp.chat.models import Conversation
from webapp.chat.services import snapshot
from webapp.circle import services as circle_services
from webapp.errors import Forbidden, NotFound, UserError
from webapp.extensions import db

NS = "/chat"


def test_the_snapshot_answers_what_the_mapped_conversation_answers(app, circle, conversation):
    with app.app_context():
        mapped = db.session.get(Conversation, conversation)
        loaded, sender = snapshot.load(conversation, circle.relative.id)
        assert sender.id == circle.relative.id
        assert loaded.patient is get(circle.patient)
        assert (loaded.id, loaded.kind, loaded.patient_id, loaded.closed_at,
                loaded.last_message_id, loaded.is_closed, loaded.is_group) == (
            mapped.id, mapped.kind, mapped.patient_id, mapped.closed_at,
            mapped.last_message_id, mapped.is_closed, mapped.is_group)
        assert [(m.id, m.user_id, m.joined_at, m.last_read_id, m.last_delivered_id)
                for m in loaded.members] == [
            (m.id, m.user_id, m.joined_at, m.last_read_id, m.last_delivered_id)
            for m in mapped.members]
        assert [m.user.display_name for m in loaded.members] == [
            m.user.display_name for m in mapped.members]
        for person in vars(circle).values():
            who = get(person)
            assert loaded.has_member(who) == mapped.has_member(who)
            for action in ("conversation.read", "conversation.write", "conversation.close"):
                assert policy.can(who, action, loaded) == policy.can(who, action, mapped), (
                    person, action)


def test_an_event_loads_the_conversation_and_its_sender_in_one_statement(
    app, connect, circle, conversation
):
    """The relative types: one statement for the conversation, its members, its patient, her
    own account (the user loader finds it loaded) and her grant (policy finds its scopes).
    Nothing else."""
    claire = connect(circle.relative)
    with app.app_context(), recorded_statements() as statements:
        ack = claire.emit("typing", {"conversation_id": conversation}, namespace=NS,
                          callback=True)
    assert ack == {"ok": True}
    assert len(statements) == 1, statements
    assert len(reading(statements, "conversation_members")) == 1
    assert len(reading(statements, "circle_grants")) == 1


def test_what_an_event_writes_is_kept_in_its_snapshot(app, connect, circle, conversation):
    """Sending moves the conversation's last message and the author's own marks: the snapshot
    says so at once, as the stored rows do (the mark that follows knows where it stands)."""
    nadia = connect(circle.nurse)
    connect(circle.relative)  # live: no push to send
    first = say(nadia, conversation, "Bonjour")
    with app.app_context():
        loaded, _held = snapshot.load(conversation, circle.relative.id)
        claire_user = get(circle.relative)
        message, created = services.post_message(claire_user, loaded, "Merci", client_id())
        assert created and message.id > first
        assert loaded.last_message_id == message.id
        mine = loaded.member(claire_user)
        assert (mine.last_read_id, mine.last_delivered_id) == (message.id, message.id)
        assert services.mark(claire_user, loaded, first, "read") is None  # already past it
    with app.app_context():
        stored = db.session.get(Conversation, conversation)
        assert stored.last_message_id == message.id
        assert stored.member(get(circle.relative)).last_read_id == message.id


def test_event_conversation_refuses_like_get_conversation(app, circle, conversation):
    with app.app_context():
        nadia, olga = get(circle.nurse), get(circle.stranger)
        loaded, _held = services.load_for_event(conversation, nadia.id)
        assert services.event_conversation(nadia, conversation, loaded).id == conversation
        # Not loaded ahead: asked now for the signed-in user.
        assert services.event_conversation(nadia, conversation, None).id == conversation
        with pytest.raises(Forbidden):
            services.event_conversation(olga, conversation, None)
        with pytest.raises(NotFound):
            services.event_conversation(nadia, 999_999, None)
        with pytest.raises(UserError):
            services.event_conversation(nadia, "not a number", None)
        assert services.load_for_event("not a number", nadia.id) == (None, None)
        assert services.load_for_event(conversation, None) == (None, None)


def test_a_revoked_grant_is_seen_by_the_next_event(app, connect, circle, conversation):
    claire = connect(circle.relative)
    assert claire.emit("typing", {"conversation_id": conversation}, namespace=NS,
                       callback=True)["ok"]
    with app.app_context():
        grant = circle_services.active_grant(circle.patient.id, circle.relative.id)
        circle_services.revoke_grant(get(circle.patient), grant.id)
        db.session.commit()
    ack = claire.emit("typing", {"conversation_id": conversation}, namespace=NS, callback=True)
    assert ack["ok"] is False


def test_the_scopes_an_event_reads_are_those_policy_would_ask(app, circle, conversation):
    """The grant read with the conversation answers what active_scopes() answers, for a grant
    in force, one that ended, a professional blocked while the grant stands, and no grant:
    policy then asks the database nothing more."""
    from datetime import timedelta

    from webapp.circle.models import Block, Grant

    with app.app_context():
        ended = db.session.scalar(db.select(Grant).where(Grant.grantee_id == circle.doctor.id))
        ended.ends_at = circle_services.now() - timedelta(minutes=1)
        db.session.add(Block(patient_id=circle.patient.id, professional_id=circle.nurse.id))
        db.session.commit()
        for person in vars(circle).values():
            expected = circle_services.active_scopes(circle.patient.id, person.id)
            db.session.rollback()  # the transaction's answers forgotten
            snapshot.load(conversation, person.id)
            with recorded_statements() as statements:
                found = circle_services.active_scopes(circle.patient.id, person.id)
            assert (found, statements) == (expected, []), person.display_name
            db.session.rollback()
        assert [circle_services.active_scopes(circle.patient.id, p.id) for p in (
            circle.relative, circle.nurse, circle.doctor, circle.stranger)] == [
            frozenset({"messages", "agenda"}), None, None, None]


def test_a_send_writes_in_as_few_statements_as_the_database_allows(
    app, connect, circle, conversation
):
    """The nurse sends: one statement reads the conversation; on PostgreSQL one more stores
    the message, the conversation's last message, her own marks and the line of Jeanne's
    access history (every round trip to the server is a wait), where SQLite runs four.
    (Jeanne has no live socket: what her push needs is read after the commit.)"""
    nadia = connect(circle.nurse)
    connect(circle.relative)  # live: no push to send
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        with recorded_statements() as statements:
            sent = say(nadia, conversation, "Bonjour")
        stored = db.session.get(Conversation, conversation)
        assert stored.last_message_id == sent
        assert (stored.member(get(circle.nurse)).last_read_id,
                stored.member(get(circle.nurse)).last_delivered_id) == (sent, sent)
    opening = [" ".join(s.split()[:3]) for s in statements]
    writes = (["WITH new_message AS"] if postgres else
              ["INSERT INTO messages", "UPDATE conversations SET",
               "UPDATE conversation_members SET", "INSERT INTO access_events"])
    assert [o for o in opening if not o.startswith("SELECT")] == writes, statements
    with app.app_context():
        line = db.session.scalars(
            db.select(AccessEvent).where(AccessEvent.object_type == "message")).one()
        assert (line.object_type, line.object_id, line.actor_id, line.patient_id, line.action,
                line.acting_as, line.kind, line.emergency) == (
            "message", str(sent), circle.nurse.id, circle.patient.id, "write",
            "professional", "messages", False)
    assert len(reading(statements[:1], "conversation_members")) == 1  # the event's one read
