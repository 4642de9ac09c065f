"""The authorization matrix: every route and every Socket.IO event, asked by every role.

tests/security/test_matrix.py enumerates `app.url_map` (every endpoint and method but HEAD and
OPTIONS, `static` excepted) and every handler registered on `socketio.server` (all namespaces,
function and class-based), and fails when one has no entry here, naming the file to add it to.
Then, for each domain file, it builds ONE scenario (the users and grants below, signed in once)
and asks every declared route/event as every role, comparing the answer with the declaration.

How a domain adds its entries: create tests/security/matrix/<domain>.py (the blueprint name,
e.g. chat.py) with two dicts, ROUTES and EVENTS:

    from tests.security.matrix import ALLOW, DENY, NOT_FOUND, SIGN_IN, Event, Route, Skip, expect

    ROUTES = {
        # endpoint -> one Route per method (a list when the endpoint has several)
        "chat.index": Route("GET", "/chat/", expect.signed_in()),
        "chat.conversation": Route(
            "GET", lambda s: f"/chat/{s.once('conversation', make_conversation).id}",
            expect.scope("messages", denied=NOT_FOUND)),
        "chat.post_message": Route(
            "POST", lambda s: f"/chat/{s.once('conversation', make_conversation).id}/messages",
            expect.scope("messages"), data=lambda s: {"body": "hi", "client_id": s.uid()}),
        "push.action": Route("POST", "/push/action", expect.public(ok=400), json={}),
        "core.sw": Skip("served to everyone, no data"),          # only with a real reason
    }
    EVENTS = {
        ("/chat", "connect"): Event(expect.signed_in(ok=ALLOW, anonymous=REFUSED)),
        ("/chat", "join"): Event(expect.scope("messages", ok=ALLOW, denied=DENY),
                                 args=lambda s: ({"conversation_id": ...},)),
    }

Paths, data, json and event args may be values or callables taking the Scenario `s`. A callable
is called once per cell (role), inside an app context, and whatever it adds to the database is
committed before the request: use that to give each cell a disposable target for routes that
change state (e.g. `s.disposable_grant()` for "revoke"), and `s.once(key, builder)` for objects
shared by all cells (built once per scenario: `builder(s)` returns the object).

The Scenario (built once per domain file, see ROLES):
    s.owner            the patient whose space everything is about
    s.user(role)       the User playing `role` (a detached instance: read ids, not relationships)
    s.other_patient, s.admin ... shortcuts for the same
    s.once(key, fn)    memoised shared object;  s.uid()  a unique string
    s.disposable_grant(role="relative")  a fresh grant from the owner, to revoke or change
    s.new_user(role)   a fresh committed user

Expectations (`expect.*`) map each role to an outcome. Outcomes:
    ALLOW     any answer below 400 that is not a redirect to the sign-in page (or, for an event,
              an acknowledgement {"ok": true})
    DENY      403 (for an event: an acknowledgement that is not ok, or no acknowledgement)
    NOT_FOUND 404;  SIGN_IN  a redirect to /accounts/sign-in;  REFUSED  a refused socket
    an int    exactly that status;  AnyOf(a, b) either
Helpers: expect.public(), expect.signed_in(), expect.owner_only(), expect.scope(scope),
expect.roles({...}, default=DENY), each with ok=/denied=/anonymous= and `.but(role=outcome)`.
For events pass ok=ALLOW, denied=DENY, anonymous=REFUSED.

Event judging: the framework connects a Socket.IO test client with the role's session cookie
(refused connection -> REFUSED), emits with an acknowledgement, and passes (ack, received) to
`judge` (default: ALLOW when ack is a dict with ok true, else DENY). Give Event(judge=...)
when your handler answers otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# ---- Roles -------------------------------------------------------------------------------

SCOPES = ("messages", "agenda", "documents", "summary")

OWNER = "owner"
OTHER_PATIENT = "other_patient"
RELATIVE_ALL = "relative_all"
RELATIVE_ONLY = {s: f"relative_only_{s}" for s in SCOPES}
RELATIVE_WITHOUT = {s: f"relative_without_{s}" for s in SCOPES}
RELATIVE_EXPIRED = "relative_expired"
RELATIVE_REVOKED = "relative_revoked"
PRO_GRANTED = "pro_granted"
PRO_NO_GRANT = "pro_no_grant"
PRO_BLOCKED = "pro_blocked"
ADMIN = "admin"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RoleSpec:
    account: str | None                 # accounts role, None for anonymous
    scopes: frozenset[str] = frozenset()  # grant from the owner (empty: no grant)
    state: str = "active"               # active / expired / revoked
    blocked: bool = False


ALL = frozenset(SCOPES)
ROLES: dict[str, RoleSpec] = {
    OWNER: RoleSpec("patient"),
    OTHER_PATIENT: RoleSpec("patient"),
    RELATIVE_ALL: RoleSpec("relative", ALL),
    **{RELATIVE_ONLY[s]: RoleSpec("relative", frozenset({s})) for s in SCOPES},
    **{RELATIVE_WITHOUT[s]: RoleSpec("relative", ALL - {s}) for s in SCOPES},
    RELATIVE_EXPIRED: RoleSpec("relative", ALL, state="expired"),
    RELATIVE_REVOKED: RoleSpec("relative", ALL, state="revoked"),
    PRO_GRANTED: RoleSpec("professional", ALL),
    PRO_NO_GRANT: RoleSpec("professional"),
    PRO_BLOCKED: RoleSpec("professional", ALL, blocked=True),
    ADMIN: RoleSpec("admin"),
    ANONYMOUS: RoleSpec(None),
}


def scope_holders(scope: str) -> set[str]:
    """Roles that reach `scope` of the owner's data (the owner included)."""
    return {OWNER} | {name for name, spec in ROLES.items()
                      if scope in spec.scopes and spec.state == "active" and not spec.blocked}


