import pytest
from sqlalchemy import func, select, text

from tests.chat.conftest import client_id, get
from tests.statements import recorded_statements
from webapp.chat import services
from webapp.chat.models import Conversation, ConversationMember, Message
from webapp.errors import Conflict, Forbidden, UserError
from webapp.extensions import db


def _conv(cid):
    return db.session.get(Conversation, cid)


def _count():
    return db.session.scalar(select(func.count(Message.id)))


def test_post_message_seals_the_body(app_ctx, circle, conversation):
    message, created = services.post_message(
        get(circle.nurse), _conv(conversation), "Pansement demain 9h", client_id()
    )
    assert created
    raw = db.session.execute(text("SELECT body_sealed FROM messages")).scalar_one()
    assert b"Pansement" not in bytes(raw)
    db.session.expire_all()
    assert db.session.get(Message, message.id).body == "Pansement demain 9h"
    subject = db.session.execute(text("SELECT subject_sealed FROM conversations")).scalar_one()
    assert b"Dressing" not in bytes(subject)
    assert _conv(conversation).subject == "Dressing change"


def test_the_fragment_of_a_message_just_sent_opens_nothing_and_reads_nothing(
    app_ctx, circle, conversation, monkeypatch
):
    """Rendered before every delivery: from the text just sealed and the accounts at hand."""
    from webapp import crypto

    conv = _conv(conversation)
    message, _ = services.post_message(
        get(circle.relative), conv, "Maman <b>va</b> bien", client_id()
    )
    opened = []
    monkeypatch.setattr(crypto, "open_text", lambda *args: opened.append(args) or "?")
    with recorded_statements() as statements:
        html = services.render_message(message, conv, "en|Europe/Paris")
    assert "Maman &lt;b&gt;va&lt;/b&gt; bien" in html
    assert "Written by Claire Martin for Jeanne Martin" in html
    assert opened == [] and statements == []
    # Read back in another session, the same message is opened from its ciphertext as always.
    db.session.expunge_all()
    assert db.session.get(Message, message.id).body == "?" and len(opened) == 1


def test_retry_with_same_client_id_stores_once(app_ctx, circle, conversation):
    cid = client_id()
    first, created1 = services.post_message(get(circle.nurse), _conv(conversation), "Hello", cid)
    again, created2 = services.post_message(get(circle.nurse), _conv(conversation), "Hello", cid)
    assert created1 and not created2 and first.id == again.id
    assert _count() == 1


def test_client_id_of_another_user_is_refused(app_ctx, circle, conversation):
    cid = client_id()
    services.post_message(get(circle.nurse), _conv(conversation), "Mine", cid)
    with pytest.raises(Conflict):
        services.post_message(get(circle.relative), _conv(conversation), "Forged", cid)
    assert _count() == 1
    assert db.session.scalar(select(Message.author_id)) == circle.nurse.id


@pytest.mark.parametrize("body", ["", "   \n ", None, 42, "x" * 4001, "\u202e\u0000"])
def test_bad_bodies_are_refused_and_nothing_stored(app_ctx, circle, conversation, body):
    with pytest.raises(UserError) as info:
        services.post_message(get(circle.nurse), _conv(conversation), body, client_id())
    assert info.value.message
    db.session.rollback()
    assert _count() == 0


def test_4000_characters_is_the_limit_exactly(app_ctx, circle, conversation):
    message, _ = services.post_message(
        get(circle.nurse), _conv(conversation), "é" * 4000, client_id()
    )
    assert len(message.body) == 4000


@pytest.mark.parametrize("bad", ["", "short", "has space in it", "x" * 65, None, 123, "<script>x"])
def test_bad_client_ids_are_refused(app_ctx, circle, conversation, bad):
    with pytest.raises(UserError):
        services.post_message(get(circle.nurse), _conv(conversation), "hi", bad)
    assert _count() == 0


def test_non_members_and_people_without_the_scope_cannot_write(app_ctx, circle, conversation):
    for outsider in (circle.stranger, circle.doctor):
        with pytest.raises(Forbidden):
            services.post_message(get(outsider), _conv(conversation), "hi", client_id())
        with pytest.raises(Forbidden):
            services.get_conversation(get(outsider), conversation)
    assert _count() == 0


