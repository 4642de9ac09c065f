"""send()/send_many() against a real local push service that verifies VAPID and decrypts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.push.push_endpoint import PushEndpoint
from webapp.errors import UserError
from webapp.extensions import db
from webapp.push import services, vapid
from webapp.push.models import PushSubscription

HEALTH_WORDS = ("Doliprane", "Cardiology", "Dr Lefèvre", "insulin")


@pytest.fixture
def patient(make_user, app_ctx):
    user = make_user("patient", language="en")
    return db.session.merge(user)


@pytest.fixture(autouse=True)
def _fast_retries(app):
    saved = {k: app.config[k] for k in ("PUSH_RETRY_BASE_SECONDS", "PUSH_MAX_ATTEMPTS")}
    app.config.update(PUSH_RETRY_BASE_SECONDS=0.01, PUSH_MAX_ATTEMPTS=3)
    yield
    app.config.update(saved)


def subscribed(user, endpoint: PushEndpoint):
    sub = endpoint.subscription(application_server_key=vapid.application_server_key())
    services.subscribe(user, sub.info(), "Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile")
    return sub


def count_subscriptions() -> int:
    return db.session.scalar(select(func.count()).select_from(PushSubscription))


# ---- subscribe: validation ---------------------------------------------------------------

def test_subscribe_stores_one_device_per_endpoint(patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    again = services.subscribe(patient, sub.info(), "Mozilla/5.0 (iPhone) Safari/604.1")
    assert count_subscriptions() == 1
    assert again.label == "Safari on iPhone"
    other = subscribed(patient, push_endpoint)
    assert [d.endpoint for d in services.devices(patient)] == [sub.endpoint, other.endpoint]
    assert services.has_subscription(patient)


def test_an_endpoint_moves_to_whoever_signed_in_last(patient, make_user, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    daughter = db.session.merge(make_user("relative"))
    services.subscribe(daughter, sub.info())
    assert not services.has_subscription(patient)
    assert services.has_subscription(daughter)


def test_a_leaked_endpoint_alone_does_not_move_a_device(patient, make_user, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    stranger = db.session.merge(make_user("relative"))
    forged = push_endpoint.subscription().info()
    forged["endpoint"] = sub.endpoint
    with pytest.raises(UserError):
        services.subscribe(stranger, forged)
    db.session.rollback()
    assert services.has_subscription(patient) and not services.has_subscription(stranger)


def _valid(endpoint: PushEndpoint) -> dict:
    return endpoint.subscription().info()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(endpoint="http://fcm.googleapis.com/fcm/send/abc"), "invalid"),
    (lambda d: d.update(endpoint="https://evil.example.com/push/1"), "not supported"),
    (lambda d: d.update(endpoint="https://fcm.googleapis.com.evil.example/x"), "not supported"),
    (lambda d: d.update(endpoint="https://user:pw@fcm.googleapis.com/x"), "invalid"),
    (lambda d: d.update(endpoint="ftp://127.0.0.1/x"), "invalid"),
    (lambda d: d.update(endpoint="https://fcm.googleapis.com/" + "a" * 2100), "invalid"),
    (lambda d: d.update(endpoint=""), "invalid"),
    (lambda d: d.update(endpoint=42), "invalid"),
    (lambda d: d.pop("endpoint"), "invalid"),
    (lambda d: d.pop("keys"), "invalid"),
    (lambda d: d["keys"].update(p256dh=d["keys"]["p256dh"][:-4]), "invalid"),
    (lambda d: d["keys"].update(p256dh="A" + d["keys"]["p256dh"][1:]), "invalid"),  # not 0x04
    (lambda d: d["keys"].update(p256dh=vapid.b64url(b"\x04" + b"\x01" * 64)), "invalid"),
    (lambda d: d["keys"].update(auth=vapid.b64url(b"x" * 15)), "invalid"),
    (lambda d: d["keys"].update(auth=vapid.b64url(b"x" * 17)), "invalid"),
    (lambda d: d["keys"].update(auth="***not base64***"), "invalid"),
    (lambda d: d["keys"].update(auth=None), "invalid"),
    (lambda d: d.update(keys=["p256dh", "auth"]), "invalid"),
])
def test_malformed_subscriptions_are_refused_and_nothing_is_stored(patient, push_endpoint,
                                                                   mutate, message):
    data = _valid(push_endpoint)
    mutate(data)
    with pytest.raises(UserError) as refused:
        services.subscribe(patient, data)
    assert message in refused.value.message
    assert count_subscriptions() == 0


def test_local_http_endpoints_only_when_allowed(app, patient, push_endpoint):
    app.config.update(TESTING=False, PUSH_ALLOW_LOCAL_HTTP=False)
    try:
        with pytest.raises(UserError):
            services.subscribe(patient, _valid(push_endpoint))
    finally:
        app.config.update(TESTING=True, PUSH_ALLOW_LOCAL_HTTP=True)
    assert count_subscriptions() == 0
    services.subscribe(patient, _valid(push_endpoint))
    assert count_subscriptions() == 1


def test_a_real_push_service_endpoint_is_accepted(patient, push_endpoint):
    data = _valid(push_endpoint)
    data["endpoint"] = "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH"
    assert services.subscribe(patient, data).endpoint == data["endpoint"]


def test_device_count_is_bounded(patient, push_endpoint):
    for _ in range(services.MAX_DEVICES):
        services.subscribe(patient, _valid(push_endpoint))
    with pytest.raises(UserError):
        services.subscribe(patient, _valid(push_endpoint))
    assert count_subscriptions() == services.MAX_DEVICES


# ---- send: what goes on the wire ---------------------------------------------------------

def test_send_delivers_the_exact_payload_with_vapid_ttl_urgency_and_topic(patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    payload = {"title": "T", "body": "B", "url": "/chat/1", "tag": "c1", "kind": "message",
               "actions": [], "data": {"conversation": 1}}
    assert services.send(patient, payload, ttl=3600, urgency="high", topic="chat-1") == 1
    [delivery] = push_endpoint.for_subscription(sub)
    assert delivery.payload == payload
    assert delivery.ttl == 3600
    assert delivery.urgency == "high"
    assert delivery.topic == "chat-1"
    assert delivery.headers["content-encoding"] == "aes128gcm"
    assert delivery.claims["aud"] == push_endpoint.origin
    assert delivery.claims["sub"] == "mailto:admin@healthspace.example"
    assert push_endpoint.errors == []
    stored = db.session.scalar(select(PushSubscription))
    db.session.refresh(stored)
    assert stored.last_success_at is not None


def test_ttl_zero_is_sent_as_asked_and_long_topics_are_hashed(patient, push_endpoint):
    subscribed(patient, push_endpoint)
    services.send(patient, {"title": "x"}, ttl=0, topic="reminder:42:2026-03-29T08:00")
    [delivery] = push_endpoint.received
    assert delivery.ttl == 0
    assert len(delivery.topic) == 32 and ":" not in delivery.topic
    assert push_endpoint.errors == []


def test_each_send_signs_fresh_claims_for_its_own_push_service(patient):
    # webpush() writes aud/exp into the claims dict: a shared dict would carry the first
    # service's aud to the second one, which would refuse it.
    with PushEndpoint() as first, PushEndpoint() as second:
        subscribed(patient, first)
        subscribed(patient, second)
        assert services.send(patient, {"title": "x"}, ttl=60) == 2
        assert services.send(patient, {"title": "y"}, ttl=60) == 2
        assert [d.claims["aud"] for d in first.received] == [first.origin] * 2
        assert [d.claims["aud"] for d in second.received] == [second.origin] * 2
        assert first.errors == second.errors == []


def test_one_signed_token_per_push_service_is_reused(patient, push_endpoint):
    subscribed(patient, push_endpoint)
    services.send(patient, {"title": "x"}, ttl=60)
    services.send(patient, {"title": "y"}, ttl=60)
    first, second = push_endpoint.received
    assert first.headers["authorization"] == second.headers["authorization"]
    assert first.claims["exp"] - services.VAPID_TOKEN_SECONDS <= first.at
    assert push_endpoint.errors == []


def test_sends_to_every_device_of_the_user_only(patient, make_user, push_endpoint):
    a, b = subscribed(patient, push_endpoint), subscribed(patient, push_endpoint)
    other = db.session.merge(make_user("patient"))
    c = subscribed(other, push_endpoint)
    assert services.send(patient, {"title": "x"}, ttl=60) == 2
    assert {d.token for d in push_endpoint.received} == {a.token, b.token}
    assert push_endpoint.for_subscription(c) == []


def test_user_without_device_gets_nothing_and_no_error(patient):
    assert services.send(patient, {"title": "x"}, ttl=60) == 0
    assert services.send(patient.id, {"title": "x"}, ttl=60) == 0


def test_payload_over_4kb_is_refused_and_nothing_is_sent(patient, push_endpoint, caplog):
    subscribed(patient, push_endpoint)
    big = {"title": "x", "body": "é" * 2100}  # 4200 bytes of UTF-8
    assert services.send(patient, big, ttl=60) == 0
    assert push_endpoint.requests == []
    assert "over the" in caplog.text
    largest = {"title": "x", "body": "a" * (services.MAX_PAYLOAD_BYTES - 23)}
    assert len(services.encode_payload(largest)) == services.MAX_PAYLOAD_BYTES
    with pytest.raises(ValueError):
        services.encode_payload({"title": "x", "body": largest["body"] + "a"})
    assert services.send(patient, largest, ttl=60) == 1
    assert push_endpoint.received[0].encrypted_size <= 4096
    assert push_endpoint.errors == []


@pytest.mark.parametrize("kwargs", [
    {"ttl": -1}, {"ttl": "60"}, {"ttl": services.MAX_TTL + 1}, {"ttl": True},
    {"ttl": 60, "urgency": "urgent"}, {"ttl": 60, "topic": ""},
])
def test_bad_arguments_never_raise_into_the_caller(patient, push_endpoint, kwargs):
    subscribed(patient, push_endpoint)
    assert services.send(patient, {"title": "x"}, **kwargs) == 0
    assert services.send(patient, "not a dict", ttl=60) == 0
    assert push_endpoint.requests == []


# ---- send: what push services answer -----------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_expired_subscriptions_are_deleted(patient, push_endpoint, status):
    dead, alive = subscribed(patient, push_endpoint), subscribed(patient, push_endpoint)
    push_endpoint.gone(dead, status)
    assert services.send(patient, {"title": "x"}, ttl=60) == 1
    db.session.expire_all()
    assert [d.endpoint for d in services.devices(patient)] == [alive.endpoint]
    assert len(push_endpoint.requests_for(dead)) == 1  # not retried


def test_429_and_5xx_are_retried_until_accepted(patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    push_endpoint.respond(sub, 429, 503)
    [result] = services.send_many([services.PushJob(user=patient, payload={"title": "x"},
                                                    ttl=60)])
    assert result.accepted == 1
    assert [r.status for r in push_endpoint.requests_for(sub)] == [429, 503, 201]
    assert result.outcomes[0].attempts == 3
    assert len(push_endpoint.received) == 1


def test_retry_after_is_honoured(patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    push_endpoint.respond(sub, (429, {"Retry-After": "1"}))
    assert services.send(patient, {"title": "x"}, ttl=60) == 1
    first, second = push_endpoint.requests_for(sub)
    assert (first.status, second.status) == (429, 201)
    assert second.at - first.at >= 1.0  # waited as asked (a lower bound, not a timing)


def test_retries_are_bounded_and_report_when_to_come_back(app, patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    push_endpoint.respond(sub, 500, 500, 500, 500)
    [result] = services.send_many([services.PushJob(user=patient, payload={"title": "x"},
                                                    ttl=60, key="r1")])
    assert result.accepted == 0 and result.key == "r1"
    assert [r.status for r in push_endpoint.requests_for(sub)] == [500, 500, 500]
    assert result.outcomes[0].status == "retry_later"
    # A Retry-After beyond the bound is not slept through: the caller reschedules.
    push_endpoint.respond(sub, (429, {"Retry-After": "3600"}))
    [result] = services.send_many([services.PushJob(user=patient, payload={"title": "x"},
                                                    ttl=60)])
    assert result.accepted == 0 and result.retry_after == 3600
    db.session.expire_all()
    assert services.has_subscription(patient)  # a busy service is no reason to forget a device
    stored = db.session.scalar(select(PushSubscription))
    assert stored.failure_count == 2 and stored.last_failure_at is not None


def test_other_client_errors_are_not_retried_nor_deleted(patient, push_endpoint):
    sub = subscribed(patient, push_endpoint)
    push_endpoint.respond(sub, 400)
    assert services.send(patient, {"title": "x"}, ttl=60) == 0
    assert len(push_endpoint.requests_for(sub)) == 1
    assert services.has_subscription(patient)


def test_an_unreachable_push_service_never_raises(patient):
    endpoint = PushEndpoint().start()
    sub = subscribed(patient, endpoint)
    endpoint.stop()  # connection refused from now on
    [result] = services.send_many([services.PushJob(user=patient, payload={"title": "x"},
                                                    ttl=60)])
    assert result.accepted == 0
    assert result.outcomes[0].status == "retry_later"
    assert result.outcomes[0].error == "ConnectionError"
    # The device is kept for next time.
    assert db.session.scalar(select(PushSubscription.endpoint)) == sub.endpoint


def test_a_subscription_bound_to_another_key_is_refused_by_the_service(patient, push_endpoint):
    # What happens after a VAPID key change: the push service answers 403.
    sub = push_endpoint.subscription(application_server_key=vapid.b64url(b"\x04" + b"\x02" * 64))
    services.subscribe(patient, sub.info())
    assert services.send(patient, {"title": "x"}, ttl=60) == 0
    assert push_endpoint.errors and push_endpoint.errors[0].startswith("403")


# ---- send_many ---------------------------------------------------------------------------

def test_send_many_delivers_each_job_once_with_bounded_concurrency(make_user, app_ctx,
                                                                  push_endpoint):
    users = [db.session.merge(make_user("patient")) for _ in range(30)]
    subs = {u.id: subscribed(u, push_endpoint) for u in users}
    dead = users[3]
    push_endpoint.gone(subs[dead.id])
    jobs = [services.PushJob(user=u.id, payload={"title": "x", "data": {"n": i}}, ttl=600,
                             urgency="high", key=i) for i, u in enumerate(users)]
    results = services.send_many(jobs, concurrency=4)
    assert [r.key for r in results] == list(range(30))
    assert [r.accepted for r in results] == [0 if u is dead else 1 for u in users]
    assert sorted(d.payload["data"]["n"] for d in push_endpoint.received) == \
        [i for i in range(30) if i != 3]
    assert push_endpoint.errors == []
    db.session.expire_all()
    assert not services.has_subscription(dead)


def test_send_many_reports_refused_jobs_without_stopping_the_others(patient, push_endpoint):
    subscribed(patient, push_endpoint)
    results = services.send_many([
        services.PushJob(user=patient, payload={"title": "x" * 5000}, ttl=60, key="big"),
        services.PushJob(user=patient, payload={"title": "ok"}, ttl=60, key="ok"),
    ])
    assert results[0].error and results[0].accepted == 0
    assert results[1].accepted == 1
    assert [d.payload for d in push_endpoint.received] == [{"title": "ok"}]


# ---- payloads: no health detail unless chosen --------------------------------------------

def _health_payload(user, kind="medication"):
    return services.notification(
        user, kind=kind, url="/agenda/reminders/3", tag="reminder-3",
        title="Doliprane 1 g", body="08:00 · Cardiology with Dr Lefèvre",
        actions=[("taken", "Taken")], data={"action_url": "/agenda/actions", "token": "t"})


@pytest.mark.parametrize("kind, title", [
    ("medication", "You have a reminder"), ("reminder", "You have a reminder"),
    ("appointment", "You have a reminder"), ("message", "New secure message"),
])
def test_by_default_payloads_carry_no_health_text(patient, push_endpoint, kind, title):
    subscribed(patient, push_endpoint)
    assert not services.shows_details(patient)
    services.send(patient, _health_payload(patient, kind), ttl=3600)
    [delivery] = push_endpoint.received
    assert delivery.payload["title"] == title
    assert delivery.payload["kind"] == kind
    assert delivery.payload["url"] == "/agenda/reminders/3"
    for word in HEALTH_WORDS:
        assert word not in delivery.text


def test_with_details_on_the_title_and_body_go_out(patient, push_endpoint):
    subscribed(patient, push_endpoint)
    services.set_show_details(patient, True)
    services.send(patient, _health_payload(patient), ttl=3600)
    assert push_endpoint.received[0].payload == {
        "title": "Doliprane 1 g", "body": "08:00 · Cardiology with Dr Lefèvre",
        "url": "/agenda/reminders/3", "tag": "reminder-3", "kind": "medication",
        "actions": [{"action": "taken", "title": "Taken"}],
        "data": {"action_url": "/agenda/actions", "token": "t"},
    }
    assert services.users_showing_details([patient.id, 999]) == {patient.id}


def test_generic_text_is_in_the_users_language(make_user, app_ctx, push_endpoint):
    french = db.session.merge(make_user("patient", language="fr"))
    subscribed(french, push_endpoint)
    services.send(french, _health_payload(french, "message"), ttl=60)
    payload = push_endpoint.received[0].payload
    assert payload["title"] == "Nouveau message sécurisé"
    assert "Doliprane" not in json.dumps(payload)
