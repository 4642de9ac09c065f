"""What the circle's screens call things, in the reader's language."""

from __future__ import annotations

from flask_babel import gettext as _


def scope_labels() -> dict[str, str]:
    return {"messages": _("Messages"), "agenda": _("Agenda"), "documents": _("Documents"),
            "summary": _("Health summary")}


def kind_labels() -> dict[str, str]:
    return {**scope_labels(), "circle": _("Care circle"), "space": _("Your space"),
            "other": _("Other")}


def period_labels() -> dict[str, str]:
    return {"": _("Any time"), "7d": _("Last 7 days"), "30d": _("Last 30 days"),
            "365d": _("Last 12 months")}


def role_labels() -> dict[str, str]:
    return {"patient": _("you"), "relative": _("relative"), "professional": _("professional"),
            "emergency": _("emergency access"), "admin": _("administrator")}


def device_labels() -> dict[str, str]:
    return {"mobile": _("phone"), "tablet": _("tablet"), "desktop": _("computer"),
            "server": _("automatic"), "unknown": _("unknown device")}

