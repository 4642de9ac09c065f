"""What makes the app installable: the manifest and the service worker's configuration.

The service worker caches the static shell under a name derived from the content hashes of
every static file (webapp/assets.py), so any changed CSS, JS or icon yields a new cache and
the worker deletes the old ones when it activates.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _

from ..assets import asset, version_of

THEME_COLOR = "#0b5fa5"
BACKGROUND_COLOR = "#ffffff"

# What the offline page and the tab bar need, precached when the worker installs. The script
# bundles a page loads are added by sw-register.js once the worker is ready (it posts the page's
# versioned script and stylesheet URLs), and any other versioned static file is cached the
# first time a page asks for it.
SHELL_ASSETS = (
    "css/app.css",
    "icons/icon.svg",
    "icons/tabs.svg",
)
# The worker imports this file; the push engineer writes its handlers.
PUSH_SCRIPT = "js/sw-push.js"
WORKER_SOURCE = "sw.js"  # static/sw.js, served at /sw.js with its configuration prepended


def _static_root() -> Path:
    return Path(current_app.static_folder)


def static_files() -> list[str]:
    root = _static_root()
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def shell_version() -> str:
    """One hash over every static file's version: any change makes a new cache."""
    digest = hashlib.sha256()
    for name in static_files():
        digest.update(f"{name}={version_of(name)}\n".encode())
    return digest.hexdigest()[:16]


def worker_config() -> dict:
    return {
        "version": shell_version(),
        "shell": [asset(name) for name in SHELL_ASSETS] + [url_for("core.offline")],
        "offline": url_for("core.offline"),
        "pushScript": asset(PUSH_SCRIPT),
    }


def worker_script() -> str:
    source = (_static_root() / WORKER_SOURCE).read_text(encoding="utf-8")
    config = json.dumps(worker_config(), separators=(",", ":"))
    return f"self.HEALTHSPACE = {config};\n{source}"


def manifest(locale: str) -> dict:
    return {
        "id": "/",
        "name": "Health Space",
        "short_name": "Health Space",
        "description": _("Secure messages, agenda and reminders with your care circle."),
        "lang": locale,
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "categories": ["health", "medical"],
        "icons": [
            {"src": asset("icons/icon-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "any"},
            {"src": asset("icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any"},
            {"src": asset("icons/icon-maskable-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "maskable"},
            {"src": asset("icons/icon-maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
            {"src": asset("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml",
             "purpose": "any"},
        ],
    }
