"""What the Activity page says about each line of the access history, in the reader's language.

Each action has two whole sentences, one with "You" as subject and one with someone else:
French conjugates the verb with its subject ("Vous avez retiré…", "Claire a retiré…"), so a
subject and a verb phrase are never glued together. A sentence names what was acted on
(%(what)s: "the agenda", "an appointment") or, for the care circle, the person whose access
it was about (%(whom)s), looked up from the grant, invitation, request or block it recorded.

"for ‹name›" follows a sentence only when it tells the reader something: an action done on
behalf of someone other than the reader. On the patient's own page, a relative's message
"for" the patient is simply one of the patient's messages, and says nothing more.
"""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

from .. import audit
from ..accounts.models import User
from ..extensions import db
from .labels import role_labels
from .models import AccessRequest, Block, Grant, Invitation


def sentences() -> dict[str, tuple[str, str]]:
    """action -> (sentence with "You" as subject, sentence with %(who)s as subject)."""
    return {
        "read": (_("You viewed %(what)s"), _("%(who)s viewed %(what)s")),
        "write": (_("You saved %(what)s"), _("%(who)s saved %(what)s")),
        "create": (_("You created %(what)s"), _("%(who)s created %(what)s")),
        "update": (_("You changed %(what)s"), _("%(who)s changed %(what)s")),
        "delete": (_("You deleted %(what)s"), _("%(who)s deleted %(what)s")),
        "grant": (_("You gave access to %(whom)s"), _("%(who)s gave access to %(whom)s")),
        "change": (_("You changed %(whom)s’s access"), _("%(who)s changed %(whom)s’s access")),
        "revoke": (_("You revoked %(whom)s’s access"), _("%(who)s revoked %(whom)s’s access")),
        "invite": (_("You invited %(whom)s"), _("%(who)s invited %(whom)s")),
        "cancel": (_("You cancelled the invitation for %(whom)s"),
                   _("%(who)s cancelled the invitation for %(whom)s")),
        "accept": (_("You accepted %(what)s"), _("%(who)s accepted %(what)s")),
        "decline": (_("You declined %(what)s"), _("%(who)s declined %(what)s")),
        "block": (_("You blocked %(whom)s"), _("%(who)s blocked %(whom)s")),
        "unblock": (_("You unblocked %(whom)s"), _("%(who)s unblocked %(whom)s")),
        "open": (_("You opened the health summary with emergency access"),
                 _("%(who)s opened your health summary with emergency access")),
        "allow": (_("You allowed emergency access"), _("%(who)s allowed emergency access")),
        "forbid": (_("You switched off emergency access"),
                   _("%(who)s switched off emergency access")),
        "export": (_("You exported %(what)s"), _("%(who)s exported %(what)s")),
        "propose": (_("You proposed %(what)s"), _("%(who)s proposed %(what)s")),
        "confirm": (_("You confirmed %(what)s"), _("%(who)s confirmed %(what)s")),
        "taken": (_("You marked a medicine as taken"), _("%(who)s marked a medicine as taken")),
        "untaken": (_("You undid a dose marked as taken"),
                    _("%(who)s undid a dose marked as taken")),
        "start": (_("You started %(what)s"), _("%(who)s started %(what)s")),
        "close": (_("You closed %(what)s to replies"), _("%(who)s closed %(what)s to replies")),
        "reopen": (_("You reopened %(what)s to replies"),
                   _("%(who)s reopened %(what)s to replies")),
        "add_members": (_("You added people to %(what)s"),
                        _("%(who)s added people to %(what)s")),
        "snooze": (_("You snoozed %(what)s"), _("%(who)s snoozed %(what)s")),
        "watch": (_("You asked to be alerted about %(what)s"),
                  _("%(who)s asked to be alerted about %(what)s")),
        "unwatch": (_("You stopped the alerts about %(what)s"),
                    _("%(who)s stopped the alerts about %(what)s")),
    }


def _special_cases() -> dict[tuple[str, str], tuple[str, str]]:
    """(action, object_type) whose general sentence would read wrong."""
    return {
        ("write", "message"): (_("You wrote %(what)s"), _("%(who)s wrote %(what)s")),
        ("close", "space"): (_("You closed your space"), _("%(who)s closed the space")),
        ("reopen", "space"): (_("You opened your space again"),
                              _("%(who)s opened the space again")),
        ("accept", "invitation"): (_("You accepted an invitation"),
                                   _("%(who)s accepted your invitation")),
        ("decline", "request"): (_("You declined %(whom)s’s request for access"),
                                 _("%(who)s declined %(whom)s’s request for access")),
        # Rows written before the chat recorded "start", "close" and "reopen" say "write" for
        # all three ("saved a conversation" would read as a recording): the first such row of
        # a conversation is its start (see _started_conversations), the others a closing or
        # a reopening.
        ("write", "conversation"): (_("You closed or reopened a conversation"),
                                    _("%(who)s closed or reopened a conversation")),
    }


