"""The installable shell: manifest, service worker, offline page, static caching, compression."""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path

import brotli
import pytest

from webapp.assets import version_of
from webapp.core import pwa

STATIC = Path(__file__).resolve().parents[2] / "static"


def _manifest(client, **headers):
    response = client.get("/manifest.webmanifest", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    return response, json.loads(response.get_data(as_text=True))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_manifest_has_what_installation_needs(client):
    response, manifest = _manifest(client)
    assert manifest["name"] == "Health Space"
    assert manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["lang"] == "en"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    assert response.headers["Cache-Control"] == "no-cache"


def test_manifest_icons_are_real_pngs_of_the_declared_sizes(client):
    _, manifest = _manifest(client)
    pngs = [icon for icon in manifest["icons"] if icon["type"] == "image/png"]
    seen = set()
    for icon in pngs:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        width, height = _png_size(response.data)
        assert f"{width}x{height}" == icon["sizes"]
        seen.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"),
            ("512x512", "maskable")} <= seen


def test_manifest_follows_the_browser_language(client):
    _, manifest = _manifest(client, **{"Accept-Language": "fr-FR,fr;q=0.9"})
    assert manifest["lang"] == "fr"
    assert manifest["description"].startswith("Messages sécurisés")


def test_service_worker_is_served_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    config = json.loads(re.match(r"self\.HEALTHSPACE = (\{.*?\});\n", source).group(1))
    assert "importScripts(CONFIG.pushScript)" in source
    assert config["pushScript"].startswith("/static/js/sw-push.js?v=")
    assert client.get(config["pushScript"]).status_code == 200
    assert "/offline" in config["shell"]
    for url in config["shell"]:
        assert client.get(url).status_code == 200, url


def test_service_worker_never_caches_pages_or_api_responses(client):
    source = client.get("/sw.js").get_data(as_text=True)
    # Exactly one place writes to the cache, and only for versioned static files.
    assert source.count("cache.put(") == 1
    start, end = source.index("function cacheFirst"), source.index("function networkOrOffline")
    cache_first = source[start:end]
    assert "cache.put(" in cache_first
    assert 'url.pathname.indexOf("/static/") === 0 && url.searchParams.has("v")' in source


def test_shell_version_changes_when_a_static_file_changes(app, tmp_path):
    with app.test_request_context():
        before = pwa.shell_version()
        css = Path(app.static_folder) / "css" / "app.css"
        original = css.read_bytes()
        try:
            css.write_bytes(original + b"\n/* changed */\n")
            after = pwa.shell_version()
            config = pwa.worker_config()
        finally:
            css.write_bytes(original)
        assert after != before
        assert config["version"] == after
        assert f"/static/css/app.css?v={version_of('css/app.css')}" not in config["shell"]
        assert pwa.shell_version() == before


def test_offline_page_stands_alone_without_anybodys_data(client, make_user, login):
    user = make_user("patient", display_name="Jeanne Secret", language="en")
    login(client, user)
    response = client.get("/offline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You are offline" in html
    assert "Jeanne Secret" not in html
    assert "csrf" not in html.lower()
    assert 'data-user-id' not in html
    assert 'href="tel:15"' in html and 'href="tel:112"' in html


@pytest.mark.parametrize("path", ["css/app.css", "js/app.js", "vendor/htmx.min.js"])
def test_versioned_static_files_are_cached_a_year(client, app, path):
    with app.app_context():
        version = version_of(path)
    response = client.get(f"/static/{path}?v={version}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Expires" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


@pytest.mark.parametrize("query", ["", "?v=0123456789ab"])
def test_unversioned_or_stale_static_urls_are_revalidated(client, query):
    response = client.get(f"/static/css/app.css{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers.get("ETag")


@pytest.mark.parametrize("encoding,decode", [
    ("br", brotli.decompress),
    ("gzip", gzip.decompress),
])
def test_html_css_and_js_are_compressed(client, app, encoding, decode):
    with app.app_context():
        urls = [f"/static/{p}?v={version_of(p)}" for p in ("css/app.css", "vendor/htmx.min.js")]
    urls += ["/accounts/sign-in", "/sw.js"]
    for url in urls:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        packed = client.get(url, headers={"Accept-Encoding": encoding})
        assert packed.headers.get("Content-Encoding") == encoding, url
        assert "Accept-Encoding" in packed.headers["Vary"]
        body = decode(packed.data)
        assert len(packed.data) < len(body)
        if url.startswith("/static"):
            assert body == plain.data


def test_committed_icons_exist_for_every_size():
    for name in ("icon-192.png", "icon-512.png", "icon-maskable-192.png", "icon-maskable-512.png"):
        size = int(re.search(r"(\d+)\.png", name).group(1))
        assert _png_size((STATIC / "icons" / name).read_bytes()) == (size, size)


# ---- Script bundles: one request for the scripts every page needs ------------------------

def _bundle_url(app, *files):
    from webapp.assets import scripts

    with app.test_request_context():
        return scripts(*files)


def test_bundle_serves_the_files_in_order(app, client):
    url = _bundle_url(app, "vendor/htmx.min.js", "js/app.js")
    response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.data
    htmx = (STATIC / "vendor" / "htmx.min.js").read_bytes()
    app_js = (STATIC / "js" / "app.js").read_bytes()
    assert htmx in body and app_js in body
    assert body.index(htmx) < body.index(app_js)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "cookie" not in response.headers["Vary"].lower()


@pytest.mark.parametrize("encoding,decode", [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_bundle_is_compressed_and_revalidates(app, client, encoding, decode):
    url = _bundle_url(app, "vendor/htmx.min.js", "js/app.js")
    plain = client.get(url, headers={"Accept-Encoding": "identity"}).data
    packed = client.get(url, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    assert decode(packed.data) == plain
    assert len(packed.data) < len(plain) / 2
    again = client.get(url, headers={"Accept-Encoding": encoding,
                                     "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304


def test_bundle_url_changes_with_a_file(app):
    before = _bundle_url(app, "js/app.js")
    path = STATIC / "js" / "app.js"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n// changed\n")
        after = _bundle_url(app, "js/app.js")
    finally:
        path.write_bytes(original)
    assert before != after


def test_stale_bundle_version_is_not_cached_for_a_year(client):
    response = client.get("/static/bundle.js?f=js/app.js&v=000000000000")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("spec", [
    "", "../webapp/config.py", "js/../../webapp/config.py", "css/app.css", "js/missing.js",
    "js/app.js,js/app.js", "/etc/passwd", "js/app.js%00.js", ",".join(["js/app.js"] * 41),
])
def test_bundle_refuses_anything_but_existing_scripts(client, spec):
    response = client.get("/static/bundle.js", query_string={"f": spec})
    assert response.status_code == 404


def test_pages_load_their_scripts_as_bundles(client, make_user, login):
    html = client.get("/accounts/sign-in").get_data(as_text=True)
    assert html.count('<script defer src="/static/bundle.js?') == 1
    assert not re.search(r'<script[^>]+src="/static/js/', html)
    login(client, make_user("patient"))
    html = client.get("/home").get_data(as_text=True)
    for src in re.findall(r'<script defer src="([^"]+)"', html):
        assert client.get(src.replace("&amp;", "&")).status_code == 200
