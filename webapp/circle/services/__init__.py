"""Every write about the care circle and every query other domains need from it, by subject:

  access         which grant is in force, open emergency accesses, blocks; the patients a
                 person reaches and acts for
  grants         giving, changing and revoking access; scopes and end dates; the expiry sweep
  invitations    the one-time code a patient gives a relative
  professionals  the directory, looking a patient up, access requests, blocks
  emergency      breaking the glass, its notices, the summary it opens

Import from here (`from webapp.circle import services`); the names below are the package's
surface. For other domains:
  patients_for(user, scope=None) -> list[User]   the patients whose `scope` the user can reach
  acting_for(user) -> User | None                the patient the user currently acts for
  active_grant(patient_id, grantee_id) -> Grant | None        the row, for pages showing it
  active_scopes(patient_id, grantee_id) -> frozenset | None   what policy asks (kept for the
                                                              transaction)
  active_scopes_for(pairs) -> {(patient_id, grantee_id): scopes}   the same for many, one query
  with_scopes(statement, …), remember_scopes(…)  the same read inside a caller's own statement
  active_emergency(patient_id, professional_id), is_blocked(…), emergency_allowed(patient_id)
These answer data questions only: every access decision (who may read a scope, act for a
patient, manage a grant) is made by webapp.policy, which reads these helpers.
"""

from __future__ import annotations

from ..models import EMERGENCY_HOURS, INVITATION_DAYS
from .access import (
    SESSION_KEY,
    acting_for,
    active_emergency,
    active_grant,
    active_scopes,
    active_scopes_for,
    emergency_allowed,
    ended_grants_to,
    ever_granted,
    grant_between,
    is_blocked,
    patients_for,
    patients_for_page,
    remember_scopes,
    switch_acting_for,
    with_scopes,
)
from .common import now
from .emergency import (
    MIN_REASON,
    mark_notice_read,
    open_emergency,
    set_emergency_allowed,
    summary_of,
    unread_notices,
)
from .grants import (
    change_grant,
    clean_scopes,
    give_access,
    grant,
    grants_of,
    last_day,
    listed_grant,
    parse_end_date,
    revoke_grant,
    sweep_expired,
)
from .invitations import (
    CODE_ALPHABET,
    CODE_LENGTH,
    accept_invitation,
    cancel_invitation,
    create_invitation,
    find_invitation,
    format_code,
    new_relative_account,
    normalise_code,
    pending_invitations,
)
from .professionals import (
    block,
    blocks_of,
    decide_request,
    directory,
    find_patient_for,
    pending_request_from,
    pending_requests,
    professional,
    request_access,
    unblock,
)

__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "EMERGENCY_HOURS", "INVITATION_DAYS", "MIN_REASON",
    "SESSION_KEY", "accept_invitation", "acting_for", "active_emergency", "active_grant",
    "active_scopes", "active_scopes_for",
    "block", "blocks_of", "cancel_invitation", "change_grant", "clean_scopes",
    "create_invitation", "decide_request", "directory", "emergency_allowed", "ended_grants_to",
    "ever_granted",
    "find_invitation",
    "find_patient_for", "format_code", "give_access", "grant", "grant_between", "grants_of",
    "is_blocked", "last_day", "listed_grant", "mark_notice_read", "new_relative_account",
    "normalise_code", "now", "open_emergency", "parse_end_date", "patients_for",
    "patients_for_page", "pending_invitations", "pending_request_from", "pending_requests",
    "professional", "remember_scopes", "request_access", "revoke_grant",
    "set_emergency_allowed", "summary_of", "sweep_expired", "switch_acting_for", "unblock",
    "unread_notices", "with_scopes",
]
