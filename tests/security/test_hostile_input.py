"""Hostile input: bad input never gives a 500 and a refusal never changes anything.

The sweep is built from the authorization matrix (tests/security/matrix/): every route it
declares with POST, PUT, PATCH or DELETE, and every Socket.IO event, is sent hostile variants of
its declared valid payload (each field removed, empty, 100,000 characters long, NUL and invalid
UTF-8 bytes, given twice, non-numeric / negative / huge numbers for id-like fields and path ids,
wrong JSON types, a body that is not JSON), with and without `HX-Request: true`. A route a
domain declares tomorrow is swept with no change here.

Each request is made as a role the matrix says is allowed (so it reaches the service, not only
the policy's refusal) and, for routes that need no sign-in, as an anonymous visitor too. For
each answer: status < 500, and when the answer is >= 400 the database is exactly as before
(every table's rows compared). Socket.IO handlers must acknowledge {"ok": false, ...} (or ok
true) without reaching their generic "something went wrong" branch, and store nothing when
they refuse.

One scenario per domain, as test_matrix.py does, shared by that domain's cases (see
`_clean_state` below). A refused request leaves its target and the database as they were, so
the next variant reuses both; after any other answer the declaration is resolved again (a
fresh target where the matrix builds one per cell). Each case deletes the rows it added.

Test ids name the endpoint, method, actor and kind of variant
(`chat.post-POST-owner-huge`, `chat-send_message-wrong-type`); the failure message names the
exact field, value and header, the status and, for an exception, the line in webapp/ where it
arose (with TESTING on, Flask re-raises what would be a 500: it is caught and placed).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from tests.security import matrix as m
from tests.security.test_matrix import domain_names, load, routes_of

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HUGE = "x" * 100_000
HUGE_NUMBER = 10**30
# NUL, a lone surrogate encoded as UTF-8 would encode it (CESU), and bytes that are no UTF-8.
BAD_BYTES = b"a\x00b\xed\xa0\x80c\xff\xfed"
BAD_STRING = "a\x00b\ud800c"  # the same as a JSON string: NUL and a lone surrogate (escaped)
# "²" passes str.isdigit() but int() refuses it.
FORM_NUMBERS = ("abc", "-1", str(HUGE_NUMBER), "²", "NaN")
JSON_NUMBERS = ("abc", -1, HUGE_NUMBER, "²", 1.5)
# In a path, only digits reach a view (the int converter 404s anything else): a huge id.
PATH_NUMBERS = (str(HUGE_NUMBER),)


def show(value) -> str:
    """A short, exact name for a hostile value in a failure message."""
    if value == HUGE:
        return "a 100,000-char string"
    if value in (HUGE_NUMBER, str(HUGE_NUMBER)):
        return "10**30" if value == HUGE_NUMBER else "'10**30' (digits)"
    return repr(value)[:40]


# Field names that carry an id or a number even when the declared value does not show it.
ID_LIKE = re.compile(r"(^|_)ids?$|^(patient|members?|delay|before|after)$")

# No table is exempt from the "a refusal changes nothing" check. Looked at and kept in:
# failed sign-in tries are counted in Flask-Limiter's storage, not in the database
# (webapp/accounts/throttle.py); the access history records accesses that happened, never a
# refused one (webapp/audit.py callers); a WebAuthn challenge is consumed by a refused try
# (webapp/accounts/ceremony.py `_consume`), but only when the session has a pending ceremony,
# which the sweep's sessions never have.


# ---- The database snapshot ---------------------------------------------------------------
#
# Read through the driver's own cursor: thousands of snapshots are taken, and SQLAlchemy's
# per-statement overhead would be most of the run time.

def _table_queries(app) -> list[tuple[str, str, str]]:
    """(table, SELECT every row in primary-key order, SELECT the primary keys)."""
    from webapp.extensions import db

    with app.app_context():
        quote = db.engine.dialect.identifier_preparer.quote
        out = []
        for table in db.metadata.sorted_tables:
            columns = ", ".join(quote(c.name) for c in table.columns)
            keys = ", ".join(quote(c.name) for c in table.primary_key.columns)
            name = quote(table.name)
            out.append((table.name, f"SELECT {columns} FROM {name} ORDER BY {keys}",
                        f"SELECT {keys} FROM {name}"))
        return out


_QUERIES: dict[int, list[tuple[str, str, str]]] = {}


def _read(app, which: int) -> dict[str, list[tuple]]:
    from webapp.extensions import db

    if id(app) not in _QUERIES:
        _QUERIES[id(app)] = _table_queries(app)
    queries = _QUERIES[id(app)]
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            out = {}
            for entry in queries:
                cursor.execute(entry[which])
                out[entry[0]] = [tuple(row) for row in cursor.fetchall()]
            cursor.close()
        finally:
            raw.close()
    return out


def snapshot(app) -> dict[str, list[tuple]]:
    """Every table's rows, in primary-key order: comparing two snapshots compares every
    table's row count and every value (the tables are those of db.metadata.sorted_tables)."""
    return _read(app, 1)