# ---- Outcomes ----------------------------------------------------------------------------

class Outcome:
    label = "?"

    def matches_response(self, response) -> bool:
        raise NotImplementedError

    def matches_event(self, result: str) -> bool:
        return result == self.label

    def __repr__(self) -> str:
        return self.label


def _to_sign_in(response) -> bool:
    return response.status_code in (301, 302, 303, 307) and \
        "/accounts/sign-in" in response.headers.get("Location", "")


class _Allow(Outcome):
    label = "ALLOW"

    def matches_response(self, response) -> bool:
        if response.status_code == 204 and "/accounts/sign-in" in \
                response.headers.get("HX-Redirect", ""):
            return False
        return response.status_code < 400 and not _to_sign_in(response)


class _SignIn(Outcome):
    label = "SIGN_IN"

    def matches_response(self, response) -> bool:
        return _to_sign_in(response) or response.status_code == 401


class _Refused(Outcome):
    label = "REFUSED"

    def matches_response(self, response) -> bool:
        return False


class Status(Outcome):
    def __init__(self, code: int):
        self.code = code
        self.label = str(code)

    def matches_response(self, response) -> bool:
        return response.status_code == self.code

    def matches_event(self, result: str) -> bool:
        return (self.code == 403 and result == "DENY") or result == self.label


class AnyOf(Outcome):
    def __init__(self, *outcomes):
        self.outcomes = [as_outcome(o) for o in outcomes]
        self.label = "|".join(o.label for o in self.outcomes)

    def matches_response(self, response) -> bool:
        return any(o.matches_response(response) for o in self.outcomes)

    def matches_event(self, result: str) -> bool:
        return any(o.matches_event(result) for o in self.outcomes)


ALLOW = _Allow()
SIGN_IN = _SignIn()
REFUSED = _Refused()
DENY = Status(403)
NOT_FOUND = Status(404)


def as_outcome(value) -> Outcome:
    return value if isinstance(value, Outcome) else Status(int(value))


# ---- Expectations ------------------------------------------------------------------------

