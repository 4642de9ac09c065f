"""The authorization matrix (see tests/security/matrix/__init__.py for how to add entries).

1. Every route in app.url_map and every Socket.IO handler has an entry (or a reasoned Skip).
2. No entry names a route or event that does not exist (stale entries hide nothing).
3. Each domain's routes and events answer every role exactly as declared.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from tests.security import matrix as m

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def domain_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(m.__path__))


def load(domain: str):
    module = importlib.import_module(f"tests.security.matrix.{domain}")
    return getattr(module, "ROUTES", {}), getattr(module, "EVENTS", {})


def file_for_endpoint(endpoint: str) -> str:
    domain = endpoint.split(".", 1)[0] if "." in endpoint else "core"
    return f"tests/security/matrix/{domain}.py"


def file_for_namespace(namespace: str) -> str:
    domain = namespace.strip("/") or "core"
    return f"tests/security/matrix/{domain}.py"


def routes_of(declared) -> list[tuple[str, m.Route | m.Skip]]:
    out = []
    for endpoint, entries in declared.items():
        for entry in entries if isinstance(entries, list | tuple) else [entries]:
            out.append((endpoint, entry))
    return out


def all_declared():
    routes: dict[tuple[str, str], tuple[str, object]] = {}
    endpoints_skipped: dict[str, str] = {}
    events: dict[tuple[str, str], tuple[str, object]] = {}
    for domain in domain_names():
        declared_routes, declared_events = load(domain)
        for endpoint, entry in routes_of(declared_routes):
            if isinstance(entry, m.Skip):
                endpoints_skipped[endpoint] = domain
            else:
                key = (endpoint, entry.method)
                assert key not in routes, f"{key} declared twice ({routes[key][0]}, {domain})"
                routes[key] = (domain, entry)
        for key, entry in declared_events.items():
            assert key not in events, f"event {key} declared twice"
            events[key] = (domain, entry)
    return routes, endpoints_skipped, events


def registered_routes(app) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            out.append((rule.endpoint, method, rule.rule))
    return out


def registered_events() -> set[tuple[str, str]]:
    from webapp.extensions import socketio

    server = socketio.server
    found = set()
    for namespace, handlers in (server.handlers or {}).items():
        for event in handlers:
            found.add((namespace, event))
    for namespace, handler in (getattr(server, "namespace_handlers", None) or {}).items():
        for name in dir(handler):
            if name.startswith("on_") and callable(getattr(handler, name)):
                found.add((namespace, name[3:]))
    return found


# ---- 1 and 2: coverage ---------------------------------------------------------------------

def test_every_route_has_an_entry(app):
    declared, skipped, _ = all_declared()
    missing = [
        f"  {method:6} {rule}  (endpoint {endpoint!r}) -> add it to {file_for_endpoint(endpoint)}"
        for endpoint, method, rule in registered_routes(app)
        if (endpoint, method) not in declared and endpoint not in skipped
    ]
    assert not missing, "routes without an authorization-matrix entry:\n" + "\n".join(missing)


def test_every_socket_event_has_an_entry(app):
    _, _, declared = all_declared()
    missing = [
        f"  {namespace} {event!r} -> add ({namespace!r}, {event!r}) to EVENTS in "
        f"{file_for_namespace(namespace)}"
        for namespace, event in sorted(registered_events()) if (namespace, event) not in declared
    ]
    assert not missing, "Socket.IO events without a matrix entry:\n" + "\n".join(missing)


def test_no_entry_for_a_route_or_event_that_does_not_exist(app):
    declared, skipped, events = all_declared()
    existing = {(e, meth) for e, meth, _ in registered_routes(app)}
    endpoints = {e for e, _, _ in registered_routes(app)}
    stale = [f"  {meth} {e} (in {d}.py)" for (e, meth), (d, _) in declared.items()
             if (e, meth) not in existing]
    stale += [f"  skip {e} (in {d}.py)" for e, d in skipped.items() if e not in endpoints]
    live_events = registered_events()
    stale += [f"  event {k} (in {d}.py)" for k, (d, _) in events.items() if k not in live_events]
    assert not stale, "matrix entries for things that do not exist:\n" + "\n".join(stale)


def test_the_framework_catches_a_wrong_answer(app):
    """The matrix must be able to fail: a route declared owner-only that is open is caught."""

    class Response:
        def __init__(self, code, location=""):
            self.status_code, self.headers = code, {"Location": location}

    owner_only = m.expect.owner_only()
    assert owner_only(m.OWNER).matches_response(Response(200))
    assert not owner_only(m.RELATIVE_ALL).matches_response(Response(200))
    assert owner_only(m.ANONYMOUS).matches_response(Response(302, "/accounts/sign-in?next=/x"))
    assert not m.ALLOW.matches_response(Response(302, "/accounts/sign-in"))
    scope = m.expect.scope("agenda")
    assert scope(m.RELATIVE_ONLY["agenda"]) is m.ALLOW
    assert scope(m.RELATIVE_WITHOUT["agenda"]) == m.DENY
    assert scope(m.RELATIVE_EXPIRED) == m.DENY and scope(m.PRO_BLOCKED) == m.DENY


# ---- 3: every cell -------------------------------------------------------------------------

def _ask_route(app, scenario, endpoint, route, role) -> str | None:
    """None when the answer matches the declaration, else a line describing the mismatch."""
    from webapp.extensions import db

    with app.app_context():
        path = m.resolve(route.path, scenario)
        data = m.resolve(route.data, scenario)
        json = m.resolve(route.json, scenario)
        headers = m.resolve(route.headers, scenario) or {}
        db.session.commit()
        adapter = app.url_map.bind("localhost")
        matched, _args = adapter.match(path.split("?", 1)[0], method=route.method)
        if matched != endpoint:
            return f"  {route.method} {path}: path reaches {matched!r}, not {endpoint!r}"
        db.session.remove()
    cookie = m.disposable_cookie(scenario, role) if route.disposable_actor else None
    client = m.client_for(scenario, role, cookie)
    kwargs = {"method": route.method, "headers": headers}
    if json is not None:
        kwargs["json"] = json
    elif data is not None:
        kwargs["data"] = data
    response = client.open(path, **kwargs)
    expected = route.expect(role)
    if response.status_code >= 500 or not expected.matches_response(response):
        where = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
        return (f"  {route.method:6} {path:45} as {role:26} expected {expected!r:10} "
                f"got {response.status_code} {where}")
    return None


@pytest.mark.parametrize("domain", domain_names())
def test_routes_answer_as_declared(app, domain):
    declared, _ = load(domain)
    cells = [(e, r) for e, r in routes_of(declared) if isinstance(r, m.Route)]
    if not cells:
        return
    scenario = m.build_scenario(app)
    failures = []
    for endpoint, route in cells:
        for role in m.ROLES:
            problem = _ask_route(app, scenario, endpoint, route, role)
            if problem:
                failures.append(problem)
    assert not failures, (f"{len(failures)} cell(s) of tests/security/matrix/{domain}.py "
                          "answer otherwise than declared:\n" + "\n".join(failures))


def _ask_event(app, scenario, namespace, event_name, entry, role) -> str | None:
    from webapp.extensions import db, socketio

    with app.app_context():
        args = m.resolve(entry.args, scenario) or ()
        if not isinstance(args, tuple):
            args = (args,)
        db.session.commit()
        db.session.remove()
    cookie = m.disposable_cookie(scenario, role) if entry.disposable_actor else None
    flask_client = m.client_for(scenario, role, cookie)
    sio = socketio.test_client(app, namespace=namespace, flask_test_client=flask_client)
    try:
        if not sio.is_connected(namespace):
            result = "REFUSED"
        elif event_name == "connect":
            result = "ALLOW"
        else:
            ack = sio.emit(event_name, *args, namespace=namespace, callback=True)
            received = sio.get_received(namespace)
            result = (entry.judge or m.default_judge)(ack, received)
    finally:
        if sio.is_connected(namespace):
            sio.disconnect(namespace=namespace)
    expected = entry.expect(role)
    if not expected.matches_event(result):
        return f"  {namespace} {event_name!r} as {role:26} expected {expected!r} got {result}"
    return None


@pytest.mark.parametrize("domain", domain_names())
def test_events_answer_as_declared(app, domain):
    _, events = load(domain)
    cells = [(k, e) for k, e in events.items() if isinstance(e, m.Event)]
    if not cells:
        return
    scenario = m.build_scenario(app)
    failures = []
    with m.in_process_sockets():
        for (namespace, event_name), entry in cells:
            for role in m.ROLES:
                problem = _ask_event(app, scenario, namespace, event_name, entry, role)
                if problem:
                    failures.append(problem)
    assert not failures, (f"{len(failures)} event cell(s) of tests/security/matrix/{domain}.py "
                          "answer otherwise than declared:\n" + "\n".join(failures))
