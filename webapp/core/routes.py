"""Home, health check, the language switcher, the patient's export, and the PWA files that must
live at the root."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from functools import lru_cache

import brotli
from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text

from .. import assets, policy
from ..accounts.fresh import fresh_auth_required
from ..errors import UserError
from ..extensions import db
from ..htmx import render
from . import bp, export, pwa


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.sign_in"))
    return redirect(url_for("core.home"))


@bp.get("/home")
@login_required
def home():
    from .home import collect

    return render("core/home.html", items=collect(current_user))


@bp.post("/export")
@login_required
def export_space():
    """The patient's copy of their space, as a JSON download (recorded in their history).
    Policy first (anyone else is refused outright), then a recent sign-in check."""
    user = current_user._get_current_object()
    policy.require(user, "space.export", user)
    return fresh_auth_required(_export_download, again="download")(user)


def _export_download(user):
    at = datetime.now(UTC).replace(tzinfo=None)
    response = current_app.response_class(export.prepare(user, at), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export.filename(at.date())}"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/manifest.webmanifest")
def manifest():
    # Browsers fetch the manifest without cookies: its language follows Accept-Language.
    body = json.dumps(pwa.manifest(str(get_locale())), ensure_ascii=False)
    response = make_response(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    return response


@bp.get("/sw.js")
def service_worker():
    response = make_response(pwa.worker_script())
    response.mimetype = "text/javascript"
    # The browser must always see the newest worker; its scope is the whole site.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/static/bundle.js")
def script_bundle():
    files = assets.bundle_files(request.args.get("f", ""))
    if files is None:
        abort(404)
    version = assets.bundle_version(files)
    encoding = _best_encoding()
    response = make_response(_packed_bundle(files, version, encoding))
    response.mimetype = "text/javascript"
    if encoding != "identity":
        response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    if request.args.get("v") == version:
        response.headers["Cache-Control"] = f"public, max-age={assets.ONE_YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.set_etag(f"{version}-{encoding}")
    return response.make_conditional(request)


def _best_encoding() -> str:
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if accepted[encoding]:
            return encoding
    return "identity"


@lru_cache(maxsize=32)
def _packed_bundle(files: tuple[str, ...], version: str, encoding: str) -> bytes:
    # Compressed once per version and process, at the strongest setting: it is sent to
    # every phone, so the bytes matter more than the one-off CPU.
    source = assets.bundle_source(files)
    if encoding == "br":
        return brotli.compress(source, quality=11)
    if encoding == "gzip":
        return gzip.compress(source, compresslevel=9, mtime=0)
    return source


@bp.get("/offline")
def offline():
    # Precached by the service worker without cookies: the page holds nobody's data.
    return render_template("core/offline.html")


@bp.post("/language")
def choose_language():
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        raise UserError(_("This language is not available."), field="language")
    session["language"] = language
    if current_user.is_authenticated:
        policy.require(current_user, "account.manage_self", current_user)
        current_user.language = language
        db.session.commit()
    return redirect(_same_site(request.form.get("next")) or url_for("core.index"))


def _same_site(target: str | None) -> str | None:
    # Only a path on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