@dataclass
class Expectation:
    table: dict[str, Outcome]

    def __call__(self, role: str) -> Outcome:
        return self.table[role]

    def but(self, **overrides) -> Expectation:
        table = dict(self.table)
        for role, outcome in overrides.items():
            if role not in ROLES:
                raise KeyError(f"unknown role {role!r}; roles are {sorted(ROLES)}")
            table[role] = as_outcome(outcome)
        return Expectation(table)


class expect:  # noqa: N801 - reads as a verb at the call site
    @staticmethod
    def roles(allowed, ok=ALLOW, default=DENY, anonymous=SIGN_IN) -> Expectation:
        allowed = set(allowed)
        unknown = allowed - set(ROLES)
        if unknown:
            raise KeyError(f"unknown roles {sorted(unknown)}")
        table = {role: as_outcome(ok) if role in allowed else as_outcome(default)
                 for role in ROLES}
        table[ANONYMOUS] = as_outcome(ok) if ANONYMOUS in allowed else as_outcome(anonymous)
        return Expectation(table)

    @staticmethod
    def public(ok=ALLOW) -> Expectation:
        return expect.roles(ROLES, ok=ok)

    @staticmethod
    def signed_in(ok=ALLOW, anonymous=SIGN_IN) -> Expectation:
        return expect.roles(set(ROLES) - {ANONYMOUS}, ok=ok, anonymous=anonymous)

    @staticmethod
    def owner_only(ok=ALLOW, denied=DENY, anonymous=SIGN_IN) -> Expectation:
        return expect.roles({OWNER}, ok=ok, default=denied, anonymous=anonymous)

    @staticmethod
    def scope(scope: str, ok=ALLOW, denied=DENY, anonymous=SIGN_IN) -> Expectation:
        if scope not in SCOPES:
            raise KeyError(f"unknown scope {scope!r}")
        return expect.roles(scope_holders(scope), ok=ok, default=denied, anonymous=anonymous)

    @staticmethod
    def nobody(denied=DENY, anonymous=SIGN_IN) -> Expectation:
        return expect.roles(set(), default=denied, anonymous=anonymous)


# ---- Declarations ------------------------------------------------------------------------

Value = Any  # a value, or a callable(scenario) -> value


@dataclass
class Route:
    method: str
    path: Value
    expect: Expectation
    data: Value = None
    json: Value = None
    headers: Value = None
    # A fresh user per cell for routes that end the actor's sessions (sign out everywhere…).
    disposable_actor: bool = False

    def __post_init__(self):
        self.method = self.method.upper()


@dataclass
class Event:
    expect: Expectation
    args: Value = ()
    judge: Callable[[Any, list], str] | None = None
    disposable_actor: bool = False


@dataclass
class Skip:
    reason: str

    def __post_init__(self):
        if len(self.reason.strip()) < 10:
            raise ValueError("a Skip needs a real reason")


def resolve(value, scenario):
    return value(scenario) if callable(value) else value


def default_judge(ack, received) -> str:
    return "ALLOW" if isinstance(ack, dict) and ack.get("ok") is True else "DENY"


# ---- The scenario ------------------------------------------------------------------------

