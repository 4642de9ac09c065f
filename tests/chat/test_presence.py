"""Presence through Redis: which sockets a user has and the variant each renders in."""

import uuid

import pytest

from webapp.chat.presence import Presence


@pytest.fixture
def shared():
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis")
    one, two = Presence(), Presence()  # two server processes of one deployment
    config = {"REDIS_URL": url, "REDIS_NAMESPACE": f"hs-test-{uuid.uuid4().hex[:8]}"}
    one.configure(config)
    two.configure(config)
    user_id = 10**9 + uuid.uuid4().int % 10**6
    yield one, two, user_id
    one._redis.delete(one._key(user_id))


def test_sockets_and_their_variants_are_seen_from_another_process(shared):
    one, two, user_id = shared
    one.add(user_id, "sid-a", "fr|America/Montreal")
    two.add(user_id, "sid-b", "en|Europe/Paris")
    assert two.sockets(user_id) == {"sid-a": "fr|America/Montreal", "sid-b": "en|Europe/Paris"}
    assert one.variants(user_id) == {"fr|America/Montreal", "en|Europe/Paris"}
    assert one.sids(user_id) == {"sid-a", "sid-b"} and two.is_online(user_id)
    one.refresh()
    assert len(one._redis.zrange(one._key(user_id), 0, -1)) == 2  # refresh kept one entry
    one.remove("sid-a")
    assert two.sockets(user_id) == {"sid-b": "en|Europe/Paris"}
    two.remove("sid-b")
    assert not one.is_online(user_id) and one.variants(user_id) == set()


def test_another_deployment_on_the_same_redis_sees_no_one(shared):
    one, _two, user_id = shared
    one.add(user_id, "sid-a", "fr|Europe/Paris")
    elsewhere = Presence()
    elsewhere.configure({"REDIS_URL": one._redis_url, "REDIS_NAMESPACE": "hs-another"})
    assert elsewhere.sockets(user_id) == {} and not elsewhere.is_online(user_id)
