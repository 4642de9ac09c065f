"""HTTP views (thin): parse, ask policy and services, render.

Forms are ordinary (boosted) forms: success redirects back with a flash; a refusal re-renders
the page with the message next to the form and a 4xx status, having changed nothing.
"""

from __future__ import annotations

import base64
import io
from functools import wraps

from flask import abort, current_app, flash, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from .. import audit, policy
from ..accounts.fresh import fresh_auth_required
from ..accounts.models import User
from ..core.banners import banner_provider
from ..errors import Forbidden, NotFound, UserError
from ..extensions import db, limiter
from ..htmx import redirect_to, render, wants_fragment
from ..ids import to_id
from . import bp, services
from .labels import scope_labels as _scope_labels
from .models import SCOPES, Notice

# Invitation codes are 10 characters from 32 (10^15): guessing is hopeless, and this keeps
# a script from trying.
JOIN_LIMIT = "20 per minute"


def _zone() -> str:
    return getattr(current_user, "timezone", None) or current_app.config["DEFAULT_TIMEZONE"]


@bp.app_template_global("circle_last_day")
def circle_last_day(ends_at) -> str:
    """The last local day of access, for a date input (YYYY-MM-DD)."""
    day = services.last_day(ends_at, _zone())
    return day.isoformat() if day else ""


@bp.app_template_filter("circle_last_day_text")
def circle_last_day_text(ends_at) -> str:
    """The last local day of access for people to read, in their language, written like the
    agenda's days ("29 November 2026", "29 novembre 2026"): never the raw ISO date."""
    day = services.last_day(ends_at, _zone())
    return format_date(day, "d MMMM y") if day else ""


@banner_provider
def circle_banners(user) -> list[tuple[str, str]]:
    """The 'acting for ‹patient›' banner on every page, and unread emergency notices."""
    if user.is_patient:
        return [("alert", notice.text) for notice in services.unread_notices(user)]
    patient = services.acting_for(user) if (user.is_relative or user.is_professional) else None
    if patient is None:
        return []
    return [("acting", _("Acting for %(name)s", name=patient.display_name))]


def _manages_circle(view):
    """A patient's change to their own circle: signed in, authenticated recently, and allowed
    by policy to manage it."""

    @wraps(view)
    @login_required
    @fresh_auth_required
    def checked(*args, **kwargs):
        policy.require(current_user, "circle.manage", current_user)
        return view(*args, **kwargs)

    return checked


def _back_to_circle(message: str):
    flash(message, "success")
    return redirect_to(url_for("circle.index"))


def _form_scopes() -> str:
    return services.clean_scopes(request.form.getlist("scopes"))


def _ends_at():
    return services.parse_end_date(request.form.get("ends_on"), _zone())


# ---- My circle (patient) / the patients I can act for (relative, professional) -----------

def _circle_page(status: int = 200, fragment: str | None = None, **extra):
    patient = current_user
    at = services.now()
    context = dict(
        grants=services.grants_of(patient), invitations=services.pending_invitations(patient),
        requests=services.pending_requests(patient), blocks=services.blocks_of(patient),
        emergency_allowed=services.emergency_allowed(patient.id),
        notices=services.unread_notices(patient), scopes=SCOPES, scope_labels=_scope_labels(),
        now=at, form=MultiDict(), error=None, field=None, error_for=None,
    )
    context.update(extra)
    return render("circle/index.html", fragment, status=status, **context)


@bp.get("/")
@login_required
def index():
    if current_user.is_patient:
        policy.require(current_user, "circle.manage", current_user)
        return _circle_page()
    return render("circle/patients.html", **_patients_context(email=""))


def _patients_context(**extra) -> dict:
    """The patients a relative or professional acts for, and the one they act for now."""
    return dict(rows=services.patients_for_page(current_user),
                ended=services.ended_grants_to(current_user),
                ever_granted=services.ever_granted(current_user),
                acting=services.acting_for(current_user), scope_labels=_scope_labels(),
                error=None, **extra)


def _refuse(exc: UserError, where: str, form=None):
    db.session.rollback()
    return _circle_page(status=exc.status, error=exc.message, field=exc.field, error_for=where,
                        form=form or request.form)


@bp.get("/invitations")
@login_required
def invitations():
    """Where a reload lands after creating a code (a boosted form leaves this address in the
    bar): the circle page, saying why the code is not shown again (only its hash is kept)."""
    policy.require(current_user, "circle.manage", current_user)
    flash(_("For your safety, an invitation code is shown only once. If it was lost, cancel "
            "the invitation below and create a new one."), "info")
    return redirect_to(url_for("circle.index"))  # no anchor: the message is at the top


@bp.post("/invitations")
@_manages_circle
def invite():
    try:
        invitation, code = services.create_invitation(
            current_user, request.form.get("label", ""), _form_scopes(), _ends_at())
    except UserError as exc:
        return _refuse(exc, "invite")
    link = url_for("circle.join", code=code, _external=True)
    return _circle_page(created=invitation, code=services.format_code(code), link=link,
                        qr=_qr_data_uri(link))


