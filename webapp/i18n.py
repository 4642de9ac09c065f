"""Locale and time-zone selection; translations live per domain in webapp/translations/<domain>."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_login import current_user

HERE = Path(__file__).resolve().parent


def translation_directories() -> str:
    dirs = sorted(p for p in (HERE / "translations").glob("*") if p.is_dir())
    return ";".join(str(p) for p in dirs) or str(HERE / "translations")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, workers, socket emits from a signal: the default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    return request.accept_languages.best_match(languages) or default


def select_timezone() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_TIMEZONE"]
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


class number:  # noqa: N801 - used like a function: _("at most %(n)s", n=number(4000))
    """A count written the reader's way ("4,000" in English, "4 000" in French) when the
    message around it is rendered: lazy messages get their values at import, before any
    reader's language is known. Use with %(n)s."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def __str__(self) -> str:
        from flask_babel import format_number

        return format_number(self.value)