def changes(before: dict, after: dict) -> list[str]:
    """One line per table whose rows differ (count, and a few added/removed rows)."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        if old == new:
            continue
        old_set, new_set = {repr(r) for r in old}, {repr(r) for r in new}
        added = [r[:160] for r in sorted(new_set - old_set)][:2]
        removed = [r[:160] for r in sorted(old_set - new_set)][:2]
        out.append(f"{name}: {len(old)} -> {len(new)} rows; +{added} -{removed}")
    return out


# ---- Where an exception arose ------------------------------------------------------------

def where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/webapp/" in f.filename] or frames
    frame = ours[-1]
    path = frame.filename[frame.filename.find("/webapp/") + 1:] \
        if "/webapp/" in frame.filename else frame.filename
    message = str(exc).replace("\n", " ")[:200]
    return f"{type(exc).__name__}: {message} (at {path}:{frame.lineno} in {frame.name})"


# ---- Payload variants --------------------------------------------------------------------

@dataclass
class Body:
    """What to send: a form (a list of pairs), a JSON value, or raw bytes."""
    form: list[tuple[str, Any]] | None = None
    json: Any = None
    json_set: bool = False
    raw: bytes | None = None
    content_type: str | None = None

    def request_kwargs(self) -> dict:
        if self.raw is not None:
            return {"data": self.raw, "content_type": self.content_type}
        if self.json_set:
            return {"data": json.dumps(self.json).encode(), "content_type": "application/json"}
        if self.form is not None:
            return {"data": MultiDict(self.form)}
        return {}


@dataclass
class Variant:
    label: str
    # (resolved path, resolved payload) -> (path to ask, body to send; None: the declared one)
    build: Callable[[str, Any], tuple[str, Body | None]]


def _is_file(value) -> bool:
    return isinstance(value, tuple | FileStorage) or hasattr(value, "read")


def form_items(data) -> list[tuple[str, Any]]:
    if isinstance(data, MultiDict):
        return list(data.items(multi=True))
    items = data.items() if isinstance(data, dict) else data
    out = []
    for key, value in items:
        values = value if isinstance(value, list) else [value]
        out.extend((key, v) for v in values)
    return out


def _looks_numeric(name: str, value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return True
    if isinstance(value, list) and value:
        return all(_looks_numeric(name, v) for v in value)
    return bool(ID_LIKE.search(name.rsplit(".", 1)[-1].lower()))


def _path_id_positions(path: str) -> list[int]:
    segments = path.split("?", 1)[0].split("/")
    return [i for i, seg in enumerate(segments) if seg.isdigit()]


def _with_segment(path: str, index: int, value: str) -> str:
    base, sep, query = path.partition("?")
    segments = base.split("/")
    segments[index] = value
    return "/".join(segments) + sep + query


def _path_variants(sample_path: str) -> list[Variant]:
    out = []
    for index in _path_id_positions(sample_path):
        for value in PATH_NUMBERS:
            def build(path, payload, index=index, value=value):
                return _with_segment(path, index, value), None  # the declared body
            out.append(Variant(f"path segment {index} = {show(value)}", build))
    return out


# -- forms --

def _form_fields(items) -> list[str]:
    return list(dict.fromkeys(k for k, v in items if not _is_file(v)))


def _set_field(items, key, value) -> list[tuple[str, Any]]:
    out, done = [], False
    for k, v in items:
        if k != key:
            out.append((k, v))
        elif not done:
            out.extend((k, x) for x in (value if isinstance(value, list) else [value]))
            done = True
    return out


def _raw_form(items, key, raw: bytes) -> bytes:
    def enc(v) -> bytes:
        return v if isinstance(v, bytes) else str(v).encode()

    pairs, done = [], False
    for k, v in items:
        if k == key:
            if done:
                continue
            v, done = raw, True
        pairs.append(quote_from_bytes(enc(k)) + "=" + quote_from_bytes(enc(v)))
    return "&".join(pairs).encode()


def form_variants(kind: str, path: str, data) -> list[Variant]:
    items = form_items(data)
    fields = _form_fields(items)
    has_files = any(_is_file(v) for _k, v in items)

    def form(fn):
        return lambda p, d: (p, Body(form=fn(form_items(d))))

    out: list[Variant] = []
    if kind == "missing":
        out.append(Variant("every field missing", form(lambda i: [])))
        for key in dict.fromkeys(k for k, _v in items):
            out.append(Variant(f"{key} missing",
                               form(lambda i, key=key: [(k, v) for k, v in i if k != key])))
    elif kind in ("empty", "huge"):
        value = "" if kind == "empty" else HUGE
        for key in fields:
            out.append(Variant(f"{key} = {kind}",
                               form(lambda i, key=key: _set_field(i, key, value))))
    elif kind == "bad-bytes" and not has_files:
        for key in fields:
            out.append(Variant(f"{key} = {BAD_BYTES!r} (raw form bytes)", lambda p, d, key=key: (
                p, Body(raw=_raw_form(form_items(d), key, BAD_BYTES),
                        content_type="application/x-www-form-urlencoded"))))
    elif kind == "duplicate":
        for key in dict.fromkeys(k for k, _v in items):
            def dup(i, key=key):
                values = [v for k, v in i if k == key]
                return _set_field(i, key, values + values)
            out.append(Variant(f"{key} given twice", form(dup)))
    elif kind == "numbers":
        for key in fields:
            if not any(_looks_numeric(key, v) for k, v in items if k == key):
                continue
            for value in FORM_NUMBERS:
                out.append(Variant(f"{key} = {show(value)}",
                                   form(lambda i, key=key, value=value: _set_field(i, key, value))))
        out += _path_variants(path)
    return out


# -- JSON --

def _json_paths(value, prefix=()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _json_paths(inner, (*prefix, key))


def _json_get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _json_with(doc, path, value=None, remove=False):
    doc = deepcopy(doc)
    parent = _json_get(doc, path[:-1])
    if not isinstance(parent, dict) or path[-1] not in parent:
        return doc
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value(parent[path[-1]]) if callable(value) else value
    return doc


def json_variants(kind: str, path: str, doc) -> list[Variant]:
    paths = list(_json_paths(doc))

    def send(fn):
        return lambda p, d: (p, Body(json=fn(d), json_set=True))

    def name(p):
        return ".".join(map(str, p))

    out: list[Variant] = []
    if kind == "missing":
        out.append(Variant("empty JSON object", send(lambda d: {})))
        for p in paths:
            out.append(Variant(f"{name(p)} missing",
                               send(lambda d, p=p: _json_with(d, p, remove=True))))
    elif kind in ("empty", "huge", "bad-string"):
        value = {"empty": "", "huge": HUGE, "bad-string": BAD_STRING}[kind]
        for p in paths:
            out.append(Variant(f"{name(p)} = {kind} string",
                               send(lambda d, p=p: _json_with(d, p, value))))
    elif kind == "duplicate":
        for p in paths:
            out.append(Variant(f"{name(p)} given twice (a list)",
                               send(lambda d, p=p: _json_with(d, p, lambda v: [v, v]))))
    elif kind == "wrong-type":
        for p in paths:
            for label, value in (("a list", ["x"]), ("an object", {"x": 1}), ("null", None),
                                 ("a number", 7), ("true", True)):
                out.append(Variant(f"{name(p)} = {label}",
                                   send(lambda d, p=p, value=value: _json_with(d, p, value))))
    elif kind == "body-type":
        for label, value in (("a list", []), ("the valid body in a list", None),
                             ("null", None), ("a number", 7), ("a string", "text"),
                             ("true", True)):
            if label == "the valid body in a list":
                out.append(Variant(f"body = {label}", send(lambda d: [d])))
            else:
                out.append(Variant(f"body = {label}", send(lambda d, value=value: value)))
    elif kind == "not-json":
        for raw in (b"{not json", b"\xff\xfe\x00\x00{}", b"", b'{"a": "\\ud800"'):
            out.append(Variant(f"body bytes {raw!r} as application/json",
                               lambda p, d, raw=raw: (p, Body(raw=raw,
                                                              content_type="application/json"))))
    elif kind == "numbers":
        for p in paths:
            if not _looks_numeric(name(p), _json_get(doc, p)):
                continue
            for value in JSON_NUMBERS:
                out.append(Variant(f"{name(p)} = {show(value)}",
                                   send(lambda d, p=p, value=value: _json_with(d, p, value))))
        out += _path_variants(path)
    return out


# -- no declared body --

def bodyless_variants(kind: str, path: str) -> list[Variant]:
    out: list[Variant] = []
    if kind == "junk-body":
        junk = [("id", str(HUGE_NUMBER)), ("patient_id", "-1"), ("text", HUGE),
                ("name", BAD_STRING.replace("\ud800", "")), ("id", "abc")]
        out.append(Variant("unexpected form fields", lambda p, d: (p, Body(form=junk))))
        out.append(Variant(f"raw form bytes {BAD_BYTES!r}", lambda p, d: (p, Body(
            raw=b"a=" + BAD_BYTES + b"&%zz=%&==&" + BAD_BYTES,
            content_type="application/x-www-form-urlencoded"))))
        out.append(Variant("a body that is not JSON, as application/json", lambda p, d: (
            p, Body(raw=b"{not json\xff", content_type="application/json"))))
        out.append(Variant("a JSON list", lambda p, d: (p, Body(json=[HUGE_NUMBER],
                                                                json_set=True))))
    elif kind == "numbers":
        out += _path_variants(path)
    return out


def body_style(route: m.Route) -> str:
    if route.json is not None:
        return "json"
    if route.data is not None:
        return "form"
    return "none"


KINDS = {
    "form": ("missing", "empty", "huge", "bad-bytes", "duplicate", "numbers"),
    "json": ("missing", "empty", "huge", "bad-string", "duplicate", "wrong-type", "body-type",
             "not-json", "numbers"),
    "none": ("junk-body", "numbers"),
}


def variants_for(kind: str, route: m.Route, path: str, data, doc) -> list[Variant]:
    style = body_style(route)
    if style == "form":
        found = form_variants(kind, path, data)
    elif style == "json":
        found = json_variants(kind, path, doc)
    else:
        found = bodyless_variants(kind, path)
    return found


# ---- Who asks ----------------------------------------------------------------------------

PREFERENCE = [m.OWNER, m.PRO_GRANTED, m.RELATIVE_ALL, m.ADMIN, m.OTHER_PATIENT,
              *[r for r in m.ROLES if r not in
                (m.OWNER, m.PRO_GRANTED, m.RELATIVE_ALL, m.ADMIN, m.OTHER_PATIENT, m.ANONYMOUS)]]


def _refusal(outcome) -> bool:
    return outcome is m.SIGN_IN or outcome is m.REFUSED or \
        (isinstance(outcome, m.Status) and outcome.code in (403, 404))


def actors(expectation: m.Expectation) -> list[str]:
    """Who asks: a signed-in role the matrix allows (the first in PREFERENCE), plus the
    anonymous visitor when the route does not send them to sign in (they reach the view too).
    When every role, the visitor included, gets the same refusal (a route that trusts only a
    token it is sent: sign-in, push and agenda actions...), who asks makes no difference:
    the visitor alone asks."""
    table = expectation.table
    answers = set(map(repr, table.values()))
    if len(answers) == 1 and table[m.ANONYMOUS] is not m.ALLOW \
            and table[m.ANONYMOUS] is not m.SIGN_IN:
        return [m.ANONYMOUS]
    chosen = next((r for r in PREFERENCE if not _refusal(table[r])), m.OWNER)
    out = [chosen]
    if table[m.ANONYMOUS] is not m.SIGN_IN and table[m.ANONYMOUS] is not m.REFUSED:
        out.append(m.ANONYMOUS)
    return out


# ---- The cases ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RouteCase:
    domain: str
    endpoint: str
    route: m.Route
    actor: str
    kind: str


def _nothing_to_vary(route: m.Route, kind: str) -> bool:
    """Known before any scenario exists when the declaration is plain values (a callable is
    resolved per cell: such cases skip at run time if they turn out to have nothing)."""
    if any(callable(v) for v in (route.path, route.data, route.json)):
        return False
    return not variants_for(kind, route, route.path, route.data, route.json)


def route_cases() -> list:
    out = []
    for domain in domain_names():
        declared, _events = load(domain)
        for endpoint, route in routes_of(declared):
            if not isinstance(route, m.Route) or route.method not in WRITE_METHODS:
                continue
            for actor in actors(route.expect):
                for kind in KINDS[body_style(route)]:
                    if _nothing_to_vary(route, kind):
                        continue
                    case = RouteCase(domain, endpoint, route, actor, kind)
                    out.append(pytest.param(
                        case, id=f"{endpoint}-{route.method}-{actor}-{kind}"))
    return out


# ---- Shared scenarios --------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _clean_state():
    """Replaces tests/conftest.py's per-test wipe for this module only: building a scenario
    (17 users, their grants, a real sign-in) for each of several hundred cases would take
    minutes, so one scenario per domain lives for the whole module, as in test_matrix.py.
    `scenarios` starts from empty tables and wipes them all when the module ends; each case
    takes back the rows it added (`Baseline`). Every request still compares the whole
    database just before and just after itself."""
    yield


def _wipe(app) -> None:
    from webapp.extensions import db, limiter

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        limiter.reset()


@pytest.fixture(scope="module")
def scenarios(app):
    _wipe(app)
    built: dict[str, m.Scenario] = {}

    def get(domain: str) -> m.Scenario:
        if domain not in built:
            built[domain] = m.build_scenario(app)
        return built[domain]

    yield get
    _wipe(app)


def primary_keys(app) -> dict[str, set]:
    return {name: set(rows) for name, rows in _read(app, 2).items()}


class Baseline:
    """The rows present when a case starts; `take_back()` deletes every row added since
    (fresh targets, what successful variants wrote), so each case starts from its domain's
    scenario and no limit (20 devices a person...) is reached by the cases before it.
    Objects the scenario shares between cells (`s.once`) are kept: when resolving a
    declaration built one, `keep_shared()` moves the baseline past it."""

    def __init__(self, app, scenario: m.Scenario):
        self.app, self.scenario = app, scenario
        self.shared = set(scenario._once)
        self.keys = primary_keys(app)

    def keep_shared(self) -> None:
        if set(self.scenario._once) != self.shared:
            self.shared = set(self.scenario._once)
            self.keys = primary_keys(self.app)

    def take_back(self) -> None:
        take_back_rows(self.app, self.keys)


def take_back_rows(app, base: dict[str, set]) -> None:
    """Delete the rows added since `base`, children first."""
    from webapp.extensions import db

    added = {name: keys - base.get(name, set()) for name, keys in primary_keys(app).items()}
    with app.app_context(), db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            keys = sorted(added[table.name])
            if not keys:
                continue
            columns = list(table.primary_key.columns)
            if len(columns) == 1:
                condition = columns[0].in_([key[0] for key in keys])
            else:
                condition = db.tuple_(*columns).in_(keys)
            conn.execute(table.delete().where(condition))


# ---- Asking a route ----------------------------------------------------------------------

@dataclass
class Target:
    """A route's declaration made concrete (a fresh target where the matrix builds one per
    cell) and the actor's session cookie. A refusal leaves both as they were, so the next
    variant reuses them; anything else may have used them up, and the next variant gets new
    ones."""
    path: str
    data: Any
    doc: Any
    headers: dict
    cookie: str

    @classmethod
    def of(cls, app, scenario, route: m.Route, actor: str) -> Target:
        from webapp.extensions import db

        with app.app_context():
            path = m.resolve(route.path, scenario)  # before the data: some data reads what
            data = m.resolve(route.data, scenario)  # the path's builder made (agenda.snooze)
            doc = m.resolve(route.json, scenario)
            headers = dict(m.resolve(route.headers, scenario) or {})
            db.session.commit()
            db.session.remove()
        if actor == m.ANONYMOUS:
            cookie = ""
        elif route.disposable_actor:
            cookie = m.disposable_cookie(scenario, actor)
        else:
            cookie = _session_of(app, scenario, actor)
        return cls(path, data, doc, headers, cookie)

    def declared_body(self) -> Body:
        if self.doc is not None:
            return Body(json=self.doc, json_set=True)
        return Body(form=form_items(self.data) if self.data is not None else None)


_SESSIONS: dict[tuple[int, str], tuple[str, str]] = {}


def _session_of(app, scenario: m.Scenario, actor: str) -> str:
    """The actor's session cookie, minted again when their session token changed: a variant
    that signed them out must not turn the later ones into sign-in redirects that test
    nothing."""
    from webapp.accounts.models import User
    from webapp.extensions import db

    user = scenario.user(actor)
    with app.app_context():
        token = db.session.scalar(db.select(User.session_token).filter_by(id=user.id))
        db.session.remove()
    known = _SESSIONS.get((id(scenario), actor))
    if known is None or known[0] != token:
        known = (token, m.session_cookie(app, user))
        _SESSIONS[(id(scenario), actor)] = known
    return known[1]


def _ask(app, scenario, case: RouteCase, target: Target, variant: Variant, hx: bool,
         before: dict) -> tuple[str | None, bool]:
    """(a line saying what went wrong, or None; True when the request was refused and changed
    nothing, so the target and `before` still hold)."""
    from webapp.extensions import limiter

    route = case.route
    path, body = variant.build(target.path, target.doc if target.doc is not None
                               else target.data)
    body = body or target.declared_body()
    headers = dict(target.headers)
    if hx:
        headers["HX-Request"] = "true"
    client = m.client_for(scenario, case.actor, target.cookie)
    with app.app_context():
        limiter.reset()  # a sweep from one address is not an attack; refusals must be ours
    label = f"  {route.method} {path[:70]} as {case.actor} [{variant.label}{', HX' if hx else ''}]"
    try:
        response = client.open(path, method=route.method, headers=headers,
                               **body.request_kwargs())
    except Exception as exc:  # noqa: BLE001 - TESTING propagates what would be a 500
        changed = changes(before, snapshot(app))
        return (f"{label}: 500 {where(exc)}"
                + (f"; rows changed: {changed}" if changed else "")), False
    status = response.status_code
    if status >= 500:
        return f"{label}: {status} {response.get_data(as_text=True)[:200]!r}", False
    if status < 400 and not m.ALLOW.matches_response(response) \
            and route.expect(case.actor) is not m.SIGN_IN:
        return f"{label}: {status}, sent to sign in: the actor was not signed in", False
    if status < 400:
        return None, False
    changed = changes(before, snapshot(app))
    if changed:
        return f"{label}: {status} but the database changed: {changed}", False
    return None, True


@pytest.mark.parametrize("case", route_cases())
def test_hostile_route_input(app, scenarios, case: RouteCase):
    scenario = scenarios(case.domain)
    baseline = Baseline(app, scenario)
    before = None
    failures = []
    try:
        target: Target | None = Target.of(app, scenario, case.route, case.actor)
        baseline.keep_shared()
        variants = variants_for(case.kind, case.route, target.path, target.data, target.doc)
        if not variants:
            pytest.skip(f"nothing of kind {case.kind!r} to vary in {case.endpoint}")
        for variant in variants:
            for hx in (False, True):
                if target is None:
                    target = Target.of(app, scenario, case.route, case.actor)
                    before = None
                if before is None:
                    before = snapshot(app)
                problem, unchanged = _ask(app, scenario, case, target, variant, hx, before)
                if problem:
                    failures.append(problem)
                if not unchanged:
                    target = None
    finally:
        baseline.take_back()
    assert not failures, (f"{len(failures)} of {2 * len(variants)} hostile requests to "
                          f"{case.endpoint} went wrong:\n" + "\n".join(failures))


# ---- Socket.IO ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class EventCase:
    domain: str
    namespace: str
    event: str
    entry: m.Event
    kind: str


EVENT_KINDS = ("payload-type", "missing", "wrong-type", "huge", "numbers", "bad-string",
               "arguments")
CONNECT_AUTH = (None, [], "text", 7, HUGE_NUMBER, {"token": HUGE}, {"x": [BAD_STRING]})


def event_cases() -> list:
    out = []
    for domain in domain_names():
        _routes, declared = load(domain)
        for (namespace, event), entry in declared.items():
            if not isinstance(entry, m.Event):
                continue
            kinds = ("auth",) if event == "connect" else EVENT_KINDS
            for kind in kinds:
                out.append(pytest.param(EventCase(domain, namespace, event, entry, kind),
                                        id=f"{namespace.strip('/')}-{event}-{kind}"))
    return out


def event_variants(kind: str, args: tuple) -> list[tuple[str, Callable[[tuple], tuple]]]:
    """(label, args -> hostile args)."""
    doc = args[0] if args and isinstance(args[0], dict) else {}
    keys = list(doc)
    out: list[tuple[str, Callable[[tuple], tuple]]] = []

    def field(key, value):
        return lambda a: ({**a[0], key: value}, *a[1:])

    if kind == "payload-type":
        for label, value in (("None", None), ("a list", []), ("a string", "text"),
                             ("an int", 7), ("a huge int", HUGE_NUMBER), ("true", True),
                             ("a huge string", HUGE), ("an empty dict", {})):
            out.append((f"payload = {label}", lambda a, value=value: (value,)))
        out.append(("payload = the valid dict in a list", lambda a: ([a[0]],)))
    elif kind == "missing":
        for key in keys:
            out.append((f"{key} missing",
                         lambda a, key=key: ({k: v for k, v in a[0].items() if k != key},)))
        out.append(("unexpected extra keys",
                    lambda a: ({**a[0], "author_id": 1, "patient_id": HUGE_NUMBER,
                                "__proto__": {}},)))
    elif kind == "wrong-type":
        for key in keys:
            for label, value in (("None", None), ("a list", [1]), ("a dict", {"id": 1}),
                                 ("a string", "abc"), ("true", True), ("a float", 1.5)):
                out.append((f"{key} = {label}", field(key, value)))
    elif kind == "huge":
        for key in keys:
            for label, value in (("a 100,000-char string", HUGE),
                                 ("a 50-deep list", _deep_list(50))):
                out.append((f"{key} = {label}", field(key, value)))
    elif kind == "numbers":
        for key in keys:
            for label, value in (("10**30", HUGE_NUMBER), ("'10**30' (digits)", str(HUGE_NUMBER)),
                                 ("-1", -1), ("0", 0), ("2**31", 2**31), ("'²'", "²")):
                out.append((f"{key} = {label}", field(key, value)))
    elif kind == "bad-string":
        for key in keys:
            out.append((f"{key} = NUL and a lone surrogate", field(key, BAD_STRING)))
    elif kind == "arguments":
        out.append(("no argument at all", lambda a: ()))
        out.append(("two arguments", lambda a: (*a, {"conversation_id": 1})))
    return out


def _deep_list(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


class _Errors(logging.Handler):
    """Collects the errors the app logs while a handler runs in this thread (a socket
    handler's generic error branch logs the exception instead of raising it)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.thread == self.thread:
            self.records.append(record)


def _judge_ack(ack, errors: _Errors) -> str | None:
    if errors.records:
        record = errors.records[-1]
        exc = record.exc_info[1] if record.exc_info else None
        return f"logged {record.getMessage()!r}: " + (where(exc) if exc else "no traceback")
    if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
        return f"acknowledged {ack!r:.200}, not a dict with ok true/false"
    if isinstance(ack.get("status"), int) and ack["status"] >= 500:
        return f"acknowledged a server error {ack!r:.200}"
    return None


def _actor_cookie(app, scenario, entry: m.Event, actor: str) -> str:
    if entry.disposable_actor:
        return m.disposable_cookie(scenario, actor) or ""
    return _session_of(app, scenario, actor)


def _connect_with_hostile_auth(app, scenario, case: EventCase, actor: str,
                               errors: _Errors) -> list[str]:
    from webapp.extensions import socketio

    failures = []
    for auth in CONNECT_AUTH:
        label = f"  connect {case.namespace} as {actor} [auth = {show(auth)}]"
        client = m.client_for(scenario, actor, _actor_cookie(app, scenario, case.entry, actor))
        try:
            sio = socketio.test_client(app, namespace=case.namespace, auth=auth,
                                       flask_test_client=client)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{label}: raised {where(exc)}")
            continue
        if not sio.is_connected(case.namespace):
            failures.append(f"{label}: refused a signed-in {actor}")
        else:
            sio.disconnect(namespace=case.namespace)
        if errors.records:
            failures.append(f"{label}: {_judge_ack({'ok': True}, errors)}")
            errors.records.clear()
    return failures


def _emit_hostile_payloads(app, scenario, case: EventCase, actor: str, errors: _Errors,
                           baseline: Baseline) -> list[str]:
    from webapp.extensions import db, socketio

    def fresh_args() -> tuple:
        with app.app_context():
            args = m.resolve(case.entry.args, scenario) or ()
            db.session.commit()
            db.session.remove()
        return args if isinstance(args, tuple) else (args,)

    variants = event_variants(case.kind, fresh_args())
    baseline.keep_shared()
    if not variants:
        pytest.skip(f"no payload fields to vary for {case.event}")
    client = m.client_for(scenario, actor, _actor_cookie(app, scenario, case.entry, actor))
    sio = socketio.test_client(app, namespace=case.namespace, flask_test_client=client)
    assert sio.is_connected(case.namespace), f"{actor} could not connect: nothing tested"
    failures = []
    try:
        for label, hostile in variants:
            args = hostile(fresh_args())
            line = f"  {case.namespace} {case.event!r} as {actor} [{label}]"
            before = snapshot(app)
            try:
                ack = sio.emit(case.event, *args, namespace=case.namespace, callback=True)
                sio.get_received(case.namespace)
            except Exception as exc:  # noqa: BLE001 - an exception out of the server
                failures.append(f"{line}: raised {where(exc)}")
                continue
            problem = _judge_ack(ack, errors)
            errors.records.clear()
            if problem:
                failures.append(f"{line}: {problem}")
            elif ack["ok"] is False:
                changed = changes(before, snapshot(app))
                if changed:
                    failures.append(f"{line}: refused but the database changed: {changed}")
            if not sio.is_connected(case.namespace):
                failures.append(f"{line}: the socket was disconnected")
                break
    finally:
        if sio.is_connected(case.namespace):
            sio.disconnect(namespace=case.namespace)
    return failures


@pytest.mark.parametrize("case", event_cases())
def test_hostile_socket_input(app, scenarios, case: EventCase):
    scenario = scenarios(case.domain)
    actor = next(r for r in PREFERENCE if not _refusal(case.entry.expect(r)))
    errors = _Errors()
    logger = logging.getLogger("webapp")
    logger.addHandler(errors)
    baseline = Baseline(app, scenario)
    try:
        with m.in_process_sockets():
            if case.kind == "auth":
                failures = _connect_with_hostile_auth(app, scenario, case, actor, errors)
            else:
                failures = _emit_hostile_payloads(app, scenario, case, actor, errors, baseline)
    finally:
        logger.removeHandler(errors)
        baseline.take_back()
    assert not failures, (f"{len(failures)} hostile payload(s) to {case.namespace} "
                          f"{case.event!r} went wrong:\n" + "\n".join(failures))


# ---- The sweep itself --------------------------------------------------------------------

def test_the_sweep_can_fail(app, scenarios):
    """The snapshot sees one changed value; exceptions are placed; the actor chosen is one the
    matrix allows; variants are what their names say."""
    from webapp.accounts.models import User
    from webapp.extensions import db

    scenario = scenarios("core")
    before = snapshot(app)
    with app.app_context():
        owner = db.session.get(User, scenario.owner.id)
        name, owner.display_name = owner.display_name, "changed"
        db.session.commit()
        assert changes(before, snapshot(app)), "a changed value went unnoticed"
        owner.display_name = name
        db.session.commit()
    assert not changes(before, snapshot(app))
    try:
        int("²")
    except ValueError as exc:
        assert where(exc).startswith("ValueError") and "test_hostile_input.py" in where(exc)

    assert actors(m.expect.owner_only()) == [m.OWNER]
    assert actors(m.expect.roles({m.PRO_GRANTED})) == [m.PRO_GRANTED]
    assert actors(m.expect.public()) == [m.OWNER, m.ANONYMOUS]
    assert actors(m.expect.public(ok=400)) == [m.ANONYMOUS]

    assert _path_id_positions("/a/12/b/3?x=4") == [2, 4]
    assert [v.label for v in form_variants("missing", "/x", {"a": "1"})] == \
        ["every field missing", "a missing"]
    dup = form_variants("duplicate", "/x", {"a": "1", "b": ["x", "y"]})
    assert [v.build("/x", {"a": "1", "b": ["x", "y"]})[1].form for v in dup] == [
        [("a", "1"), ("a", "1"), ("b", "x"), ("b", "y")],
        [("a", "1"), ("b", "x"), ("b", "y"), ("b", "x"), ("b", "y")]]
    raw = form_variants("bad-bytes", "/x", {"a": "1", "b": "2"})[1].build("/x", {"a": "1",
                                                                              "b": "2"})[1]
    assert raw.raw == b"a=1&b=a%00b%ED%A0%80c%FF%FEd"
    numbers = json_variants("numbers", "/y/7", {"patient_id": 3, "note": "hi"})
    assert [v.label for v in numbers] == [
        "patient_id = 'abc'", "patient_id = -1", "patient_id = 10**30", "patient_id = '²'",
        "patient_id = 1.5", "path segment 2 = '10**30' (digits)"]