def test_relative_writes_for_the_patient_and_it_is_audited(app_ctx, circle, conversation):
    from webapp.audit import AccessEvent

    before = db.session.scalar(select(func.count(AccessEvent.id)))
    message, _ = services.post_message(
        get(circle.relative), _conv(conversation), "Maman va bien", client_id()
    )
    assert message.on_behalf_of_id == circle.patient.id
    rows = db.session.scalars(
        select(AccessEvent).where(AccessEvent.id > 0).order_by(AccessEvent.id)
    ).all()[before:]
    assert [
        (r.actor_id, r.action, r.object_type, r.object_id, r.on_behalf_of_id) for r in rows
    ] == [(circle.relative.id, "write", "message", str(message.id), circle.patient.id)]


def test_a_history_entry_has_every_column_the_message_writer_writes(app_ctx, circle):
    """On PostgreSQL a message and its history line are one statement
    (webapp/chat/services/writes.py), built from audit.ENTRY_COLUMNS."""
    from webapp import audit

    values = audit.entry(get(circle.nurse), circle.patient.id, "write", "message")
    assert tuple(values) == audit.ENTRY_COLUMNS


def test_reading_history_is_audited_once_for_others_not_for_the_patient(
    app_ctx, circle, conversation
):
    from webapp.audit import AccessEvent

    services.post_message(get(circle.patient), _conv(conversation), "Bonjour", client_id())
    before = db.session.scalar(select(func.count(AccessEvent.id)))
    services.history(get(circle.patient), _conv(conversation))
    assert db.session.scalar(select(func.count(AccessEvent.id))) == before
    services.history(get(circle.nurse), _conv(conversation))
    rows = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)).all()[before:]
    assert [(r.actor_id, r.action, r.object_type) for r in rows] == [
        (circle.nurse.id, "read", "conversation")
    ]


def test_keyset_pagination_newest_first_without_overlap(app_ctx, circle, conversation):
    conv = _conv(conversation)
    for n in range(75):
        services.post_message(get(circle.nurse), conv, f"message {n}", client_id())
    page, more = services.history(get(circle.patient), conv)
    assert more and [m.body for m in page] == [f"message {n}" for n in range(45, 75)]
    page2, more2 = services.history(get(circle.patient), conv, before_id=page[0].id)
    assert more2 and [m.body for m in page2] == [f"message {n}" for n in range(15, 45)]
    page3, more3 = services.history(get(circle.patient), conv, before_id=page2[0].id)
    assert not more3 and [m.body for m in page3] == [f"message {n}" for n in range(15)]
    after, more_after = services.messages_after(get(circle.patient), conv, page2[-1].id)
    assert not more_after and [m.body for m in after] == [f"message {n}" for n in range(45, 75)]


def test_list_orders_by_activity_counts_unread_filters_and_searches(app_ctx, circle, conversation):
    nurse, patient = get(circle.nurse), get(circle.patient)
    other = services.start_conversation(
        nurse, patient=patient, member_ids=[], subject="Prescription"
    )
    services.post_message(nurse, _conv(conversation), "one", client_id())
    services.post_message(nurse, _conv(conversation), "two", client_id())
    services.post_message(nurse, other, "three", client_id())
    rows = services.conversation_list(patient)
    assert [r.conversation.id for r in rows] == [other.id, conversation]
    assert [r.unread for r in rows] == [1, 2]
    assert rows[0].preview == "three"
    assert services.unread_total(patient) == 3
    assert services.unread_total(nurse) == 0
    services.mark(patient, _conv(conversation), _conv(conversation).last_message_id, "read")
    assert [r.conversation.id for r in services.conversation_list(patient, unread_only=True)] == [
        other.id
    ]
    assert services.unread_total(patient) == 1
    assert [r.conversation.id for r in services.conversation_list(patient, search="claire")] == [
        conversation
    ]
    assert services.conversation_list(patient, search="zzz%") == []