def _qr_data_uri(text: str) -> str:
    """The link as a QR code: an SVG drawn on the server, shown as an <img> (no script)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@bp.post("/invitations/<int:invitation_id>/cancel")
@_manages_circle
def cancel_invitation(invitation_id: int):
    services.cancel_invitation(current_user, invitation_id)
    return _back_to_circle(_("The invitation is cancelled; its code no longer works."))


# ---- Accepting an invitation (relative) ---------------------------------------------------

@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(JOIN_LIMIT, methods=["POST"])
def join():
    form = request.form if request.method == "POST" else request.args
    code = form.get("code", "")
    context = {"form": form, "code": code, "invitation": None, "error": None, "field": None,
               "scope_labels": _scope_labels()}
    if request.method == "GET":
        if code:
            try:
                context["invitation"] = services.find_invitation(code)
            except UserError as exc:
                context.update(error=exc.message, field=exc.field)
                return render("circle/join.html", "circle/_join.html", status=exc.status,
                              **context)
        return render("circle/join.html", "circle/_join.html", **context)
    try:
        if current_user.is_authenticated:
            policy.require(current_user, "circle.redeem_invitation")
            grant = services.accept_invitation(current_user, code)
        else:
            services.find_invitation(code)  # a bad code is said before anything is created
            relative = services.new_relative_account(
                form.get("display_name", ""), form.get("email", ""), form.get("password", ""),
                language=str(get_locale() or "fr"),
                timezone=current_app.config["DEFAULT_TIMEZONE"])
            db.session.flush()
            grant = services.accept_invitation(relative, code)
            from ..accounts import services as accounts

            accounts.start_session(relative)
    except UserError as exc:
        db.session.rollback()
        context.update(error=exc.message, field=exc.field)
        try:
            context["invitation"] = services.find_invitation(code)
        except UserError:
            pass
        return render("circle/join.html", "circle/_join.html", status=exc.status, **context)
    services.switch_acting_for(current_user, grant.patient_id)
    return _back_to_circle(_("You are now in %(name)s's circle.", name=grant.patient.display_name))


# ---- Professionals: directory, grants, blocks, requests ------------------------------------

@bp.get("/directory")
@login_required
def directory():
    policy.require(current_user, "circle.directory")
    query = request.args.get("q", "")[:100]
    results = services.directory(current_user, query)
    granted = {g.grantee_id for g in services.grants_of(current_user)
               if g.is_active(services.now())}
    return render("circle/directory.html", "circle/_directory_results.html", q=query,
                  results=results, granted=granted, scopes=SCOPES, scope_labels=_scope_labels())


@bp.post("/grants")
@_manages_circle
def add_professional():
    try:
        pro_id = _int(request.form.get("professional_id"))
        row = services.give_access(current_user, pro_id, _form_scopes(), _ends_at())
    except UserError as exc:
        return _refuse(exc, "directory")
    return _back_to_circle(_("%(name)s now has access.", name=row.grantee.display_name))


def _int(value) -> int:
    number = to_id(value)
    if number is None:
        raise UserError(_("The request could not be understood."))
    return number


@bp.post("/grants/<int:grant_id>")
@_manages_circle
def change_grant(grant_id: int):
    try:
        row = services.change_grant(current_user, grant_id, _form_scopes(), _ends_at())
    except UserError as exc:
        return _refuse_change(exc, grant_id)
    return _back_to_circle(_("Access for %(name)s is updated.", name=row.grantee.display_name))


def _refuse_change(exc: UserError, grant_id: int):
    """A refused change reopens that person's section with what was typed and the message
    focused: just that item for HTMX, the whole page otherwise. When the person is no longer
    listed (revoked meanwhile, or not this patient's), the message goes at the top instead."""
    db.session.rollback()
    row = services.listed_grant(current_user, grant_id)
    if row is not None:
        return _circle_page(status=exc.status, fragment="circle/_grant.html", grant=row,
                            error=exc.message, field=exc.field, error_for=f"grant-{grant_id}",
                            form=request.form)
    if wants_fragment():  # nothing to swap in: reload the circle, the message on top
        flash(exc.message, "error")
        response = redirect_to(url_for("circle.index"))
        response.status_code = exc.status
        return response
    return _refuse(exc, "circle")


@bp.post("/grants/<int:grant_id>/revoke")
@_manages_circle
def revoke_grant(grant_id: int):
    row = services.revoke_grant(current_user, grant_id)
    return _back_to_circle(_("%(name)s no longer has access.", name=row.grantee.display_name))


@bp.post("/blocks")
@_manages_circle
def block():
    row = services.block(current_user, _int(request.form.get("professional_id")))
    return _back_to_circle(_("%(name)s is blocked.", name=row.professional.display_name))


@bp.post("/blocks/<int:block_id>/remove")
@_manages_circle
def unblock(block_id: int):
    services.unblock(current_user, block_id)
    return _back_to_circle(_("Unblocked. They have no access until you give it again."))


@bp.post("/requests/<int:request_id>/<any(accept, decline):decision>")
@_manages_circle
def decide_request(request_id: int, decision: str):
    row = services.decide_request(current_user, request_id, decision == "accept")
    if row.accepted:
        return _back_to_circle(_("%(name)s now has access.", name=row.professional.display_name))
    return _back_to_circle(_("Request declined."))


@bp.post("/settings/emergency")
@_manages_circle
def emergency_setting():
    services.set_emergency_allowed(current_user, request.form.get("allowed") == "1")
    return _back_to_circle(_("Your emergency access setting is saved."))


@bp.post("/notices/<int:notice_id>/read")
@login_required
def read_notice(notice_id: int):
    notice = db.session.get(Notice, notice_id)
    if notice is None or not policy.can(current_user, "notice.read", notice):
        abort(404)
    services.mark_notice_read(current_user, notice_id)
    return redirect_to(request.form.get("next") if _same_site(request.form.get("next"))
                       else url_for("circle.activity"))


def _same_site(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//") \
        and "\\" not in target


# ---- Acting for a patient (relative, professional) ------------------------------------------

@bp.post("/act-for")
@login_required
def act_for():
    raw = request.form.get("patient_id", "")
    if not raw:
        services.switch_acting_for(current_user, None)
        return _back_to_circle(_("You no longer act for anyone."))
    patient = db.session.get(User, _int(raw))
    policy.require(current_user, "circle.act_for", patient)
    services.switch_acting_for(current_user, patient.id)
    return _back_to_circle(_("You now act for %(name)s.", name=patient.display_name))


@bp.get("/patients/find")
@login_required
def find_patient():
    policy.require(current_user, "circle.find_patient")
    email = request.args.get("email", "")[:254]
    context = _patients_context(email=email, scopes=SCOPES, found=None)
    if email:
        try:
            found = services.find_patient_for(current_user, email)
        except UserError as exc:
            context["error"] = exc.message
            return render("circle/patients.html", status=exc.status, **context)
        context.update(_found_context(found))
    return render("circle/patients.html", **context)


def _found_context(patient: User) -> dict:
    """What the professional can do about the patient they looked up: their access if they
    have one, the request still waiting for an answer, emergency access."""
    return dict(found=patient, has_grant=services.active_grant(patient.id, current_user.id),
                pending=services.pending_request_from(patient.id, current_user.id),
                emergency_allowed=services.emergency_allowed(patient.id),
                form=MultiDict(), action_error=None, error_for=None, field=None)


def _refuse_to_professional(exc: UserError, patient: User, where: str):
    """A refused request or emergency access: the patient's section again, with what was typed
    and the reason next to that form (not a bare error page that loses the note). A refusal
    about who may act is not shown beside a patient: it stays the plain error it is."""
    db.session.rollback()
    if isinstance(exc, Forbidden | NotFound):
        raise exc
    context = _patients_context(email=patient.email, scopes=SCOPES)
    context.update(_found_context(patient))
    context.update(form=request.form, action_error=exc.message, error_for=where,
                   field=exc.field)
    response = render("circle/patients.html", status=exc.status, **context)
    # A boosted page comes back at its top; the refusal is further down, out of sight on a
    # phone. Only a refusal: a success goes on to the circle page, whose top is what matters.
    response.headers["HX-Reswap"] = "innerHTML show:#found-patient:top"
    return response


def _patient(patient_id: int, findable_for: str | None = None) -> User:
    """The patient by id; with `findable_for`, a patient this professional may not contact for
    that action (e.g. one who blocked them) does not exist for them either."""
    patient = db.session.get(User, patient_id)
    if patient is None or not patient.is_patient:
        abort(404)
    if findable_for is not None and not policy.can(current_user, findable_for, patient):
        abort(404)
    return patient


@bp.post("/patients/<int:patient_id>/request")
@login_required
def request_access(patient_id: int):
    patient = _patient(patient_id, findable_for="circle.request_access")
    try:
        services.request_access(current_user, patient, _form_scopes(),
                                request.form.get("note", ""))
    except UserError as exc:
        return _refuse_to_professional(exc, patient, "request")
    return _back_to_circle(_("Your request was sent to %(name)s.", name=patient.display_name))


@bp.post("/patients/<int:patient_id>/emergency")
@login_required
def emergency(patient_id: int):
    patient = _patient(patient_id, findable_for="circle.contact_patient")
    policy.require(current_user, "circle.emergency", patient)
    try:
        services.open_emergency(current_user, patient, request.form.get("reason", ""))
    except UserError as exc:
        return _refuse_to_professional(exc, patient, "emergency")
    return redirect_to(url_for("circle.summary", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>/summary")
@login_required
def summary(patient_id: int):
    patient = _patient(patient_id)
    policy.require(current_user, "summary.read", patient)
    data = services.summary_of(patient)
    emergency = None
    if current_user.id != patient.id:
        if current_user.is_professional and services.active_grant(patient.id,
                                                                   current_user.id) is None:
            emergency = services.active_emergency(patient.id, current_user.id)
        audit.record(current_user, patient, "read", "summary", patient.id)
        db.session.commit()
    return render("circle/summary.html", emergency=emergency, scope_labels=_scope_labels(),
                  **data)
