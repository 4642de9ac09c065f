"""Core routes: the shell pages and the PWA files, and a patient's export of their own space."""

from tests.security.matrix import OTHER_PATIENT, OWNER, Route, expect

ROUTES = {
    "core.index": Route("GET", "/", expect.signed_in()),
    "core.home": Route("GET", "/home", expect.signed_in()),
    "core.health": Route("GET", "/healthz", expect.public()),
    "core.manifest": Route("GET", "/manifest.webmanifest", expect.public()),
    "core.service_worker": Route("GET", "/sw.js", expect.public()),
    "core.offline": Route("GET", "/offline", expect.public()),
    "core.script_bundle": Route("GET", "/static/bundle.js?f=js/app.js", expect.public()),
    # Anyone may pick the interface language; a signed-in user changes only their own.
    # A patient downloads their own space (the matrix's sessions are fresh); nobody else may.
    "core.export_space": Route("POST", "/export", expect.roles({OWNER, OTHER_PATIENT})),
    "core.choose_language": Route("POST", "/language", expect.public(),
                                  data={"language": "fr", "next": "/home"}),
}