def test_receipts_move_forward_only_and_give_statuses(app_ctx, circle, conversation):
    conv = _conv(conversation)
    m1, _ = services.post_message(get(circle.nurse), conv, "first", client_id())
    m2, _ = services.post_message(get(circle.nurse), conv, "second", client_id())
    assert services.status_of(m2, conv).kind == "sent"
    services.mark(get(circle.patient), conv, m2.id, "delivered")
    db.session.expire_all()
    conv = _conv(conversation)
    assert services.status_of(m2, conv).kind == "delivered"
    services.mark(get(circle.relative), conv, m1.id, "read")
    db.session.expire_all()
    conv = _conv(conversation)
    assert services.status_of(m1, conv).read_by == ["Claire Martin"]
    assert services.status_of(m2, conv).kind == "delivered"
    # Never backwards, never past the last message.
    assert services.mark(get(circle.relative), conv, 1, "read") is None
    services.mark(get(circle.relative), conv, 10_000, "read")
    member = db.session.scalar(
        select(ConversationMember).filter_by(
            conversation_id=conversation, user_id=circle.relative.id
        )
    )
    assert member.last_read_id == m2.id
    assert member.last_delivered_id == m2.id  # reading is delivery too


def test_reading_never_takes_delivery_back_and_the_loaded_marks_follow(
    app_ctx, circle, conversation
):
    conv = _conv(conversation)
    m1, _ = services.post_message(get(circle.nurse), conv, "first", client_id())
    m2, _ = services.post_message(get(circle.nurse), conv, "second", client_id())
    patient = get(circle.patient)
    assert services.mark(patient, conv, m2.id, "delivered") == m2.id
    assert services.mark(patient, conv, m1.id, "read") == m1.id
    mine = conv.member(patient)  # as loaded, without asking the database again
    assert (mine.last_read_id, mine.last_delivered_id) == (m1.id, m2.id)
    db.session.expire_all()
    mine = _conv(conversation).member(get(circle.patient))
    assert (mine.last_read_id, mine.last_delivered_id) == (m1.id, m2.id)
    # Delivered again up to an older one: nothing moves, nothing is said.
    assert services.mark(get(circle.patient), _conv(conversation), m1.id, "delivered") is None


def test_revoking_the_grant_shuts_the_conversation(app_ctx, circle, conversation):
    from webapp.circle import services as circle_services
    from webapp.circle.models import Grant

    grant = db.session.scalar(select(Grant).filter_by(grantee_id=circle.relative.id))
    circle_services.revoke_grant(get(circle.patient), grant.id)
    with pytest.raises(Forbidden):
        services.get_conversation(get(circle.relative), conversation)
    assert services.conversation_list(get(circle.relative)) == []
    with pytest.raises(Forbidden):
        services.post_message(get(circle.relative), _conv(conversation), "hi", client_id())


def test_start_conversation_checks_every_member(app_ctx, circle):
    nurse, patient = get(circle.nurse), get(circle.patient)
    with pytest.raises(Forbidden):  # the GP has no messages scope
        services.start_conversation(
            nurse, patient=patient, member_ids=[circle.doctor.id], subject="x"
        )
    with pytest.raises(Forbidden):
        services.start_conversation(
            nurse, patient=patient, member_ids=[circle.stranger.id], subject="x"
        )
    with pytest.raises(UserError):
        services.start_conversation(nurse, patient=patient, member_ids=[], subject="  ")
    with pytest.raises(UserError):
        services.start_conversation(nurse, patient=patient, member_ids=["abc"], subject="x")
    with pytest.raises(Forbidden):  # the stranger reaches no patient
        services.start_conversation(
            get(circle.stranger), patient=patient, member_ids=[], subject="x"
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count(Conversation.id))) == 0
    # A relative may start one with the nurse; professionals talk among themselves.
    conv = services.start_conversation(
        get(circle.relative), patient=patient, member_ids=[circle.nurse.id], subject="Question"
    )
    assert {m.user_id for m in conv.members} == {
        circle.relative.id,
        circle.patient.id,
        circle.nurse.id,
    }
    pro = services.start_conversation(
        nurse, patient=None, member_ids=[circle.doctor.id], subject="Jeanne's wound"
    )
    assert pro.kind == "professional"
    with pytest.raises(Forbidden):
        services.start_conversation(
            get(circle.relative), patient=None, member_ids=[circle.nurse.id], subject="x"
        )


