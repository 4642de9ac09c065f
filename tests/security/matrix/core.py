"""Core routes: the shell pages and the PWA files. Nothing here shows anyone's health data."""

from tests.security.matrix import Route, expect

ROUTES = {
    "core.index": Route("GET", "/", expect.signed_in()),
    "core.home": Route("GET", "/home", expect.signed_in()),
    "core.health": Route("GET", "/healthz", expect.public()),
    "core.manifest": Route("GET", "/manifest.webmanifest", expect.public()),
    "core.service_worker": Route("GET", "/sw.js", expect.public()),
    "core.offline": Route("GET", "/offline", expect.public()),
    "core.script_bundle": Route("GET", "/static/bundle.js?f=js/app.js", expect.public()),
    # Anyone may pick the interface language; a signed-in user changes only their own.
    "core.choose_language": Route("POST", "/language", expect.public(),
                                  data={"language": "fr", "next": "/home"}),
}