def _unknown_action() -> tuple[str, str]:
    return _("You accessed %(what)s"), _("%(who)s accessed %(what)s")


def _objects() -> dict[str, str]:
    """object_type -> what was acted on, as the object of a sentence."""
    return {
        "message": _("a message"), "conversation": _("a conversation"),
        "attachment": _("an attachment"), "appointment": _("an appointment"),
        "agenda": _("the agenda"), "reminder": _("a reminder"),
        "medication": _("a medication reminder"),
        "ics": _("the agenda from a calendar app"), "document": _("a document"),
        "summary": _("the health summary"), "invitation": _("an invitation"),
        "request": _("a request for access"), "export": _("your space"),
        "space": _("your space"),
    }


def _kind_objects() -> dict[str, str]:
    """Kind of data -> the object of a sentence when the object type has no phrase of its own."""
    return {
        "messages": _("the messages"), "agenda": _("the agenda"),
        "documents": _("the documents"), "summary": _("the health summary"),
        "circle": _("the care circle"), "space": _("your space"), "other": _("your data"),
    }


def _unknown_person(action: str) -> str:
    if action in ("block", "unblock", "decline"):
        return _("a professional")
    if action in ("invite", "cancel"):
        return _("a relative")
    return _("someone")


# The circle's rows that are about a person other than their actor, by object_type.
_CONCERNED = {"grant": Grant, "invitation": Invitation, "request": AccessRequest, "block": Block}


def people_concerned(patient_id: int, rows) -> dict[tuple[str, str], str]:
    """(object_type, object_id) -> name of the person a circle row was about, for the rows
    whose grant, invitation, request or block still exists."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.object_type in _CONCERNED and (row.object_id or "").isdigit():
            wanted.setdefault(row.object_type, set()).add(int(row.object_id))
    found: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        model = _CONCERNED[object_type]
        if model is Invitation:
            query = db.select(Invitation.id, Invitation.label)
        else:
            person = Grant.grantee_id if model is Grant else model.professional_id
            query = db.select(model.id, User.display_name).join(User, User.id == person)
        query = query.where(model.patient_id == patient_id, model.id.in_(ids))
        found.update(((object_type, str(i)), name) for i, name in db.session.execute(query))
    return found


def _started_conversations(patient_id: int, rows) -> set[int]:
    """Ids of the rows among `rows` that are a conversation's first "write": its start."""
    ids = {row.object_id for row in rows
           if (row.action, row.object_type) == ("write", "conversation") and row.object_id}
    if not ids:
        return set()
    first = audit.first_rows(patient_id, "write", "conversation", ids)
    return {row.id for row in rows if first.get(row.object_id) == row.id}


def for_whom(row, reader_id: int) -> str | None:
    """The name to show after "for", or None when it would tell the reader nothing: nobody
    else was acted for, the actor acted for themself, or the reader is that person."""
    if row.on_behalf_of_id is None or row.on_behalf_of_id in (row.actor_id, reader_id):
        return None
    return row.on_behalf_of.display_name if row.on_behalf_of is not None else None


def lines(patient_id: int, entries, reader_id: int | None = None) -> list[tuple[object, Markup]]:
    """Each audit.Entry of a page with its sentence, names escaped. `reader_id`: who reads
    the page, the patient unless said otherwise."""
    reader_id = patient_id if reader_id is None else reader_id
    general, special, objects, kinds = sentences(), _special_cases(), _objects(), _kind_objects()
    roles = role_labels()
    rows = [entry.row for entry in entries]
    concerned = people_concerned(patient_id, rows)
    started = _started_conversations(patient_id, rows)
    said = []
    for entry in entries:
        row = entry.row
        action = "start" if row.object_type == "conversation" and row.action == "write" \
            and row.id in started else row.action
        you, them = special.get((action, row.object_type)) or general.get(action) or \
            _unknown_action()
        values = {"what": objects.get(row.object_type) or kinds.get(row.kind) or kinds["other"],
                  "whom": concerned.get((row.object_type, row.object_id))
                  or _unknown_person(row.action)}
        if row.by_patient:
            sentence = escape(you) % values
        else:
            # An emergency line already says so (its chip and, for opening, its sentence):
            # the parenthesis tells who the person is, a professional.
            role = "professional" if row.acting_as == "emergency" else row.acting_as
            values["who"] = Markup('<span class="activity__who">{}</span> <span class="muted">'
                                   '({})</span>').format(row.actor_name, roles.get(role, role))
            sentence = escape(them) % values
        name = for_whom(row, reader_id)
        if name:
            sentence += Markup(' <span class="muted">{}</span>').format(
                _("for %(name)s", name=name))
        said.append((entry, sentence))
    return said
