"""Grants, scopes, invitations, directory, blocks and emergency access, through the services
and the policy every domain asks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from tests.circle.conftest import count, get, give
from webapp import audit, policy
from webapp.circle import services
from webapp.circle.models import (
    AccessRequest,
    Block,
    EmergencyAccess,
    Grant,
    Invitation,
    Notice,
)
from webapp.circle.signals import access_changed
from webapp.errors import Conflict, Forbidden, Gone, NotFound, UserError
from webapp.extensions import db

SCOPED = ["messages.read", "messages.write", "agenda.read", "agenda.write",
          "documents.read", "documents.write", "summary.read"]


@pytest.fixture
def signals(app):
    received = []

    def listen(sender, **kw):
        # Sent after commit: a fresh connection already sees the change.
        with db.engine.connect() as conn:
            row = conn.execute(db.select(Grant.revoked_at, Grant.scopes).where(
                Grant.patient_id == kw["patient_id"], Grant.grantee_id == kw["grantee_id"]
            )).first()
        received.append((kw["patient_id"], kw["grantee_id"], row))

    access_changed.connect(listen)
    yield received
    access_changed.disconnect(listen)


def test_scopes_follow_the_grant(app_ctx, granted):
    jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
    assert all(policy.can(jeanne, action, jeanne) for action in SCOPED)
    assert policy.can(claire, "messages.write", jeanne)
    assert policy.can(claire, "agenda.read", jeanne)
    assert not policy.can(claire, "documents.read", jeanne)
    assert not policy.can(claire, "summary.read", jeanne)
    assert all(policy.can(nadia, action, jeanne) for action in SCOPED)
    # Only the patient manages, reads the history, exports or closes.
    for action in ("circle.manage", "audit.read", "space.export", "space.close"):
        assert policy.can(jeanne, action, jeanne)
        assert not policy.can(claire, action, jeanne)
        assert not policy.can(nadia, action, jeanne)
    assert not policy.can(get(granted.olga), "messages.read", jeanne)
    assert not policy.can(None, "messages.read", jeanne)
    assert not policy.can(jeanne, "no.such.action", jeanne)


def test_the_circle_decisions_are_policy_rules(app_ctx, granted):
    """The circle's services answer data questions; every yes/no is a rule in policy."""
    jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
    paul, olga = get(granted.paul), get(granted.olga)
    assert not hasattr(services, "has_scope")
    # Reaching a patient (any scope) and acting for them.
    assert policy.can(jeanne, "circle.reach", jeanne) and policy.can(claire, "circle.reach", jeanne)
    assert not policy.can(paul, "circle.reach", jeanne) and not policy.can(olga, "circle.reach",
                                                                             jeanne)
    assert policy.can(claire, "circle.act_for", jeanne)
    assert not policy.can(jeanne, "circle.act_for", jeanne)  # a patient is always themself
    # Who may hold a grant: relatives and professionals, never the patient or another patient.
    assert policy.can(claire, "circle.hold_grant", jeanne)
    assert policy.can(paul, "circle.hold_grant", jeanne)
    assert not policy.can(olga, "circle.hold_grant", jeanne)
    assert not policy.can(jeanne, "circle.hold_grant", jeanne)
    # A row of a circle belongs to its patient only.
    grant = db.session.get(Grant, granted.claire_grant)
    assert policy.can(jeanne, "circle.manage_item", grant)
    assert not policy.can(olga, "circle.manage_item", grant)
    assert not policy.can(claire, "circle.manage_item", grant)
    assert not policy.can(jeanne, "circle.manage_item", None)
    # Professionals contact a patient unless blocked; an inactive account is not findable.
    assert policy.can(paul, "circle.contact_patient", jeanne)
    assert not policy.can(claire, "circle.contact_patient", jeanne)
    db.session.add(Block(patient_id=jeanne.id, professional_id=paul.id))
    db.session.commit()
    assert not policy.can(paul, "circle.contact_patient", jeanne)
    assert not policy.can(paul, "circle.request_access", jeanne)
    olga.active = False
    db.session.commit()
    assert not policy.can(nadia, "circle.contact_patient", get(granted.olga))


