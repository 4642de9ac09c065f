"""The conversation list marks the members who can no longer read a conversation, like its
header does: computed for the whole list at once (one query for every member's grant, not two
per member), with the same answer as policy's conversation.read asked member by member."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

from tests.chat.conftest import get, give
from tests.statements import recorded_statements
from webapp.chat import services
from webapp.chat.models import Conversation, ConversationMember
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _revoke(app, patient, grantee) -> None:
    from webapp.circle import services as circle_services
    from webapp.circle.models import Grant

    with app.app_context():
        grant = db.session.scalar(
            select(Grant).filter_by(patient_id=patient.id, grantee_id=grantee.id)
        )
        circle_services.revoke_grant(get(patient), grant.id)


def _marks(html: str) -> dict[int, str]:
    """{conversation id: the row's 'no longer has access' mark} for the rows that have one."""
    found = {}
    for cid, row in re.findall(r'data-conversation-id="(\d+)">(.*?)</li>', html, re.S):
        mark = re.search(r'<span class="chat-row__lost">(.*?)</span>', row, re.S)
        if mark:
            found[int(cid)] = mark.group(1).strip()
    return found


def _set_language(app, user, language: str) -> None:
    from webapp.accounts.models import User

    with app.app_context():
        db.session.get(User, user.id).language = language
        db.session.commit()


@contextmanager
def _counting_queries(app):
    with app.app_context(), recorded_statements() as statements:
        yield statements


# ---- The service ------------------------------------------------------------------------


def test_each_row_names_the_members_who_can_no_longer_read_it(app, circle, conversation):
    with app.app_context():
        [row] = services.conversation_list(get(circle.relative))
        assert row.lost == []
    _revoke(app, circle.patient, circle.nurse)
    with app.app_context():
        [row] = services.conversation_list(get(circle.relative))
        assert [u.id for u in row.lost] == [circle.nurse.id]
        assert {u.id for u in row.others} == {circle.nurse.id, circle.patient.id}
        # The patient's list says the same.
        [row] = services.conversation_list(get(circle.patient))
        assert [u.id for u in row.lost] == [circle.nurse.id]


def test_the_list_agrees_with_policy_member_by_member(app, make_user, circle):
    """Every way of losing access (revoked, ended, scope narrowed, blocked, account closed), a
    grant that ends later (still in force), and a grant on ANOTHER patient (it opens nothing
    here): the list's marks are exactly members_without_access (policy.can per member)."""
    from webapp import crypto
    from webapp.accounts.models import User
    from webapp.chat.services import now
    from webapp.circle.models import Block, Grant

    other_patient = make_user("patient", display_name="Louise Petit", language="en")
    people = {
        name: make_user(role, display_name=name, language="en")
        for name, role in [
            ("Revoked Relative", "relative"),
            ("Ended Relative", "relative"),
            ("Later Relative", "relative"),
            ("Narrowed Nurse", "professional"),
            ("Blocked Doctor", "professional"),
            ("Closed Relative", "relative"),
            ("Elsewhere Relative", "relative"),
        ]
    }
    with app.app_context():
        for person in people.values():
            give(circle.patient, person, "messages,agenda")
        give(other_patient, circle.nurse, "messages")
        give(other_patient, people["Elsewhere Relative"], "messages")
        about_jeanne = services.start_conversation(
            get(circle.nurse),
            patient=get(circle.patient),
            member_ids=[circle.relative.id] + [p.id for p in people.values()],
            subject="Everyone",
        ).id
        about_louise = services.start_conversation(
            get(circle.nurse),
            patient=get(other_patient),
            member_ids=[people["Elsewhere Relative"].id],
            subject="Louise",
        ).id
        # A professional conversation with a member who is not a professional (added before
        # the rules changed, say) and a colleague whose account was closed.
        colleague = get(circle.doctor)
        at = now()
        between = Conversation(
            kind="professional", created_by_id=circle.nurse.id, created_at=at,
            last_activity_at=at, subject_sealed=crypto.seal("Colleagues",
                                                            Conversation.subject_aad(at)),
        )
        db.session.add(between)
        db.session.flush()
        between_id = between.id
        for user_id in (circle.nurse.id, colleague.id, circle.relative.id):
            db.session.add(ConversationMember(conversation_id=between_id, user_id=user_id,
                                              joined_at=now()))
        db.session.commit()

        def grant_of(name, patient=circle.patient):
            return db.session.scalar(select(Grant).filter_by(
                patient_id=patient.id, grantee_id=people[name].id))

        grant_of("Revoked Relative").revoked_at = now()
        grant_of("Ended Relative").ends_at = now() - timedelta(minutes=1)
        grant_of("Later Relative").ends_at = now() + timedelta(days=3)
        grant_of("Narrowed Nurse").scopes = "agenda"
        db.session.add(Block(patient_id=circle.patient.id,
                             professional_id=people["Blocked Doctor"].id))
        db.session.get(User, people["Closed Relative"].id).active = False
        db.session.get(User, colleague.id).active = False
        # Still a member about Jeanne with a grant in force, but no longer about Louise.
        grant_of("Elsewhere Relative", other_patient).revoked_at = now()
        db.session.commit()

    with app.app_context():
        rows = {row.conversation.id: row for row in services.conversation_list(get(circle.nurse))}
        assert set(rows) == {about_jeanne, about_louise, between_id}
        for cid, row in rows.items():
            expected = [u.id for u in services.members_without_access(row.conversation)
                        if u.id != circle.nurse.id]
            assert sorted(u.id for u in row.lost) == sorted(expected), cid
        names = {cid: sorted(u.display_name for u in row.lost) for cid, row in rows.items()}
        assert names == {
            about_jeanne: ["Blocked Doctor", "Closed Relative", "Ended Relative",
                           "Narrowed Nurse", "Revoked Relative"],
            about_louise: ["Elsewhere Relative"],
            between_id: ["Claire Martin", "Paul Lefevre"],
        }


def test_the_marks_cost_no_query_per_conversation(app, make_user, circle):
    """Jeanne's list of 2 conversations and of 8 costs the same number of queries, with a
    member who lost access in each (asking policy member by member would cost two more
    queries per member and per conversation)."""

    def start(n):
        with app.app_context():
            for i in range(n):
                services.start_conversation(
                    get(circle.nurse), patient=get(circle.patient),
                    member_ids=[circle.relative.id], subject=f"Visit {i}",
                )

    def count_for_list() -> tuple[int, list]:
        with app.app_context():
            user = get(circle.patient)
            with _counting_queries(app) as statements:
                rows = services.conversation_list(user)
            return len(statements), rows

    def revoked(yes: bool):
        from webapp.chat.services import now
        from webapp.circle.models import Grant

        with app.app_context():
            grant = db.session.scalar(select(Grant).filter_by(
                patient_id=circle.patient.id, grantee_id=circle.relative.id))
            grant.revoked_at = now() if yes else None
            db.session.commit()

    start(2)
    revoked(True)
    few, rows = count_for_list()
    assert len(rows) == 2 and all([u.id for u in r.lost] == [circle.relative.id] for r in rows)
    revoked(False)
    start(6)
    revoked(True)
    many, rows = count_for_list()
    assert len(rows) == 8 and all([u.id for u in r.lost] == [circle.relative.id] for r in rows)
    assert many == few


# ---- The route ---------------------------------------------------------------------------


def test_the_list_marks_the_row_in_the_page_and_its_fragment(app, client, login, circle,
                                                              conversation):
    login(client, circle.relative)
    assert _marks(client.get("/chat/").get_data(as_text=True)) == {}
    _revoke(app, circle.patient, circle.nurse)
    for headers in ({}, HX):
        response = client.get("/chat/", headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert ("<html" in html) is (headers is not HX)
        assert _marks(html) == {conversation: "Nadia Benali no longer has access"}
    # The live refresh asks for the list's own URL (filters kept): marked there too.
    unread = client.get("/chat/?filter=all&q=nadia", headers=HX).get_data(as_text=True)
    assert _marks(unread) == {conversation: "Nadia Benali no longer has access"}


def test_several_members_are_counted(app, client, login, circle):
    with app.app_context():
        cid = services.start_conversation(
            get(circle.patient), patient=get(circle.patient),
            member_ids=[circle.relative.id, circle.nurse.id], subject="Week-end",
        ).id
    _revoke(app, circle.patient, circle.nurse)
    _revoke(app, circle.patient, circle.relative)
    login(client, circle.patient)
    assert _marks(client.get("/chat/", headers=HX).get_data(as_text=True)) == {
        cid: "2 members no longer have access"
    }
    _set_language(app, circle.patient, "fr")
    assert _marks(client.get("/chat/", headers=HX).get_data(as_text=True)) == {
        cid: "2 membres n’ont plus accès"
    }


def test_the_mark_is_in_french_for_french_readers(app, client, login, circle, conversation):
    _set_language(app, circle.relative, "fr")
    _revoke(app, circle.patient, circle.nurse)
    login(client, circle.relative)
    html = client.get("/chat/").get_data(as_text=True)
    assert _marks(html) == {conversation: "Nadia Benali n’a plus accès"}

