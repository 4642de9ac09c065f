"""HTTP views (thin): parse, ask services, render. Every page works without JavaScript."""

from __future__ import annotations

import secrets

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import policy
from ..accounts.models import User
from ..errors import UserError
from ..extensions import db
from ..htmx import redirect_to, render, wants_fragment
from ..ids import to_id
from . import bp, services


def new_client_id() -> str:
    return secrets.token_urlsafe(18)


@bp.app_context_processor
def chat_context():
    def unread_count() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return services.known_unread_total(current_user)
        except Exception:  # noqa: BLE001 - a badge must never break a page
            db.session.rollback()
            return 0

    return {"chat_unread_count": unread_count}


# ---- The list ---------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    unread_only = request.args.get("filter") == "unread"
    search = request.args.get("q", "")[:80]
    rows = services.conversation_list(current_user, unread_only=unread_only, search=search)
    return render(
        "chat/index.html",
        "chat/_list.html",
        rows=rows,
        unread_only=unread_only,
        search=search,
        can_start=_can_start_any(),
    )


@bp.get("/unread")
@login_required
def unread():
    return {"count": services.unread_total(current_user)}


@bp.get("/me.css")
@login_required
def mine_css():
    """ "Mine" vs "theirs" is decided by CSS: this sheet names the signed-in user's id."""
    css = render_template("chat/mine.css", user_id=int(current_user.id))
    response = make_response(css)
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- Starting a conversation ------------------------------------------------------------


def _patients_to_write_about() -> list[User]:
    from ..circle import services as circle

    return [
        p
        for p in circle.patients_for(current_user, "messages")
        if policy.can(current_user, "conversation.start", p)
    ]


def _can_start_any() -> bool:
    return bool(_patients_to_write_about()) or policy.can(current_user, "conversation.start", None)


def _acting_for() -> User | None:
    from ..circle import services as circle

    return circle.acting_for(current_user)


def _chosen_patient(raw) -> User | None:
    if raw in (None, "", "none"):
        return None
    patient = db.session.get(User, services.parse_id(raw))
    if patient is None:
        raise UserError(_("Choose a patient from the list."), field="patient")
    return patient


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    patients = _patients_to_write_about()
    professional = policy.can(current_user, "conversation.start", None)
    source = request.form if request.method == "POST" else request.args
    error = None
    patient = None
    try:
        if "patient" in source:
            patient = _chosen_patient(source.get("patient"))
        elif (acting := _acting_for()) in patients:
            # Someone acting for a patient (the banner says so) writes about them by default:
            # a professional was otherwise offered "between professionals" only.
            patient = acting
        elif len(patients) == 1 and not professional:
            patient = patients[0]
        if patient is not None:
            policy.require(current_user, "conversation.start", patient)
        elif not professional and request.method == "POST":
            raise UserError(_("Choose a patient from the list."), field="patient")
        if request.method == "POST":
            conversation = services.start_conversation(
                current_user,
                patient=patient,
                member_ids=request.form.getlist("members"),
                subject=request.form.get("subject"),
            )
            return redirect_to(url_for("chat.conversation", conversation_id=conversation.id))
    except UserError as exc:
        db.session.rollback()
        if request.method == "GET" and exc.status == 403:
            raise
        error = exc
    people = services.candidates(current_user, patient) if (patient or professional) else []
    return render(
        "chat/new.html",
        "chat/_new_form.html",
        status=error.status if error else 200,
        patients=patients,
        professional=professional,
        patient=patient,
        people=people,
        error=error,
        subject=request.form.get("subject", ""),
        chosen={to_id(x) for x in request.form.getlist("members")} - {None},
    )


# ---- One conversation -------------------------------------------------------------------


def _conversation_page(conversation, *, status=200, error=None, draft=""):
    before = services.parse_optional_id(request.args.get("before"))
    messages, more = services.history(current_user, conversation, before_id=before)
    if before is None and messages:
        services.mark(current_user, conversation, messages[-1].id, "read")
    return render(
        "chat/conversation.html",
        "chat/_conversation.html",
        status=status,
        conversation=conversation,
        messages=messages,
        more=more,
        error=error,
        draft=draft,
        client_id=new_client_id(),
        older_view=before is not None,
        statuses={m.id: services.status_of(m, conversation) for m in messages},
        quick_replies=services.quick_replies(current_user),
        can_write=policy.can(current_user, "conversation.write", conversation),
        can_close=policy.can(current_user, "conversation.close", conversation),
        can_add=_can_add(conversation),
        without_access=services.members_without_access(conversation),
        # The zone every server-rendered time uses: the page's script shows times in it too.
        time_zone=get_timezone().zone,
    )


@bp.get("/<int:conversation_id>")
@login_required
def conversation(conversation_id):
    conv = services.get_conversation(current_user, conversation_id)
    return _conversation_page(conv)


@bp.get("/<int:conversation_id>/messages")
@login_required
def messages(conversation_id):
    """An older page (`before`, loaded when scrolling up) or the gap after `after`."""
    conv = services.get_conversation(current_user, conversation_id)
    after = services.parse_optional_id(request.args.get("after"))
    if after is not None:
        rows, more = services.messages_after(current_user, conv, after)
    else:
        before = services.parse_optional_id(request.args.get("before"))
        rows, more = services.history(current_user, conv, before_id=before)
    if not wants_fragment():
        return redirect(
            url_for(
                "chat.conversation",
                conversation_id=conv.id,
                before=request.args.get("before") or None,
            )
        )
    return render(
        "chat/_page.html",
        "chat/_page.html",
        conversation=conv,
        messages=rows,
        more=more and after is None,
        statuses={m.id: services.status_of(m, conv) for m in rows},
    )