def test_expired_revoked_and_blocked_grants_give_nothing(app_ctx, granted):
    jeanne, claire, nadia = get(granted.jeanne), get(granted.claire), get(granted.nadia)
    claire_grant = db.session.get(Grant, granted.claire_grant)
    claire_grant.ends_at = services.now() - timedelta(seconds=1)
    db.session.commit()
    assert not policy.can(claire, "messages.read", jeanne)
    assert services.patients_for(claire) == []
    claire_grant.ends_at = None
    claire_grant.revoked_at = services.now()
    db.session.commit()
    assert not policy.can(claire, "messages.read", jeanne)
    db.session.add(Block(patient_id=jeanne.id, professional_id=nadia.id))
    db.session.commit()
    assert not policy.can(nadia, "messages.read", jeanne)
    assert services.patients_for(nadia) == []


def test_patients_for_and_acting_for(app, granted, make_user):
    with app.test_request_context():
        jeanne, claire = get(granted.jeanne), get(granted.claire)
        assert services.patients_for(jeanne) == [jeanne]
        assert services.acting_for(jeanne) == jeanne
        assert [p.id for p in services.patients_for(claire, "messages")] == [jeanne.id]
        assert services.patients_for(claire, "documents") == []
        # One patient: acting for her without choosing.
        assert services.acting_for(claire).id == jeanne.id
        other = make_user("patient", display_name="Albert Martin")
        give(other, claire, "agenda")
        claire = get(granted.claire)
        assert {p.id for p in services.patients_for(claire)} == {jeanne.id, other.id}
        assert services.acting_for(claire) is None  # two: she chooses
        services.switch_acting_for(claire, other.id)
        assert services.acting_for(claire).id == other.id
        with pytest.raises(Forbidden):
            services.switch_acting_for(claire, granted.olga.id)
        # The chosen patient's access ends: nobody is chosen any more.
        db.session.get(Grant, services.grant_between(other.id, claire.id).id).revoked_at = \
            services.now()
        db.session.commit()
        assert services.acting_for(claire).id == jeanne.id  # back to her only patient


def test_invitation_round_trip_and_bad_codes(app, people):
    with app.test_request_context():
        jeanne, claire = get(people.jeanne), get(people.claire)
        row, code = services.create_invitation(jeanne, "Claire", "messages,agenda", None)
        assert row.code_hash != code and code not in row.code_hash
        grants_before = count(Grant)
        for forged in ("", "AAAAA-AAAAA", code[:-1], code + "X", "'; drop table users;--"):
            with pytest.raises(UserError) as exc:
                services.accept_invitation(claire, forged)
            assert "not valid" in exc.value.message
        assert count(Grant) == grants_before
        # Typed in lower case with spaces and a dash: still the code.
        grant = services.accept_invitation(claire, " " + code[:5].lower() + " - " + code[5:])
        assert grant.scope_set == {"messages", "agenda"}
        with pytest.raises(Gone) as exc:
            services.accept_invitation(get(people.claire), code)
        assert "already been used" in exc.value.message
        assert count(Grant) == grants_before + 1

        row, code = services.create_invitation(jeanne, "Late", "messages", None)
        row.expires_at = services.now() - timedelta(minutes=1)
        db.session.commit()
        with pytest.raises(Gone) as exc:
            services.accept_invitation(get(people.claire), code)
        assert "expired" in exc.value.message

        row, code = services.create_invitation(get(people.jeanne), "Cancelled", "messages", None)
        services.cancel_invitation(get(people.jeanne), row.id)
        with pytest.raises(Gone):
            services.accept_invitation(get(people.claire), code)

        # Only relatives redeem; a patient cannot join their own circle.
        row, code = services.create_invitation(get(people.jeanne), "Me?", "messages", None)
        with pytest.raises(Forbidden):
            services.accept_invitation(get(people.jeanne), code)
        assert db.session.get(Invitation, row.id).used_at is None
        assert count(Grant) == grants_before + 1


def test_granting_to_oneself_and_unknown_scopes_are_refused(app_ctx, people):
    jeanne = get(people.jeanne)
    with pytest.raises(UserError) as exc:
        services.give_access(jeanne, jeanne.id, "messages", None)
    assert "own space" in exc.value.message
    with pytest.raises(UserError) as exc:
        services.clean_scopes(["messages", "xrays"])
    assert "xrays" in exc.value.message
    with pytest.raises(UserError):
        services.clean_scopes([])
    assert services.clean_scopes(["summary", "messages", "messages"]) == "messages,summary"
    with pytest.raises(NotFound):  # a relative is not in the professional directory
        services.give_access(jeanne, people.claire.id, "messages", None)
    with pytest.raises(Forbidden):  # only a patient has a circle to manage
        services.give_access(get(people.claire), people.nadia.id, "messages", None)
    assert count(Grant) == 0


