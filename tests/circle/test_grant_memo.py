"""The scopes in force are asked once per transaction (a socket event asks policy up to three
times for the same pair), and never answered from memory once something could have changed it:
a write through the session, unsaved changes, the end of the transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.circle.conftest import get
from tests.statements import reading, recorded_statements
from webapp import policy
from webapp.circle import services
from webapp.circle.models import Block, Grant
from webapp.extensions import db


def test_asked_once_per_transaction(app_ctx, granted):
    jeanne, nadia = get(granted.jeanne), get(granted.nadia)
    with recorded_statements() as statements:
        assert policy.can(nadia, "messages.read", jeanne)
        assert policy.can(nadia, "messages.write", jeanne)
        assert "messages" in services.active_scopes(jeanne.id, nadia.id)
    assert len(reading(statements, "circle_grants")) == 1
    db.session.commit()
    with recorded_statements() as statements:
        assert policy.can(nadia, "messages.read", jeanne)
    assert len(reading(statements, "circle_grants")) == 1  # a new transaction asks again


def test_a_revocation_is_seen_by_the_very_next_question(app_ctx, granted):
    jeanne, nadia = get(granted.jeanne), get(granted.nadia)
    assert policy.can(nadia, "messages.write", jeanne)
    services.revoke_grant(jeanne, granted.nadia_grant)
    assert not policy.can(nadia, "messages.write", jeanne)


def test_unsaved_and_flushed_changes_are_seen(app_ctx, granted):
    jeanne, claire = get(granted.jeanne), get(granted.claire)
    assert policy.can(claire, "agenda.read", jeanne)
    grant = db.session.get(Grant, granted.claire_grant)
    grant.ends_at = services.now() - timedelta(minutes=1)  # pending in the session
    assert not policy.can(claire, "agenda.read", jeanne)
    db.session.flush()
    assert not policy.can(claire, "agenda.read", jeanne)
    grant.ends_at = None
    db.session.flush()
    assert policy.can(claire, "agenda.read", jeanne)


def test_a_write_through_the_session_is_seen(app_ctx, granted):
    jeanne, nadia = get(granted.jeanne), get(granted.nadia)
    assert policy.can(nadia, "documents.read", jeanne)
    db.session.execute(update(Grant).where(Grant.id == granted.nadia_grant)
                       .values(revoked_at=services.now()))
    assert not policy.can(nadia, "documents.read", jeanne)
    assert not policy.can(nadia, "messages.read", jeanne)


def test_a_block_is_seen(app_ctx, granted):
    jeanne, nadia = get(granted.jeanne), get(granted.nadia)
    assert policy.can(nadia, "messages.read", jeanne)
    db.session.add(Block(patient_id=jeanne.id, professional_id=nadia.id,
                         created_at=services.now()))
    assert not policy.can(nadia, "messages.read", jeanne)


def test_a_change_committed_elsewhere_is_seen_by_the_next_transaction(app_ctx, granted):
    jeanne, nadia = get(granted.jeanne), get(granted.nadia)
    assert policy.can(nadia, "messages.read", jeanne)
    with db.engine.begin() as other:  # another request or process
        other.execute(update(Grant).where(Grant.id == granted.nadia_grant)
                      .values(revoked_at=services.now()))
    db.session.commit()  # this one's transaction ends (an event ends with it)
    assert not policy.can(get(granted.nadia), "messages.read", get(granted.jeanne))


def test_the_patients_page_reads_the_grants_it_shows_once(app_ctx, granted, make_user):
    """A nurse's page of patients: one more patient costs policy's question about her, not a
    second look-up of the grant the page shows."""
    nadia = get(granted.nadia)

    def grant_reads() -> int:
        with recorded_statements() as statements:
            rows = services.patients_for_page(nadia)
        db.session.rollback()
        return len(rows), len(reading(statements, "circle_grants"))

    patients, before = grant_reads()
    for n in range(2):
        patient = get(make_user("patient", display_name=f"Patient {n}"))
        services.grant(patient, nadia, "messages", None)
        db.session.commit()
    more, after = grant_reads()
    assert more == patients + 2
    assert after - before == 2  # one question of policy per patient
    shown = {row[0].id: row[1] for row in services.patients_for_page(nadia)}
    assert shown[get(granted.jeanne).id].id == granted.nadia_grant
