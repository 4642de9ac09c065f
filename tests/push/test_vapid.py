"""The VAPID identity: generated once into instance/, or taken from the environment."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from webapp.push import vapid


@pytest.fixture
def instance(app, tmp_path):
    saved = (app.config.get("INSTANCE_DIR"), app.config.get("VAPID_PRIVATE_KEY"))
    app.config.update(INSTANCE_DIR=str(tmp_path), VAPID_PRIVATE_KEY=None)
    with app.app_context():
        yield tmp_path
    app.config.update(INSTANCE_DIR=saved[0], VAPID_PRIVATE_KEY=saved[1])


def test_key_is_generated_once_into_the_instance_folder(instance):
    key = vapid.application_server_key()
    path = instance / vapid.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vapid._cache.clear()  # as a restarted process would
    assert vapid.application_server_key() == key
    raw = vapid.b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def test_key_from_the_environment_wins(app, instance):
    private = ec.generate_private_key(ec.SECP256R1())
    expected = vapid.b64url(private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    raw = vapid.b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    for given in (pem, raw):
        app.config["VAPID_PRIVATE_KEY"] = given
        assert vapid.application_server_key() == expected
    assert not (instance / vapid.KEY_FILE).exists()


def test_a_wrong_curve_is_refused(app, instance):
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    app.config["VAPID_PRIVATE_KEY"] = other
    with pytest.raises(ValueError):
        vapid.application_server_key()


@pytest.mark.parametrize("email, sub", [
    ("ops@example.org", "mailto:ops@example.org"),
    ("mailto:ops@example.org", "mailto:ops@example.org"),
    ("https://example.org/contact", "https://example.org/contact"),
])
def test_subject_claim(app, instance, email, sub):
    app.config["VAPID_CLAIM_EMAIL"] = email
    try:
        assert vapid.subject() == sub
    finally:
        app.config["VAPID_CLAIM_EMAIL"] = "admin@healthspace.example"