def test_end_dates(app_ctx):
    year = services.now().year + 1
    ends = services.parse_end_date(f"{year}-12-31", "Europe/Paris")
    assert (ends.year, ends.month, ends.day, ends.hour) == (year, 12, 31, 23)  # midnight Paris
    assert services.parse_end_date("", "Europe/Paris") is None
    for bad in ("yesterday", "2020-01-01", "31/12/2099", "2999-01-01"):
        with pytest.raises(UserError):
            services.parse_end_date(bad, "Europe/Paris")


def test_last_day_is_the_day_the_patient_chose(app_ctx, granted):
    """What the circle shows ("Until …") and puts back in the date field is the day typed, in
    the patient's zone, whatever the season, never the UTC instant."""
    from datetime import date

    year = services.now().year + 1
    for typed in (f"{year}-03-29", f"{year}-07-14", f"{year}-10-25", f"{year}-12-31"):
        for zone in ("Europe/Paris", "America/New_York", "Pacific/Auckland"):
            ends = services.parse_end_date(typed, zone)
            assert services.last_day(ends, zone) == date.fromisoformat(typed)
    assert services.last_day(None, "Europe/Paris") is None
    # An unknown zone stored on an account falls back to Paris, as parse_end_date does.
    ends = services.parse_end_date(f"{year}-07-14", "Nowhere/Atlantis")
    assert services.last_day(ends, "Nowhere/Atlantis") == date(year, 7, 14)


def test_listed_grant_is_one_the_circle_shows(app_ctx, granted):
    jeanne = get(granted.jeanne)
    assert services.listed_grant(jeanne, granted.claire_grant).id == granted.claire_grant
    assert services.listed_grant(get(granted.olga), granted.claire_grant) is None  # not hers
    assert services.listed_grant(jeanne, 987654) is None
    services.revoke_grant(jeanne, granted.claire_grant)
    assert services.listed_grant(jeanne, granted.claire_grant) is None


def test_directory_search_and_blocks(app_ctx, people):
    jeanne = get(people.jeanne)
    names = lambda q: [u.display_name for u in services.directory(jeanne, q)]  # noqa: E731
    assert names("nadia") == ["Nadia Benali"]
    assert names("nurse lyon") == ["Nadia Benali"]
    assert names("villeurbanne") == ["Paul Lefevre"]
    assert names("20202020202") == ["Paul Lefevre"]
    assert names("Claire") == []  # relatives are not in the directory
    # Professions are stored as codes: their names find them, in English and in French.
    assert names("practitioner") == ["Paul Lefevre"]
    with force_locale("fr"):
        assert names("infirmière") == ["Nadia Benali"]
        assert names("généraliste") == ["Paul Lefevre"]
    assert names("") == [] and names("a") == []
    services.block(jeanne, people.nadia.id)
    assert names("nadia") == []
    # The blocked professional cannot find her either, and asking changes nothing.
    with pytest.raises(NotFound) as exc:
        services.find_patient_for(get(people.nadia), people.jeanne.email)
    assert "No patient" in exc.value.message
    with pytest.raises(NotFound):
        services.request_access(get(people.nadia), get(people.jeanne), "messages", "")
    assert count(AccessRequest) == 0
    with pytest.raises(Conflict):
        services.give_access(get(people.jeanne), people.nadia.id, "messages", None)
    found = services.find_patient_for(get(people.paul), " " + people.jeanne.email.upper())
    assert found.id == people.jeanne.id


def test_block_revokes_and_unblock_restores_nothing(app_ctx, granted, signals):
    jeanne = get(granted.jeanne)
    block = services.block(jeanne, granted.nadia.id)
    assert db.session.get(Grant, granted.nadia_grant).revoked_at is not None
    assert signals and signals[-1][:2] == (jeanne.id, granted.nadia.id)
    assert signals[-1][2].revoked_at is not None  # committed before the signal
    services.unblock(get(granted.jeanne), block.id)
    assert not policy.can(get(granted.nadia), "messages.read", get(granted.jeanne))
    assert count(Block) == 0