@bp.post("/<int:conversation_id>/messages")
@login_required
def post(conversation_id):
    conv = services.get_conversation(current_user, conversation_id)
    body = request.form.get("body", "")
    try:
        message, _created = services.post_message(
            current_user, conv, body, request.form.get("client_id")
        )
    except UserError as exc:
        db.session.rollback()
        if wants_fragment():
            response = make_response(
                render_template("chat/_composer_error.html", error=exc.message), exc.status
            )
            response.headers["HX-Retarget"] = "#composer-error"
            response.headers["HX-Reswap"] = "outerHTML"
            return response
        conv = services.get_conversation(current_user, conversation_id)
        return _conversation_page(conv, status=exc.status, error=exc.message, draft=body)
    if wants_fragment():
        return render(
            "chat/_message.html",
            "chat/_message.html",
            message=message,
            conversation=conv,
            receipt=services.status_of(message, conv),
        )
    return redirect(url_for("chat.conversation", conversation_id=conv.id) + f"#msg-{message.id}")


@bp.get("/<int:conversation_id>/composer")
@login_required
def composer(conversation_id):
    conv = services.get_conversation(current_user, conversation_id)
    if not wants_fragment():
        return redirect(url_for("chat.conversation", conversation_id=conv.id))
    return render(
        "chat/_composer.html",
        "chat/_composer.html",
        conversation=conv,
        client_id=new_client_id(),
        error=None,
        draft="",
        quick_replies=services.quick_replies(current_user),
        can_write=policy.can(current_user, "conversation.write", conv),
        can_close=policy.can(current_user, "conversation.close", conv),
        without_access=services.members_without_access(conv),
    )


@bp.post("/<int:conversation_id>/close")
@login_required
def close(conversation_id):
    conv = services.get_conversation(current_user, conversation_id)
    services.set_closed(current_user, conv, request.form.get("closed", "1") != "0")
    return redirect_to(url_for("chat.conversation", conversation_id=conv.id))


def _can_add(conversation) -> bool:
    """Whether to show "Add people". About a patient: while someone of their circle (a few
    people) can still be added. Between professionals: whenever policy allows (listing every
    professional on each opening would cost; the page says when nobody is left)."""
    if conversation.patient_id is None:
        return policy.can(current_user, "conversation.add_members", conversation)
    return bool(services.addable(current_user, conversation))


@bp.route("/<int:conversation_id>/members", methods=["GET", "POST"])
@login_required
def members(conversation_id):
    """Add people to an ongoing conversation (a new relative, the nurse taking over)."""
    conv = services.get_conversation(current_user, conversation_id, "conversation.add_members")
    error = None
    if request.method == "POST":
        try:
            added = services.add_members(current_user, conv, request.form.getlist("members"))
        except UserError as exc:
            db.session.rollback()
            error = exc
            conv = services.get_conversation(
                current_user, conversation_id, "conversation.add_members"
            )
        else:
            flash(_("Added: %(names)s", names=", ".join(p.display_name for p in added)),
                  "success")
            return redirect_to(url_for("chat.conversation", conversation_id=conv.id))
    return render(
        "chat/members.html",
        "chat/_add_members.html",
        status=error.status if error else 200,
        conversation=conv,
        people=services.addable(current_user, conv),
        error=error,
        chosen={to_id(x) for x in request.form.getlist("members")} - {None},
    )


# ---- Quick replies ----------------------------------------------------------------------


@bp.route("/quick-replies", methods=["GET", "POST"])
@login_required
def quick_replies():
    if not policy.can(current_user, "chat.quick_replies", None):
        abort(403)
    error = None
    if request.method == "POST":
        try:
            services.add_quick_reply(current_user, request.form.get("text"))
            return redirect_to(url_for("chat.quick_replies"))
        except UserError as exc:
            db.session.rollback()
            error = exc.message
    return render(
        "chat/quick_replies.html",
        "chat/_quick_replies.html",
        status=400 if error else 200,
        error=error,
        replies=services.quick_replies(current_user),
        text=request.form.get("text", ""),
    )


@bp.post("/quick-replies/<int:reply_id>/delete")
@login_required
def delete_quick_reply(reply_id):
    services.delete_quick_reply(current_user, reply_id)
    return redirect_to(url_for("chat.quick_replies"))


# ---- Template helpers -------------------------------------------------------------------


@bp.app_template_filter("linkify")
def linkify_filter(text: str):
    from .text import linkify

    return linkify(text)


@bp.app_template_filter("local")
def local(value):
    """A stored time (UTC) in the viewer's zone: the day and the hour a message shows.

    Converted once per message, the hour then written with strftime: Babel's timeformat
    converted again and read its pattern at every call (a fragment 105 -> 91 µs, on the path
    of every message sent)."""
    from flask_babel import to_user_timezone

    return to_user_timezone(value)


@bp.app_template_filter("local_day")
def local_day(value):
    return local(value).date()


@bp.app_template_filter("day_label")
def day_label(day):
    from datetime import timedelta

    from flask_babel import format_date, to_user_timezone

    from .services import now

    today = to_user_timezone(now()).date()
    if day == today:
        return _("Today")
    if day == today - timedelta(days=1):
        return _("Yesterday")
    return format_date(day, "EEEE d MMMM" if day.year == today.year else "d MMMM y")


@bp.app_template_filter("chat_when")
def chat_when(value):
    from flask_babel import format_date, format_time, to_user_timezone

    from .services import now

    if to_user_timezone(value).date() == to_user_timezone(now()).date():
        return format_time(value, "HH:mm")
    return format_date(value, "d MMM")
