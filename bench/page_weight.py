"""Page weight of the signed-in home page on a phone, first visit and repeat visit.

    .venv/bin/python bench/page_weight.py

Starts a seeded LiveServer, signs in as the demo patient (through the password route, without
loading a page, so the first visit starts with an empty cache), then loads /home in Chromium at
390×844 twice. Bytes are what crossed the network, compressed, headers included: the DevTools
protocol's Network.loadingFinished.encodedDataLength (plus WebSocket frames), for the page AND
for the service worker (whose fetches the page does not see: its network-first page loads and
its precaching). A response the worker answers from its cache costs 0 bytes. The worker script
itself (/sw.js, about 1.5 kB compressed) is fetched by the browser outside both targets and is
not in the figures. Prints JSON.

Budget (issue 2): first visit ≤ 60 kB in ≤ 10 requests; repeat visit ≤ 10 kB.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402
from tests.live import LiveServer  # noqa: E402

EMAIL, PASSWORD = "jeanne@demo.healthspace.test", "jeanne-demo-2026"
BUDGET = {"first_visit_bytes": 60_000, "first_visit_requests": 10, "repeat_visit_bytes": 10_000}
SETTLE_SECONDS = 1.0  # after "networkidle": lets late requests (socket, worker) finish


class Recorder:
    """Collects Network events of one CDP target (page or service worker)."""

    def __init__(self, label: str):
        self.label = label
        self.requests: dict[str, dict] = {}
        self.ws_bytes = 0

    def on(self, method: str, params: dict) -> None:
        rid = params.get("requestId")
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith("data:"):
                self.requests.setdefault(rid, {"url": url, "bytes": 0, "source": "network"})
        elif method == "Network.responseReceived" and rid in self.requests:
            response = params["response"]
            entry = self.requests[rid]
            entry["status"] = response.get("status")
            if response.get("fromServiceWorker"):
                entry["source"] = "service-worker:" + (response.get("serviceWorkerResponseSource")
                                                       or "?")
            elif response.get("fromDiskCache") or response.get("fromPrefetchCache"):
                entry["source"] = "http-cache"
        elif method == "Network.requestServedFromCache" and rid in self.requests:
            self.requests[rid]["source"] = "memory-cache"
        elif method == "Network.loadingFinished" and rid in self.requests:
            self.requests[rid]["bytes"] = int(params.get("encodedDataLength", 0))
        elif method == "Network.webSocketCreated":
            self.requests.setdefault(rid, {"url": params["url"], "bytes": 0, "source": "websocket"})
        elif method == "Network.webSocketFrameReceived":
            self.ws_bytes += len(params["response"].get("payloadData", "").encode())

    def reset(self) -> None:
        self.requests.clear()
        self.ws_bytes = 0


def short(url: str, base: str) -> str:
    url = url.removeprefix(base)
    return re.sub(r"([?&]v=)[0-9a-f]+", r"\1…", re.sub(r"f=[^&]+", "f=…", url))


class Meter:
    def __init__(self, browser, context, page, base: str):
        self.base = base
        self.page_rec = Recorder("page")
        self.worker_rec = Recorder("service-worker")
        cdp = context.new_cdp_session(page)
        for method in ("Network.requestWillBeSent", "Network.responseReceived",
                       "Network.requestServedFromCache", "Network.loadingFinished",
                       "Network.webSocketCreated", "Network.webSocketFrameReceived"):
            cdp.on(method, lambda params, m=method: self.page_rec.on(m, params))
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        # The worker is a separate target: attach to it as soon as it exists.
        self.browser_cdp = browser.new_browser_cdp_session()
        self.browser_cdp.on("Target.targetCreated", self._target_created)
        self.browser_cdp.on("Target.receivedMessageFromTarget", self._from_target)
        self.attached: set[str] = set()
        self.browser_cdp.send("Target.setDiscoverTargets", {"discover": True})

    def _target_created(self, params: dict) -> None:
        info = params["targetInfo"]
        if info["type"] == "service_worker" and info["targetId"] not in self.attached:
            self.attached.add(info["targetId"])
            session = self.browser_cdp.send("Target.attachToTarget",
                                            {"targetId": info["targetId"], "flatten": False})
            self.browser_cdp.send("Target.sendMessageToTarget", {
                "sessionId": session["sessionId"],
                "message": json.dumps({"id": 1, "method": "Network.enable"})})

    def _from_target(self, params: dict) -> None:
        message = json.loads(params["message"])
        if "method" in message:
            self.worker_rec.on(message["method"], message.get("params", {}))

    def measure(self, navigate) -> dict:
        self.page_rec.reset()
        self.worker_rec.reset()
        navigate()
        time.sleep(SETTLE_SECONDS)
        rows = []
        for rec in (self.page_rec, self.worker_rec):
            for entry in rec.requests.values():
                rows.append({"by": rec.label, "url": short(entry["url"], self.base),
                             "source": entry["source"], "bytes": entry["bytes"]})
        page_rows = [r for r in rows if r["by"] == "page"]
        network = [r for r in rows if r["bytes"] > 0 or r["source"] == "websocket"]
        ws = self.page_rec.ws_bytes + self.worker_rec.ws_bytes
        return {
            "bytes": sum(r["bytes"] for r in rows) + ws,
            "requests": len(page_rows),
            "network_requests": len(network),
            "page_bytes": sum(r["bytes"] for r in page_rows),
            "service_worker_bytes": sum(r["bytes"] for r in rows if r["by"] != "page"),
            "websocket_frame_bytes": ws,
            "detail": sorted(rows, key=lambda r: (r["by"], -r["bytes"])),
        }


def sign_in(context) -> None:
    html = context.request.get("/accounts/sign-in").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = context.request.post("/accounts/sign-in", max_redirects=0, form={
        "email": EMAIL, "password": PASSWORD, "csrf_token": token})
    assert response.status in (302, 303), response.status


def visit(page, until_shell_cached: bool = False):
    def go():
        page.goto("/home", wait_until="load")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/home"), page.url
        if until_shell_cached:
            page.evaluate("async () => { await navigator.serviceWorker.ready; }")
            page.wait_for_function("""async () => {
                for (const name of await caches.keys()) {
                    const keys = await (await caches.open(name)).keys();
                    const bundles = keys.filter(r => r.url.includes('/static/bundle.js'));
                    if (bundles.length >= 2) return true;
                }
                return false;
            }""", polling=200)
    return go


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "live").prepare(seed=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=PHONE, base_url=server.url,
                                              locale="en-GB", timezone_id="Europe/Paris")
                sign_in(context)
                page = context.new_page()
                meter = Meter(browser, context, page, server.url)
                # The first visit includes the worker installing and caching the shell.
                first = meter.measure(visit(page, until_shell_cached=True))
                repeat = meter.measure(visit(page))
                controlled = page.evaluate("navigator.serviceWorker.controller !== null")
                browser.close()
        finally:
            server.stop()
    result = {
        "page": "/home (demo patient)",
        "viewport": f"{PHONE['width']}x{PHONE['height']}",
        "first_visit": first,
        "repeat_visit": {**repeat, "controlled_by_service_worker": controlled},
        "budget": BUDGET,
        "within_budget": {
            "first_visit_bytes": first["bytes"] <= BUDGET["first_visit_bytes"],
            "first_visit_requests": first["requests"] <= BUDGET["first_visit_requests"],
            "repeat_visit_bytes": repeat["bytes"] <= BUDGET["repeat_visit_bytes"],
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