def test_revoke_and_narrow_signal_after_commit_extend_does_not(app_ctx, granted, signals):
    jeanne = get(granted.jeanne)
    services.change_grant(jeanne, granted.claire_grant, "messages,agenda,documents", None)
    assert signals == []  # wider: nobody to cut off
    services.change_grant(get(granted.jeanne), granted.claire_grant, "messages", None)
    assert len(signals) == 1 and signals[0][2].scopes == "messages"
    services.revoke_grant(get(granted.jeanne), granted.claire_grant)
    assert len(signals) == 2 and signals[1][2].revoked_at is not None
    with pytest.raises(Gone):
        services.change_grant(get(granted.jeanne), granted.claire_grant, "agenda", None)
    with pytest.raises(NotFound):  # another patient's grant does not exist for Olga
        services.revoke_grant(get(granted.olga), granted.nadia_grant)


def test_expiry_sweep_signals_once(app_ctx, granted, signals):
    grant = db.session.get(Grant, granted.claire_grant)
    grant.ends_at = services.now() - timedelta(seconds=5)
    db.session.commit()
    assert services.sweep_expired() == 1
    assert signals[-1][:2] == (granted.jeanne.id, granted.claire.id)
    assert services.sweep_expired() == 0


def test_access_request_accept_and_decline(app_ctx, people):
    request_row = services.request_access(get(people.paul), get(people.jeanne), "messages,summary",
                                          "Your new GP")
    with pytest.raises(Conflict):
        services.request_access(get(people.paul), get(people.jeanne), "messages", "")
    assert [r.id for r in services.pending_requests(get(people.jeanne))] == [request_row.id]
    with pytest.raises(NotFound):
        services.decide_request(get(people.olga), request_row.id, True)
    services.decide_request(get(people.jeanne), request_row.id, True)
    assert policy.can(get(people.paul), "summary.read", get(people.jeanne))
    with pytest.raises(Gone):
        services.decide_request(get(people.jeanne), request_row.id, False)
    declined = services.request_access(get(people.nadia), get(people.jeanne), "messages", "")
    services.decide_request(get(people.jeanne), declined.id, False)
    assert not policy.can(get(people.nadia), "messages.read", get(people.jeanne))


def test_emergency_access(app, people, signals):
    with app.test_request_context(headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"}):
        paul, jeanne = get(people.paul), get(people.jeanne)
        assert not policy.can(paul, "summary.read", jeanne)
        with pytest.raises(UserError):
            services.open_emergency(paul, jeanne, "short")
        assert count(EmergencyAccess) == 0 and count(Notice) == 0
        row = services.open_emergency(paul, get(people.jeanne), "Found unconscious, allergies?")
        assert row.ends_at - row.started_at == timedelta(hours=4)
        paul, jeanne = get(people.paul), get(people.jeanne)
        assert policy.can(paul, "summary.read", jeanne)
        assert not policy.can(paul, "messages.read", jeanne)  # the summary only
        event = db.session.scalar(db.select(audit.AccessEvent))
        assert (event.emergency, event.acting_as, event.device) == (True, "emergency", "mobile")
        assert "Found unconscious" in db.session.scalar(db.select(Notice.text))
        # Four hours later the glass is whole again.
        db.session.get(EmergencyAccess, row.id).ends_at = services.now() - timedelta(seconds=1)
        db.session.commit()
        assert not policy.can(get(people.paul), "summary.read", get(people.jeanne))
        # The patient switches it off: refused, and nothing recorded.
        services.set_emergency_allowed(get(people.jeanne), False)
        assert not policy.can(get(people.nadia), "circle.emergency", get(people.jeanne))
        with pytest.raises(Forbidden):
            services.open_emergency(get(people.nadia), get(people.jeanne), "Really urgent now")
        assert count(EmergencyAccess) == 1
        with pytest.raises(Forbidden):  # relatives never break the glass
            services.open_emergency(get(people.claire), get(people.jeanne), "Really urgent now")


def test_record_writes_one_row_and_skips_the_patients_own_reads(app, granted):
    with app.test_request_context(headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0)"}):
        jeanne, claire = get(granted.jeanne), get(granted.claire)
        assert audit.record(jeanne, jeanne, "read", "message", 1) is None
        row = audit.record(claire, jeanne, "write", "message", 7, on_behalf_of=jeanne)
        db.session.commit()
        assert count(audit.AccessEvent) == 1
        assert (row.kind, row.acting_as, row.device, row.on_behalf_of_id) == \
            ("messages", "relative", "desktop", jeanne.id)
    assert audit.device_kind("Mozilla/5.0 (iPad; CPU OS 17_0)") == "tablet"
    assert audit.device_kind("Mozilla/5.0 (Linux; Android 14) Mobile Safari") == "mobile"
    assert audit.device_kind(None) == "server"
    assert audit.kind_of("appointment") == "agenda" and audit.kind_of("zzz") == "other"
