"""The security baseline every response carries, cookie flags, and Socket.IO's origin check."""

from __future__ import annotations

import re

import pytest

from webapp import config as config_module

PATHS = ["/accounts/sign-in", "/offline", "/healthz", "/sw.js", "/manifest.webmanifest",
         "/static/css/app.css", "/no-such-page"]


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in policy.split(";") if d.strip()}


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_baseline(client, path):
    response = client.get(path)
    assert response.status_code in (200, 404)
    csp = _csp(response)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_signed_in_pages_carry_the_baseline_and_are_not_stored(client, make_user, login):
    login(client, make_user("patient"))
    response = client.get("/home")
    assert response.status_code == 200
    assert _csp(response)["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/accounts/sign-in", "/healthz", "/sw.js"])
def test_hsts_over_https(client, path):
    response = client.get(path, base_url="https://localhost")
    hsts = response.headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
    assert int(re.search(r"\d+", hsts).group()) >= 31536000


def test_hsts_behind_a_tls_proxy(client):
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers


def _session_cookie(response, name="session") -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert cookies, response.headers
    return cookies[-1]


def test_cookie_flags_over_http(client, make_user):
    user = make_user("patient")
    response = client.post("/accounts/sign-in", data={"email": user.email,
                                                      "password": "correct horse battery staple"})
    assert response.status_code in (302, 204)
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # would be dropped by the browser on http://localhost


def test_https_origin_makes_every_cookie_secure(app, client, make_user, monkeypatch):
    monkeypatch.setenv("WEBAUTHN_ORIGIN", "https://healthspace.example")
    monkeypatch.setenv("SECRET_KEY", "unused")
    settings = config_module.from_environment()
    cookie_keys = [k for k in settings if k.startswith(("SESSION_COOKIE_", "REMEMBER_COOKIE_"))]
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["PREFERRED_URL_SCHEME"] == "https"

    saved = {k: app.config[k] for k in cookie_keys}
    app.config.update({k: settings[k] for k in cookie_keys})
    try:
        user = make_user("patient")
        response = client.post("/accounts/sign-in", base_url="https://localhost", data={
            "email": user.email, "password": "correct horse battery staple"})
        assert response.status_code in (302, 204)
        cookie = _session_cookie(response)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Strict-Transport-Security" in response.headers
    finally:
        app.config.update(saved)


# ---- Socket.IO accepts only the app's own origin ----------------------------------------

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def test_socketio_refuses_a_foreign_origin(app, client):
    response = client.get(HANDSHAKE, headers={"Origin": "https://evil.example"})
    assert response.status_code == 400
    assert b"Not an accepted origin" in response.data


def test_socketio_accepts_its_own_origin(app, client):
    own = app.config["WEBAUTHN_ORIGIN"]
    response = client.get(HANDSHAKE, headers={"Origin": own})
    assert response.status_code == 200
    assert b'"sid"' in response.data


def test_socketio_origin_check_on_a_real_server(tmp_path):
    """Over a real websocket handshake, as a browser on another site would open it."""
    import websocket

    from tests.live import LiveServer

    with LiveServer(tmp_path / "live").prepare(seed=False).start() as server:
        url = f"ws://localhost:{server.port}/socket.io/?EIO=4&transport=websocket"
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, origin="https://evil.example", timeout=5)
        assert refused.value.status_code == 400

        own = websocket.create_connection(url, origin=server.url, timeout=5)
        try:
            assert own.recv().startswith('0{"sid"')  # the Engine.IO "open" packet
        finally:
            own.close()
