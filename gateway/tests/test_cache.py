"""The location inventory cache, against a real Redis (keys of each test's own)."""

import json

import pytest
import redis

from gateway.cache import InventoryCache

LOTS = [{"id": "lot-1", "doses_on_hand": 5}, {"id": "lot-2", "doses_on_hand": 7}]


class Loader:
    def __init__(self, lots=LOTS):
        self.lots = lots
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.lots


def key(location_id: str) -> str:
    return f"cvms:gateway:inventory:{location_id}"


def test_a_miss_loads_and_caches_with_the_ttl(redis_client, location_id):
    cache = InventoryCache(redis_client, ttl_ms=30_000)
    load = Loader()

    body = cache.get_or_load(location_id, load)

    assert json.loads(body) == {"location_id": location_id, "total_doses_on_hand": 12, "lots": LOTS}
    assert load.calls == 1
    assert redis_client.get(key(location_id)) == body
    assert 0 < redis_client.pttl(key(location_id)) <= 30_000


def test_a_hit_is_served_without_loading(redis_client, location_id):
    cache = InventoryCache(redis_client, ttl_ms=30_000)
    load = Loader()
    first = cache.get_or_load(location_id, load)
    second = cache.get_or_load(location_id, load)
    assert second == first
    assert load.calls == 1


def test_an_entry_expires(redis_client, location_id, poll):
    cache = InventoryCache(redis_client, ttl_ms=50)
    load = Loader()
    cache.get_or_load(location_id, load)
    poll(lambda: redis_client.get(key(location_id)) is None, timeout=5)
    cache.get_or_load(location_id, load)
    assert load.calls == 2


def test_invalidate_drops_the_entry(redis_client, location_id):
    cache = InventoryCache(redis_client, ttl_ms=30_000)
    load = Loader()
    cache.get_or_load(location_id, load)
    cache.invalidate(location_id)
    assert redis_client.get(key(location_id)) is None
    cache.get_or_load(location_id, load)
    assert load.calls == 2
    cache.invalidate("never-cached-" + location_id)  # harmless


def test_locations_do_not_share_entries(redis_client, location_id):
    other = location_id + "-b"
    cache = InventoryCache(redis_client, ttl_ms=30_000)
    try:
        cache.get_or_load(location_id, Loader())
        body = cache.get_or_load(other, Loader([{"id": "x", "doses_on_hand": 1}]))
        assert json.loads(body)["total_doses_on_hand"] == 1
    finally:
        redis_client.delete(key(other))


def test_an_empty_location(redis_client, location_id):
    body = InventoryCache(redis_client, ttl_ms=30_000).get_or_load(location_id, Loader([]))
    assert json.loads(body) == {"location_id": location_id, "total_doses_on_hand": 0, "lots": []}


def test_without_redis_every_read_loads(location_id):
    # configured as the app configures its client
    unreachable = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    cache = InventoryCache(unreachable, ttl_ms=30_000)
    load = Loader()
    assert json.loads(cache.get_or_load(location_id, load))["total_doses_on_hand"] == 12
    assert json.loads(cache.get_or_load(location_id, load))["total_doses_on_hand"] == 12
    assert load.calls == 2
    cache.invalidate(location_id)  # logged, not raised


def test_a_zero_ttl_turns_caching_off(redis_client, location_id):
    cache = InventoryCache(redis_client, ttl_ms=0)
    load = Loader()
    cache.get_or_load(location_id, load)
    cache.get_or_load(location_id, load)
    assert load.calls == 2
    assert redis_client.get(key(location_id)) is None


def test_a_load_failure_caches_nothing(redis_client, location_id):
    cache = InventoryCache(redis_client, ttl_ms=30_000)

    def failing():
        raise TimeoutError("service slow")

    with pytest.raises(TimeoutError):
        cache.get_or_load(location_id, failing)
    assert redis_client.get(key(location_id)) is None


# -- through the app ------------------------------------------------------------------------------
@pytest.fixture
def cached_app(make_app, monkeypatch, directory_db, location_id):
    monkeypatch.setenv("CVMS_INVENTORY_CACHE_MS", "60000")
    directory_db.add_location(location_id)
    return make_app(keep_cache=True)


def test_inventory_reads_are_cached_and_a_received_lot_drops_the_entry(
    cached_app, location_id, redis_client
):
    client = cached_app.test_client()
    rpc = cached_app.extensions["cvms_rpc"].cluster
    token = client.post(
        "/api/v1/auth/token", json={"username": "state.admin", "password": "demo-state-admin"}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/locations/{location_id}/inventory"
    rpc.answer("inventory.location_inventory", LOTS)

    first = client.get(path, headers=headers)
    second = client.get(path, headers=headers)

    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert first.get_json()["total_doses_on_hand"] == 12
    assert [name for name, _ in rpc.calls] == ["inventory.location_inventory"]
    assert redis_client.exists(key(location_id))

    rpc.answer("inventory.receive_lot", {"lot": {"id": "lot-3"}, "created": True})
    response = client.post(
        f"/api/v1/locations/{location_id}/lots",
        json={
            "shipment_id": "S-9",
            "product_id": "pfizer-gray-12plus",
            "lot_number": "AB-1",
            "expiration_date": "2030-01-01",
            "doses": 10,
        },
        headers=headers,
    )
    assert response.status_code == 201
    assert not redis_client.exists(key(location_id))

    rpc.answer("inventory.location_inventory", LOTS + [{"id": "lot-3", "doses_on_hand": 10}])
    assert client.get(path, headers=headers).get_json()["total_doses_on_hand"] == 22


def test_an_authorization_failure_never_reads_the_cache(cached_app, location_id, redis_client):
    redis_client.set(key(location_id), b'{"leaked": true}', px=60_000)
    client = cached_app.test_client()
    token = client.post(
        "/api/v1/auth/token",
        json={"username": "clinic.manager", "password": "demo-clinic-manager"},
    ).get_json()["access_token"]
    response = client.get(
        f"/api/v1/locations/{location_id}/inventory",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "leaked" not in response.get_data(as_text=True)