def test_closed_conversation_refuses_replies_until_reopened(app_ctx, circle, conversation):
    conv = _conv(conversation)
    with pytest.raises(Forbidden):
        services.set_closed(get(circle.relative), conv, True)
    services.set_closed(get(circle.nurse), conv, True)
    with pytest.raises(Forbidden) as info:
        services.post_message(get(circle.patient), conv, "hello?", client_id())
    assert "closed" in info.value.message
    services.set_closed(get(circle.nurse), conv, False)
    services.post_message(get(circle.patient), conv, "hello", client_id())
    assert _count() == 1


def test_quick_replies_are_for_professionals_and_sealed(app_ctx, circle):
    reply = services.add_quick_reply(get(circle.nurse), "Je passe demain matin.")
    raw = db.session.execute(text("SELECT text_sealed FROM quick_replies")).scalar_one()
    assert b"demain" not in bytes(raw)
    assert [r.text for r in services.quick_replies(get(circle.nurse))] == ["Je passe demain matin."]
    with pytest.raises(Forbidden):
        services.add_quick_reply(get(circle.patient), "x")
    with pytest.raises(UserError):
        services.add_quick_reply(get(circle.nurse), "x" * 301)
    with pytest.raises(UserError):
        services.delete_quick_reply(get(circle.doctor), reply.id)
    services.delete_quick_reply(get(circle.nurse), reply.id)
    assert services.quick_replies(get(circle.nurse)) == []


def test_links_are_clickable_and_everything_else_escaped():
    from webapp.chat.text import linkify

    html = str(linkify("See https://example.org/a?b=1&c=2. <b>x</b> javascript:alert(1) www.x.fr"))
    assert (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer nofollow ugc"' in html
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://www.x.fr"' in html
    assert str(linkify('"><img src=x onerror=alert(1)>')).startswith("&#34;&gt;&lt;img")


def test_keys_rotate_reseals_every_message(app, circle, conversation):
    from webapp import crypto

    with app.app_context():
        services.post_message(
            get(circle.nurse), _conv(conversation), "before rotation", client_id()
        )
        old = crypto.keyring().current
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        new = crypto.keyring().current
        assert new != old
        ids = {
            crypto.key_id_of(bytes(v))
            for (v,) in db.session.execute(
                text(
                    "SELECT body_sealed FROM messages"
                    " UNION ALL SELECT subject_sealed FROM conversations"
                )
            )
        }
        assert ids == {new}
        assert db.session.scalar(select(Message)).body == "before rotation"
    status = app.test_cli_runner().invoke(args=["keys", "status"])
    assert f"{new} (current): 2 values" in status.output


def test_writing_for_someone_is_a_policy_rule(app_ctx, circle, conversation):
    """conversation.write_for: only for the patient of a care conversation, by another member
    who may write there; services ask it and keep the clear message."""
    from webapp import policy

    conv = _conv(conversation)
    patient, relative, nurse = get(circle.patient), get(circle.relative), get(circle.nurse)
    assert policy.can(relative, "conversation.write_for", (conv, patient))
    assert policy.can(nurse, "conversation.write_for", (conv, patient))
    assert not policy.can(patient, "conversation.write_for", (conv, patient))  # for oneself
    assert not policy.can(nurse, "conversation.write_for", (conv, relative))  # not the patient
    assert not policy.can(get(circle.stranger), "conversation.write_for", (conv, patient))
    assert not policy.can(relative, "conversation.write_for", conv)  # malformed subject
    assert not policy.can(relative, "conversation.write_for", (None, patient))
    with pytest.raises(Forbidden, match="only write for the patient"):
        services.post_message(nurse, conv, "hi", client_id(), on_behalf_of=relative)
    with pytest.raises(Forbidden, match="only write for the patient"):
        services.post_message(patient, conv, "hi", client_id(), on_behalf_of=patient)
    conv.closed_at = services.now()
    db.session.commit()
    # Closed: policy refuses writing (and so writing for); a member is told why.
    assert not policy.can(relative, "conversation.write", conv)
    assert not policy.can(relative, "conversation.write_for", (conv, patient))
    with pytest.raises(Forbidden, match="closed to replies"):
        services.post_message(relative, conv, "hi", client_id())
    with pytest.raises(Forbidden, match="do not have access"):
        services.post_message(get(circle.stranger), conv, "hi", client_id())
    assert _count() == 0
