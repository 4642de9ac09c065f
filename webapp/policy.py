"""THE one place that decides who may see or do what. Default: deny.

Every route and every Socket.IO handler asks `can()` (or `require()`); no domain decides access
on its own. Rules read the care circle's grants (circle.models).

`can(actor, action, subject)`:
  actor   -- the signed-in User (or AnonymousUserMixin / None)
  action  -- a string from ACTIONS
  subject -- what the action is about: usually the patient (a User), or a domain object
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import Forbidden

RULES: dict[str, Callable[..., bool]] = {}


def rule(action: str):
    """Register the function that decides `action`. One rule per action."""

    def register(fn):
        if action in RULES:
            raise RuntimeError(f"two rules for {action}")
        RULES[action] = fn
        return fn

    return register


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def can(actor, action: str, subject=None) -> bool:
    decide = RULES.get(action)
    if decide is None or not _signed_in(actor):
        return False
    return bool(decide(actor, subject))


def require(actor, action: str, subject=None) -> None:
    if not can(actor, action, subject):
        from flask_babel import gettext as _

        raise Forbidden(_("You do not have access to this."))


# ---- Accounts --------------------------------------------------------------------------

@rule("account.manage_self")
def _manage_self(actor, subject) -> bool:
    return subject is None or subject.id == actor.id


def may_reopen(account) -> bool:
    """Whether the owner of a closed account, having just proved who they are (password or
    passkey), may open it again. Outside `can()`: the account is not signed in, being closed.
    Only a patient who closed their own space; an account made inactive otherwise stays so."""
    return (account is not None and getattr(account, "is_patient", False)
            and getattr(account, "closed_at", None) is not None)


def may_object(invitation) -> bool:
    """Whoever holds a code to open a patient's space may refuse that space instead (the right
    to object; outside `can()`: nobody is signed in). Other codes are simply not used."""
    return invitation is not None and getattr(invitation, "role", None) == "patient"


@rule("admin.invite")
def _admin_invite(actor, subject) -> bool:
    return actor.is_admin


# ---- Care circle: the scope rules every domain builds on --------------------------------
#
# `<scope>.read` / `<scope>.write` on a patient (a User): the patient themself, or a relative
# or professional holding an active grant (not revoked, not past its end date, professional
# not blocked) with that scope. Emergency access opens `summary.read` only. Admins reach no
# patient data. Domain rules below call `can(actor, "messages.read", patient)` and the like.
# The circle's services only answer data questions (which grant is in force, is there an
# open emergency access, is this professional blocked); every yes or no is decided here.

def _circle():
    from .circle import services

    return services


def _a_patient(patient) -> bool:
    from .accounts.models import User

    return isinstance(patient, User) and patient.is_patient and patient.is_active


def _in_emergency(actor, patient) -> bool:
    return actor.is_professional and _circle().active_emergency(patient.id, actor.id) is not None


_LOOK_UP = object()  # no scopes given: ask the circle which grant is in force


def _scope(actor, patient, scope: str, scopes=_LOOK_UP) -> bool:
    """`scopes`: those of the grant in force between them (None: there is none) when the
    caller already holds them, as the conversation list does for dozens of members in one
    query."""
    if not _a_patient(patient):
        return False
    if actor.id == patient.id:
        return True
    if not (actor.is_relative or actor.is_professional):
        return False
    if scopes is _LOOK_UP:
        scopes = _circle().active_scopes(patient.id, actor.id)
    if scopes is not None and scope in scopes:
        return True
    # Breaking the glass opens the summary and nothing else.
    return scope == "summary" and _in_emergency(actor, patient)


def _is_the_patient(actor, patient) -> bool:
    return (patient is not None and getattr(patient, "id", None) == actor.id
            and actor.is_patient)


for _scope_name in ("messages", "agenda", "documents", "summary"):
    for _verb in ("read", "write"):
        if _scope_name == "summary" and _verb == "write":
            continue
        rule(f"{_scope_name}.{_verb}")(
            lambda actor, patient, _s=_scope_name: _scope(actor, patient, _s)
        )

# Only the patient manages their circle, reads their history, exports or closes their space.
for _action in ("circle.manage", "audit.read", "space.export", "space.close"):
    rule(_action)(_is_the_patient)


@rule("circle.manage_item")
def _manage_item(actor, item) -> bool:
    """A grant, invitation, access request or block: only the patient it belongs to."""
    return item is not None and actor.is_patient and item.patient_id == actor.id


@rule("circle.reach")
def _reach(actor, patient) -> bool:
    """Some of the patient's data, whatever the scope: the patient themself, an active grant,
    or emergency access. The list of one's patients and 'acting for' are built on it."""
    if not _a_patient(patient):
        return False
    if actor.id == patient.id:
        return True
    if not (actor.is_relative or actor.is_professional):
        return False
    return (_circle().active_scopes(patient.id, actor.id) is not None
            or _in_emergency(actor, patient))


