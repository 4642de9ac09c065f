"""Every setting comes from the environment; embedded defaults make `make run` work alone."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("HEALTHSPACE_INSTANCE", ROOT / "instance"))


def instance_secret(name: str, make=lambda: secrets.token_urlsafe(48)) -> str:
    """Read a secret from instance/<name>, creating it once (0600) when absent.

    Secrets are never constants in code: a fresh checkout generates its own.
    """
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _rate(name: str, default: str) -> str:
    """A limit such as "5 per minute", checked now: a typo must stop the start, not turn
    every sign-in into an error page."""
    from limits import parse

    value = os.environ.get(name, default)
    try:
        parse(value)
    except ValueError as exc:
        raise RuntimeError(f'{name}="{value}" is not a rate such as "5 per minute"') from exc
    return value


def from_environment() -> dict:
    env = os.environ
    origin = env.get("WEBAUTHN_ORIGIN", "http://localhost:5000")
    https = origin.startswith("https://")
    return {
        "ENV_NAME": env.get("HEALTHSPACE_ENV", "development"),
        "SECRET_KEY": env.get("SECRET_KEY") or instance_secret("secret_key"),
        "SQLALCHEMY_DATABASE_URI": env.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE / 'healthspace.db'}"
        ),
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Set by create_app from SECRET_KEY unless given (see redis_namespace).
        "REDIS_NAMESPACE": env.get("REDIS_NAMESPACE") or None,
        "WEBAUTHN_RP_ID": env.get("WEBAUTHN_RP_ID", "localhost"),
        "WEBAUTHN_RP_NAME": env.get("WEBAUTHN_RP_NAME", "Health Space"),
        "WEBAUTHN_ORIGIN": origin,
        "SOCKETIO_ASYNC_MODE": env.get("SOCKETIO_ASYNC_MODE", "threading"),
        "DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE", "Europe/Paris"),
        "BABEL_DEFAULT_LOCALE": "en",
        "LANGUAGES": ("en", "fr"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Wrong passwords allowed per account, and per address (a care home signs in from one).
        "PASSWORD_TRIES": _rate("PASSWORD_TRIES", "5 per minute"),
        "PASSWORD_TRIES_PER_ADDRESS": _rate("PASSWORD_TRIES_PER_ADDRESS", "20 per minute"),
        # Passkey ceremonies per address (every start writes a challenge row; a sign-in page
        # with passkey autofill starts one on each visit).
        "PASSKEY_CEREMONIES_PER_ADDRESS": _rate("PASSKEY_CEREMONIES_PER_ADDRESS", "120 per minute"),
        # Argon2 costs: "standard", or "light" for the test suite only (check_settings).
        "PASSWORD_HASHING": env.get("PASSWORD_HASHING", "standard"),
        "FRESH_AUTH_SECONDS": int(env.get("FRESH_AUTH_SECONDS", "600")),
        "RUN_REMINDER_WORKER": _bool("RUN_REMINDER_WORKER", False),
        # The care circle's expiry sweep as a task of the web process (`make run` sets it).
        "RUN_CIRCLE_SWEEP": _bool("RUN_CIRCLE_SWEEP", False),
        "CIRCLE_SWEEP_SECONDS": float(env.get("CIRCLE_SWEEP_SECONDS", "30")),
        # Web Push: the VAPID key is generated once into instance/ when not given here.
        "VAPID_PRIVATE_KEY": env.get("VAPID_PRIVATE_KEY") or None,
        "VAPID_CLAIM_EMAIL": env.get("VAPID_CLAIM_EMAIL", "admin@healthspace.example"),
        "PUSH_ALLOWED_HOSTS": env.get("PUSH_ALLOWED_HOSTS", (
            "fcm.googleapis.com android.googleapis.com push.services.mozilla.com"
            " push.apple.com notify.windows.com")).split(),
        "PUSH_ALLOW_LOCAL_HTTP": _bool(
            "PUSH_ALLOW_LOCAL_HTTP", env.get("HEALTHSPACE_ENV") == "test"),
        "PUSH_MAX_ATTEMPTS": int(env.get("PUSH_MAX_ATTEMPTS", "3")),
        "PUSH_RETRY_BASE_SECONDS": float(env.get("PUSH_RETRY_BASE_SECONDS", "0.5")),
        "PUSH_RETRY_MAX_WAIT_SECONDS": float(env.get("PUSH_RETRY_MAX_WAIT_SECONDS", "10")),
        "PUSH_TIMEOUT_SECONDS": float(env.get("PUSH_TIMEOUT_SECONDS", "10")),
        "PUSH_CONCURRENCY": int(env.get("PUSH_CONCURRENCY", "16")),
        "SEND_FILE_MAX_AGE_DEFAULT": 31536000,
        "COMPRESS_MIMETYPES": [
            "text/html", "text/css", "text/javascript", "application/javascript",
            "application/json", "application/manifest+json", "image/svg+xml", "text/calendar",
        ],
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        # Static files are streamed from disk; Flask-Compress leaves gzip out of its streaming
        # default, which would send them uncompressed to gzip-only clients.
        "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
    }


def redis_namespace(secret_key: str) -> str:
    """The prefix of everything this deployment puts in Redis: the Socket.IO channel, the
    presence sets, the rate limits. Processes that share sessions (the same SECRET_KEY) share
    it; another deployment on the same Redis (staging beside production, a second test run)
    gets its own, so no rendered message of one is ever delivered to the sockets of the other
    (their conversation ids overlap). Derived, not the key itself: it is readable in Redis."""
    digest = hmac.new(secret_key.encode(), b"healthspace redis namespace", hashlib.sha256)
    return f"hs-{digest.hexdigest()[:16]}"


def check_settings(config) -> None:
    """Refuse settings that must never reach people: light password hashing outside tests."""
    hashing = config["PASSWORD_HASHING"]
    if hashing not in ("standard", "light"):
        raise RuntimeError(f'PASSWORD_HASHING="{hashing}": use "standard" (or "light" in tests)')
    if hashing == "light" and not (config.get("TESTING") or config["ENV_NAME"] == "test"):
        raise RuntimeError(
            'PASSWORD_HASHING="light" makes passwords cheap to guess: it is for the test suite'
            " (HEALTHSPACE_ENV=test) only"
        )


def engine_options(database_uri: str) -> dict:
    """A server database's connections are checked before use (a restarted server or a
    dropped connection is then reconnected, not an error): psycopg 3's without a query
    (webapp/connections.py), other drivers' by SQLAlchemy's ping, one query on every request
    and socket event. An SQLite file has no server to lose."""
    if database_uri.startswith(("sqlite", "postgresql+psycopg:")):
        return {}
    return {"pool_pre_ping": True}