@dataclass
class Scenario:
    app: Any
    users: dict[str, Any] = field(default_factory=dict)
    cookies: dict[str, str | None] = field(default_factory=dict)
    _once: dict[str, Any] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def user(self, role: str):
        return self.users[role]

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def uid(self) -> str:
        return f"m{next(self._ids)}-{id(self)}"

    def once(self, key: str, builder: Callable[[Scenario], Any]):
        if key not in self._once:
            from webapp.extensions import db

            value = builder(self)
            db.session.commit()
            self._once[key] = value
        return self._once[key]

    def new_user(self, role: str = "patient", **fields):
        from tests import factories

        return factories.user(role=role, **fields)

    def disposable_grant(self, role: str = "relative", scopes=ALL):
        """A fresh active grant from the owner to a new relative/professional."""
        from webapp.circle.models import Grant, format_scopes
        from webapp.extensions import db

        grantee = self.new_user(role)
        grant = Grant(patient_id=self.owner.id, grantee_id=grantee.id,
                      scopes=format_scopes(scopes))
        db.session.add(grant)
        db.session.commit()
        return grant


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def build_user(owner_id: int | None, spec: RoleSpec):
    """Create one user in the situation `spec` describes (grant state, block) and commit."""
    from tests import factories
    from webapp.circle.models import Block, Grant, format_scopes
    from webapp.extensions import db

    user = factories.user(role=spec.account)
    if spec.scopes and owner_id is not None:
        grant = Grant(patient_id=owner_id, grantee_id=user.id, scopes=format_scopes(spec.scopes))
        if spec.state == "expired":
            grant.ends_at = _now() - timedelta(days=1)
        elif spec.state == "revoked":
            grant.revoked_at = _now() - timedelta(hours=1)
        db.session.add(grant)
    if spec.blocked and owner_id is not None:
        db.session.add(Block(patient_id=owner_id, professional_id=user.id))
    db.session.commit()
    db.session.refresh(user)
    return user


def sign_in_cookie(app, user) -> str:
    """Sign in through the real password route; return the session cookie's value."""
    from tests import factories
    from webapp.extensions import limiter

    client = app.test_client()
    response = client.post("/accounts/sign-in",
                           data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code in (302, 303, 204), \
        f"matrix could not sign in {user.email}: {response.status_code}"
    with app.app_context():
        limiter.reset()  # many sign-ins from one address in a row are the test, not an attack
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie after sign-in"
    return cookie.value


def session_cookie(app, user) -> str:
    """The session cookie the real `start_session` produces for this user, without paying a
    password check per role. The owner still signs in for real."""
    from flask import session

    from webapp.accounts import services as accounts
    from webapp.extensions import db

    # The same address and User-Agent as the test client, so Flask-Login's "strong" session
    # protection sees the same identifier.
    environ = app.test_client().environ_base
    with app.test_request_context("/", environ_base=environ):
        accounts.start_session(db.session.merge(user, load=True))
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        db.session.remove()
    return value


def build_scenario(app) -> Scenario:
    from webapp.extensions import db

    scenario = Scenario(app=app)
    with app.app_context():
        owner = build_user(None, ROLES[OWNER])
        scenario.users[OWNER] = owner
        for name, spec in ROLES.items():
            if name in (OWNER, ANONYMOUS):
                continue
            scenario.users[name] = build_user(owner.id, spec)
        for user in scenario.users.values():
            db.session.refresh(user)
            db.session.expunge(user)
    for name, user in scenario.users.items():
        scenario.cookies[name] = (sign_in_cookie(app, user) if name == OWNER
                                  else session_cookie(app, user))
    scenario.cookies[ANONYMOUS] = None
    return scenario


def client_for(scenario: Scenario, role: str, cookie: str | None = None):
    """A fresh test client carrying the role's session (state changes never leak to the next
    cell)."""
    client = scenario.app.test_client()
    value = cookie if cookie is not None else scenario.cookies.get(role)
    if value:
        client.set_cookie("session", value, domain="localhost")
    return client


def disposable_cookie(scenario: Scenario, role: str) -> str | None:
    if role == ANONYMOUS:
        return None
    with scenario.app.app_context():
        from webapp.extensions import db

        user = build_user(scenario.owner.id, ROLES[role])
        db.session.expunge(user)
    return session_cookie(scenario.app, user)


@contextmanager
def in_process_sockets():
    """Socket.IO test clients cannot run over a message queue (the REDIS_URL run): for the
    duration, rooms and emits use an in-process manager, as with one server process. The
    cross-process path is proven by the chat's live-server tests."""
    import socketio as python_socketio

    from webapp.extensions import socketio

    server = socketio.server
    original = server.manager
    if not isinstance(original, python_socketio.PubSubManager):
        yield
        return
    manager = python_socketio.Manager()
    manager.set_server(server)
    manager.initialize()
    server.manager = manager
    try:
        yield
    finally:
        server.manager = original
