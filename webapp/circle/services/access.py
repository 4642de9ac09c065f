"""Reading the circle: which grant is in force, open emergency accesses, blocks, and the
patients a person reaches and acts for. Data questions only; policy decides."""

from __future__ import annotations

from flask import has_request_context, session
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, event, or_, select
from sqlalchemy.orm import Session

from ... import policy
from ...accounts.models import User
from ...errors import Forbidden
from ...extensions import db
from ..models import (
    Block,
    CircleSettings,
    EmergencyAccess,
    Grant,
    parse_scopes,
)
from .common import now

SESSION_KEY = "acting_for"


_grants, _blocks = Grant.__table__, Block.__table__


def _active_clause(at):
    """Not revoked and not ended at `at` (a datetime or a bound parameter)."""
    return and_(_grants.c.revoked_at.is_(None),
                or_(_grants.c.ends_at.is_(None), _grants.c.ends_at > at))


def active_grant(patient_id: int, grantee_id: int) -> Grant | None:
    """The grantee's grant from this patient if it is in force now (professional not blocked),
    as a row, for pages that show it. Policy asks active_scopes()."""
    row = db.session.execute(
        _grants_with_block().where(Grant.patient_id == patient_id,
                                   Grant.grantee_id == grantee_id, _active_clause(now()))
    ).first()
    if row is None or row[1] is not None:
        return None
    return row[0]


# A block between the same two people as the grant (at most one: unique per pair).
_BLOCK_OF_GRANT = and_(_blocks.c.patient_id == _grants.c.patient_id,
                       _blocks.c.professional_id == _grants.c.grantee_id)


def _grants_with_block():
    """Grants, each with the id of a block between the same two people (None: not blocked)."""
    return db.select(Grant, Block.id).outerjoin(Block, _BLOCK_OF_GRANT)


# ---- The scopes in force, for policy -----------------------------------------------------
#
# Policy asks on every request and every socket event which scopes a relative or professional
# holds on a patient, up to three times for the same pair in one event (may read, may write,
# the access history's "acting as"). Answered with plain statements (no mapped rows to build),
# kept for the rest of the transaction, and forgotten as soon as it ends or the session
# writes anything (the listeners below).

_SCOPES_IN_FORCE = (
    select(_grants.c.patient_id, _grants.c.grantee_id, _grants.c.scopes, _blocks.c.id)
    .outerjoin(_blocks, _BLOCK_OF_GRANT)
    .where(_active_clause(bindparam("at")))
)
# A grant is unique per pair too: at most one row.
_SCOPES_OF_PAIR = _SCOPES_IN_FORCE.where(_grants.c.patient_id == bindparam("patient"),
                                         _grants.c.grantee_id == bindparam("grantee"))


def active_scopes(patient_id: int, grantee_id: int) -> frozenset[str] | None:
    """The scopes of the grantee's grant from this patient if one is in force now (not
    revoked, not ended, professional not blocked); None when there is none."""
    orm = _settled_session()
    known = orm.info.setdefault(_SCOPES, {})
    key = (patient_id, grantee_id)
    if key not in known:
        rows = orm.connection().execute(
            _SCOPES_OF_PAIR, {"patient": patient_id, "grantee": grantee_id, "at": now()})
        known[key] = _in_force(rows).get(key)
    return known[key]


_SCOPES = "circle.active_scopes"  # session.info: {(patient id, grantee id): scopes | None}


def with_scopes(statement, patient_id, grantee_id, at):
    """`statement` with two more columns, for remember_scopes(): the scopes of the grant in
    force at `at` between the patient whose id is `patient_id` and `grantee_id` (columns or
    bound parameters), and the id of a block between them. For a caller whose statement
    already reads what policy will ask about (a socket event's conversation): one statement
    instead of two. At most one grant per pair: the statement's rows are not multiplied."""
    return (
        statement.add_columns(_grants.c.scopes, _blocks.c.id)
        .outerjoin(_grants, and_(_grants.c.patient_id == patient_id,
                                 _grants.c.grantee_id == grantee_id, _active_clause(at)))
        .outerjoin(_blocks, _BLOCK_OF_GRANT)
    )


def remember_scopes(patient_id: int, grantee_id: int, scopes: str | None,
                    block_id: int | None) -> None:
    """Keep what a statement built by with_scopes() read, as active_scopes() would have, for
    the rest of the transaction. Read in the current transaction with nothing unsaved."""
    orm = db.session
    if _unsaved(orm):
        return  # active_scopes() will flush and ask
    rows = [] if scopes is None else [(patient_id, grantee_id, scopes, block_id)]
    orm.info.setdefault(_SCOPES, {})[(patient_id, grantee_id)] = (
        _in_force(rows).get((patient_id, grantee_id)))


def _settled_session():
    """The session, its unsaved changes written first (a grant ended a moment ago, perhaps:
    the plain statements below do not flush, and the answer must see them; the flush forgets
    what was kept)."""
    orm = db.session
    if _unsaved(orm):
        orm.flush()
    return orm


def _unsaved(orm) -> bool:
    return bool(orm.new or orm.dirty or orm.deleted)


def _in_force(rows) -> dict[tuple[int, int], frozenset[str]]:
    return {(patient, grantee): parse_scopes(scopes)
            for patient, grantee, scopes, blocked in rows if blocked is None}