@rule("circle.act_for")
def _act_for(actor, patient) -> bool:
    """Switch to 'acting for ‹patient›': any active grant (or emergency access) will do."""
    return (actor.is_relative or actor.is_professional) and _reach(actor, patient)


@rule("circle.hold_grant")
def _hold_grant(grantee, patient) -> bool:
    """Who may be given access to a patient's data: a relative or a professional."""
    return (_a_patient(patient) and grantee.id != patient.id
            and (grantee.is_relative or grantee.is_professional))


@rule("circle.directory")
def _directory(actor, subject) -> bool:
    """Patients search professionals to add them."""
    return actor.is_patient


@rule("circle.find_patient")
def _find_patient(actor, subject) -> bool:
    """Professionals look a patient up to ask for access or break the glass."""
    return actor.is_professional


@rule("circle.contact_patient")
def _contact_patient(actor, patient) -> bool:
    """A professional may find this patient, ask them for access: not if they were blocked."""
    return (actor.is_professional and _a_patient(patient)
            and not _circle().is_blocked(patient.id, actor.id))


rule("circle.request_access")(_contact_patient)


@rule("circle.emergency")
def _emergency(actor, patient) -> bool:
    """Break the glass: a professional, not blocked, the patient has not switched it off."""
    return _contact_patient(actor, patient) and _circle().emergency_allowed(patient.id)


@rule("circle.redeem_invitation")
def _redeem(actor, patient) -> bool:
    """A relative redeems a patient's invitation code (no patient given: relatives may, in
    general); not once the patient closed their space."""
    return actor.is_relative and (patient is None or _a_patient(patient))


@rule("notice.read")
def _notice_read(actor, notice) -> bool:
    return notice is not None and notice.user_id == actor.id


# ---- Push ------------------------------------------------------------------------------

@rule("push.device.manage")
def _push_device_manage(actor, subscription) -> bool:
    # A device (push subscription) belongs to one person; only they see or remove it.
    return subscription is not None and subscription.user_id == actor.id


# ---- Agenda ----------------------------------------------------------------------------
#
# Built on the `agenda` scope. Subjects: the patient (a User) for creating and reading, an
# Appointment / Reminder / Delivery for acting on one item.

def _agenda(actor, item, verb: str) -> bool:
    patient = getattr(item, "patient", None)
    return patient is not None and can(actor, f"agenda.{verb}", patient)


@rule("appointment.create")
def _appointment_create(actor, patient) -> bool:
    """The patient, or a relative with the agenda scope (professionals propose instead)."""
    return not actor.is_professional and can(actor, "agenda.write", patient)


@rule("appointment.propose")
def _appointment_propose(actor, patient) -> bool:
    return actor.is_professional and can(actor, "agenda.write", patient)


@rule("appointment.read")
def _appointment_read(actor, appointment) -> bool:
    return _agenda(actor, appointment, "read")


def _appointment_change(actor, appointment) -> bool:
    """Who may write the agenda; a professional only what they proposed themself."""
    if not _agenda(actor, appointment, "write"):
        return False
    return not actor.is_professional or appointment.created_by_id == actor.id


rule("appointment.edit")(_appointment_change)
rule("appointment.delete")(_appointment_change)


@rule("appointment.respond")
def _appointment_respond(actor, appointment) -> bool:
    """Only the patient accepts or declines a professional's proposal."""
    return appointment is not None and _is_the_patient(actor, appointment.patient)


@rule("appointment.confirm")
def _appointment_confirm(actor, appointment) -> bool:
    return appointment is not None and _is_the_patient(actor, appointment.patient)


@rule("appointment.watch_for")
def _appointment_watch_for(actor, patient) -> bool:
    """"Remind me too" on the patient's appointments: a relative with the agenda scope."""
    return actor.is_relative and can(actor, "agenda.read", patient)


@rule("appointment.watch")
def _appointment_watch(actor, appointment) -> bool:
    """"Remind me too" on one appointment. Asked again when each reminder is due: a revoked
    grant stops them at once."""
    return appointment is not None and _appointment_watch_for(actor, appointment.patient)


@rule("reminder.create")
def _reminder_create(actor, patient) -> bool:
    return can(actor, "agenda.write", patient)


@rule("reminder.read")
def _reminder_read(actor, reminder) -> bool:
    return _agenda(actor, reminder, "read")


rule("reminder.edit")(lambda actor, reminder: _agenda(actor, reminder, "write"))
rule("reminder.delete")(lambda actor, reminder: _agenda(actor, reminder, "write"))


@rule("reminder.take")
def _reminder_take(actor, reminder) -> bool:
    """"Taken"/"Snooze": the patient, or someone who writes their agenda (gave the dose)."""
    return (reminder is not None and reminder.kind == "medication"
            and _agenda(actor, reminder, "write"))


