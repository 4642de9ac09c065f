"""The test push service itself must be able to fail: each check refuses what it should."""

from __future__ import annotations

import time

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from tests.push.push_endpoint import b64url


@pytest.fixture
def signer():
    return Vapid(private_key=ec.generate_private_key(ec.SECP256R1()))


def _send(sub, signer, claims=None, **kwargs):
    claims = {"sub": "mailto:ops@example.org", **(claims or {})}
    kwargs.setdefault("ttl", 60)
    return webpush(sub.info(), data=b'{"title":"x"}', vapid_private_key=signer,
                   vapid_claims=claims, **kwargs)


def test_a_well_formed_push_is_accepted_and_decrypted(push_endpoint, signer):
    sub = push_endpoint.subscription()
    assert _send(sub, signer, headers={"Urgency": "low"}).status_code == 201
    [delivery] = push_endpoint.received
    assert delivery.payload == {"title": "x"} and delivery.urgency == "low"
    assert push_endpoint.errors == []


@pytest.mark.parametrize("claims, reason", [
    ({"aud": "http://127.0.0.1:1"}, "aud"),
    ({"exp": int(time.time()) + 25 * 3600}, "exp"),
    ({"sub": "ops@example.org"}, "sub"),
])
def test_bad_claims_are_refused(push_endpoint, signer, claims, reason):
    sub = push_endpoint.subscription()
    if reason == "sub":  # py_vapid itself refuses a bad sub: sign it without its check
        signer.conf["no-strict"] = True
    with pytest.raises(WebPushException) as refused:
        _send(sub, signer, claims)
    assert refused.value.status_code == 401
    assert reason in push_endpoint.errors[0]
    assert push_endpoint.received == []


def test_an_expired_token_is_refused(push_endpoint, signer):
    sub = push_endpoint.subscription()
    claims = {"sub": "mailto:ops@example.org", "aud": push_endpoint.origin,
              "exp": int(time.time()) - 10}
    headers = signer.sign(claims)
    body = http_ece.encrypt(b"x", private_key=ec.generate_private_key(ec.SECP256R1()),
                            dh=sub.private_key.public_key(), auth_secret=sub.auth_secret,
                            version="aes128gcm")
    response = requests.post(sub.endpoint, data=body, headers={
        **headers, "TTL": "60", "Content-Encoding": "aes128gcm"}, timeout=5)
    assert response.status_code == 401 and "exp" in response.text


def test_a_forged_signature_is_refused(push_endpoint, signer):
    sub = push_endpoint.subscription()
    other = Vapid(private_key=ec.generate_private_key(ec.SECP256R1()))
    claims = {"sub": "mailto:ops@example.org", "aud": push_endpoint.origin,
              "exp": int(time.time()) + 600}
    token = other.sign(claims)["Authorization"].split("t=")[1].split(",")[0]
    real_key = signer.sign(claims)["Authorization"].split("k=")[1]
    response = requests.post(sub.endpoint, data=b"", timeout=5, headers={
        "Authorization": f"vapid t={token}, k={real_key}", "TTL": "60",
        "Content-Encoding": "aes128gcm"})
    assert response.status_code == 401 and "does not verify" in response.text


def test_missing_ttl_wrong_encoding_and_undecryptable_bodies_are_refused(push_endpoint, signer):
    sub = push_endpoint.subscription()
    claims = {"sub": "mailto:ops@example.org", "aud": push_endpoint.origin,
              "exp": int(time.time()) + 600}
    auth = signer.sign(claims)
    for headers, body, expected in (
        ({"Content-Encoding": "aes128gcm"}, b"x", 400),
        ({"TTL": "60", "Content-Encoding": "aesgcm"}, b"x", 415),
        ({"TTL": "60", "Content-Encoding": "aes128gcm", "Urgency": "now"}, b"x", 400),
        ({"TTL": "60", "Content-Encoding": "aes128gcm"}, b"\x00" * 120, 400),
        ({"TTL": "60", "Content-Encoding": "aes128gcm"}, b"\x00" * 5000, 413),
    ):
        response = requests.post(sub.endpoint, data=body, headers={**auth, **headers}, timeout=5)
        assert response.status_code == expected, response.text
    assert len(push_endpoint.errors) == 5 and push_endpoint.received == []


def test_a_subscription_bound_to_another_key_gets_403(push_endpoint, signer):
    sub = push_endpoint.subscription(application_server_key=b64url(b"\x04" + b"\x07" * 64))
    with pytest.raises(WebPushException) as refused:
        _send(sub, signer)
    assert refused.value.status_code == 403


def test_scripted_answers_and_unknown_subscriptions(push_endpoint, signer):
    sub = push_endpoint.subscription()
    push_endpoint.respond(sub, 500, (429, {"Retry-After": "7"}))
    with pytest.raises(WebPushException) as first:
        _send(sub, signer)
    with pytest.raises(WebPushException) as second:
        _send(sub, signer)
    assert (first.value.status_code, second.value.status_code) == (500, 429)
    assert second.value.retry_after == "7"
    assert _send(sub, signer).status_code == 201
    push_endpoint.gone(sub)
    with pytest.raises(WebPushException) as gone:
        _send(sub, signer)
    assert gone.value.status_code == 410
    unknown = push_endpoint.subscription()
    unknown.endpoint = f"{push_endpoint.origin}/push/nobody"
    with pytest.raises(WebPushException) as missing:
        _send(unknown, signer)
    assert missing.value.status_code == 404