def active_scopes_for(pairs) -> dict[tuple[int, int], frozenset[str]]:
    """active_scopes for many (patient id, grantee id) pairs in ONE query: {pair: scopes} for
    the pairs with a grant in force (a conversation list asks it for dozens of members)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    found = _in_force(_settled_session().connection().execute(
        _SCOPES_IN_FORCE.where(_grants.c.patient_id.in_({p for p, _g in pairs}),
                               _grants.c.grantee_id.in_({g for _p, g in pairs})),
        {"at": now()}))
    return {pair: scopes for pair, scopes in found.items() if pair in pairs}


def _forget(session) -> None:
    session.info.pop(_SCOPES, None)


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session, _flush_context) -> None:
    _forget(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session, _transaction) -> None:
    _forget(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_before_writing(state) -> None:
    # An UPDATE or DELETE through the session (no flush involved): forget before it runs.
    if not state.is_select:
        _forget(state.session)


def grant_between(patient_id: int, grantee_id: int) -> Grant | None:
    """The grant row whatever its state (revoked, expired, active)."""
    return db.session.scalar(
        db.select(Grant).where(Grant.patient_id == patient_id, Grant.grantee_id == grantee_id)
    )


def is_blocked(patient_id: int, professional_id: int) -> bool:
    return db.session.scalar(
        db.select(Block.id).where(Block.patient_id == patient_id,
                                  Block.professional_id == professional_id)
    ) is not None


def emergency_allowed(patient_id: int) -> bool:
    settings = db.session.get(CircleSettings, patient_id)
    return settings is None or settings.emergency_access_allowed


def active_emergency(patient_id: int, professional_id: int) -> EmergencyAccess | None:
    at = now()
    if is_blocked(patient_id, professional_id) or not emergency_allowed(patient_id):
        return None
    return db.session.scalar(
        db.select(EmergencyAccess)
        .where(EmergencyAccess.patient_id == patient_id,
               EmergencyAccess.professional_id == professional_id,
               EmergencyAccess.started_at <= at, EmergencyAccess.ends_at > at)
        .order_by(EmergencyAccess.ends_at.desc())
        .limit(1)
    )


def _candidate_patients(user: User) -> list[User]:
    """Everyone whose data this user might reach: themself, the patients whose grant to them
    is in force, those whose summary they opened in an emergency (policy has the last word)."""
    at = now()
    found = {user.id: user}
    for grant in db.session.scalars(
        db.select(Grant).where(Grant.grantee_id == user.id, _active_clause(at))
    ):
        found.setdefault(grant.patient_id, grant.patient)
    for access in db.session.scalars(
        db.select(EmergencyAccess).where(EmergencyAccess.professional_id == user.id,
                                         EmergencyAccess.started_at <= at,
                                         EmergencyAccess.ends_at > at)
    ):
        found.setdefault(access.patient_id, access.patient)
    return list(found.values())


def patients_for(user: User, scope: str | None = None) -> list[User]:
    """The patients whose `scope` (any scope when None) this user can reach now, by name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    action = f"{scope}.read" if scope else "circle.reach"
    reachable = [p for p in _candidate_patients(user) if policy.can(user, action, p)]
    return sorted(reachable, key=lambda p: p.display_name.lower())


def acting_for(user: User) -> User | None:
    """The patient this user acts for now: a patient acts for themself; a relative or a
    professional for the patient chosen with the switch (kept in the session), or for their
    only patient. None when they have none (or the chosen one's access has ended)."""
    reachable = patients_for(user)
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    if chosen is not None:
        for patient in reachable:
            if patient.id == chosen:
                return patient
        session.pop(SESSION_KEY, None)
    if len(reachable) == 1:
        return reachable[0]
    return None


def switch_acting_for(user: User, patient_id: int | None) -> User | None:
    """Choose the patient to act for (None: stop acting for anyone)."""
    if patient_id is None:
        session.pop(SESSION_KEY, None)
        return None
    for patient in patients_for(user):
        if patient.id == patient_id:
            session[SESSION_KEY] = patient.id
            return patient
    raise Forbidden(_("You cannot act for this person."))


def ended_grants_to(user: User) -> list[Grant]:
    """The grants to this user that ran out on their last day (not revoked): so a relative
    whose access has ended is told so, not that nobody ever gave them any. Newest end first."""
    return list(db.session.scalars(
        db.select(Grant).where(Grant.grantee_id == user.id, Grant.revoked_at.is_(None),
                               Grant.ends_at.is_not(None), Grant.ends_at <= now())
        .order_by(Grant.ends_at.desc()).limit(10)
    ))


def ever_granted(user: User) -> bool:
    """Someone ever gave this user access (in force, ended or revoked): an empty list then
    means "nobody at the moment", not "nobody yet"."""
    return db.session.scalar(
        db.select(db.exists().where(Grant.grantee_id == user.id))) or False


def patients_for_page(user: User) -> list[tuple[User, Grant | None, EmergencyAccess | None]]:
    # The grants shown come in one query, not one per patient (policy's answers are scopes).
    grants = {grant.patient_id: grant for grant, blocked in db.session.execute(
        _grants_with_block().where(Grant.grantee_id == user.id, _active_clause(now())))
        if blocked is None}
    rows = []
    for patient in patients_for(user):
        rows.append((patient, grants.get(patient.id),
                     active_emergency(patient.id, user.id) if user.is_professional else None))
    return rows