# Undoing a mistaken "Taken": whoever may record it (how late is a service rule, not access).
rule("reminder.undo_taken")(_reminder_take)


@rule("reminder.watch")
def _reminder_watch(actor, reminder) -> bool:
    """A relative with the agenda scope watches a medication reminder."""
    return (reminder is not None and reminder.kind == "medication" and actor.is_relative
            and _agenda(actor, reminder, "read"))


@rule("agenda.delivery_action")
def _delivery_action(actor, delivery) -> bool:
    """A notification action acts for the patient it was sent to, and only for them."""
    return (delivery is not None and delivery.recipient_id == actor.id
            and delivery.patient_id == actor.id and actor.is_patient)


@rule("agenda.alert")
def _agenda_alert(watcher, reminder) -> bool:
    """Whether a watcher is still allowed an alert (checked again when it is due)."""
    return _reminder_watch(watcher, reminder)


@rule("agenda.feed")
def _agenda_feed(actor, subject) -> bool:
    return actor.is_patient or actor.is_relative or actor.is_professional


# ---- Chat ------------------------------------------------------------------------------
#
# A care conversation belongs to its patient: members read it while they hold `messages.read`
# on that patient and write while they hold `messages.write`; losing the grant shuts the
# conversation at once, membership or not. A professional conversation is for professionals.

def _chat_scope(actor, conversation, scopes=_LOOK_UP) -> bool:
    # The `messages` scope on the patient: messages.read and messages.write are that one rule
    # (a grant's scope covers both). The caller, a rule, has checked the actor is signed in.
    if conversation.kind == "care":
        return conversation.patient is not None and _scope(actor, conversation.patient,
                                                           "messages", scopes)
    return actor.is_professional


@rule("conversation.read")
def _conversation_read(actor, conversation, scopes=_LOOK_UP) -> bool:
    return (conversation is not None and conversation.has_member(actor)
            and _chat_scope(actor, conversation, scopes))


def conversation_read_given(member, conversation, scopes) -> bool:
    """can(member, "conversation.read", conversation) when the caller already holds `scopes`,
    those of the grant in force between the member and the conversation's patient (None when
    there is none: never given, revoked, ended, or the member blocked): the same rule, without
    asking the circle. The conversation list asks it for every member of dozens of
    conversations, with the scopes fetched in one query instead of one per member."""
    return _signed_in(member) and _conversation_read(member, conversation, scopes)


@rule("conversation.write")
def _conversation_write(actor, conversation) -> bool:
    return (conversation is not None and not conversation.is_closed
            and conversation.has_member(actor) and _chat_scope(actor, conversation))


@rule("conversation.write_for")
def _conversation_write_for(actor, subject) -> bool:
    """Writing on behalf of someone: subject (conversation, person). Only for the patient of
    a care conversation, by someone else who may write in it."""
    if not isinstance(subject, tuple) or len(subject) != 2:
        return False
    conversation, person = subject
    return (conversation is not None and person is not None
            and conversation.patient_id is not None and person.id == conversation.patient_id
            and person.id != actor.id and can(actor, "conversation.write", conversation))


@rule("conversation.close")
def _conversation_close(actor, conversation) -> bool:
    """A professional member may close a conversation to replies (and reopen it)."""
    return (conversation is not None and actor.is_professional
            and conversation.has_member(actor) and _chat_scope(actor, conversation))


@rule("conversation.start")
def _conversation_start(actor, patient) -> bool:
    """About a patient: whoever may write the patient's messages; otherwise professionals."""
    if patient is None:
        return actor.is_professional
    return patient.is_patient and can(actor, "messages.write", patient)


@rule("conversation.join")
def _conversation_join(candidate, patient) -> bool:
    """Who may be a member of a conversation about `patient` (None: between professionals)."""
    if patient is None:
        return candidate.is_professional
    if not patient.is_patient or not (candidate.id == patient.id or candidate.is_relative
                                      or candidate.is_professional):
        return False
    return can(candidate, "messages.read", patient)


@rule("conversation.add_members")
def _conversation_add_members(actor, subject) -> bool:
    """Adding people to a conversation: whoever may write in it. Subject: the conversation
    (may the actor add anyone at all), or (conversation, person) for one person, who must be
    allowed to join a conversation about its patient (None: between professionals), that is
    hold the patient's `messages` scope, and not be a member already."""
    if isinstance(subject, tuple):
        if len(subject) != 2 or subject[1] is None:
            return False
        conversation, person = subject
    else:
        conversation, person = subject, None
    if not can(actor, "conversation.write", conversation):
        return False
    if person is None:
        return True
    patient = conversation.patient if conversation.kind == "care" else None
    if conversation.kind == "care" and patient is None:
        return False
    return not conversation.has_member(person) and can(person, "conversation.join", patient)


@rule("chat.quick_replies")
def _quick_replies(actor, subject) -> bool:
    return actor.is_professional
