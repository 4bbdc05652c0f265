"""Rate limits with flask-limiter, counted in Redis: per user (else per client IP) on the whole
API, stricter per IP on the endpoints that take passwords and refresh tokens."""

import logging

import jwt
import pytest

from gateway.settings import Settings

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
SPEC = "/api/v1/openapi.json"
PRODUCTS = "/api/v1/products"


def sign_in(client, username="clinic.manager", password="demo-clinic-manager") -> dict:
    response = client.post(TOKEN, json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def limited(make_app, redis_client):
    """An app whose rate limits are given; its RPC answers the product list."""

    def make(**limits):
        app = make_app(**limits)
        app.extensions["cvms_rpc"].cluster.answer("inventory.list_products", [])
        return app

    return make


def assert_rate_limited(response):
    assert response.status_code == 429, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "rate_limited"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["Cache-Control"] == "no-store"


def test_each_user_has_a_limit_of_their_own(limited):
    client = limited(rate_limit="3/minute").test_client()
    manager, admin = sign_in(client), sign_in(client, "state.admin", "demo-state-admin")

    assert [client.get(PRODUCTS, headers=manager).status_code for _ in range(3)] == [200] * 3
    assert_rate_limited(client.get(PRODUCTS, headers=manager))
    # every route counts against the same per-user limit
    assert_rate_limited(client.get(SPEC, headers=manager))
    # another user is not held back by the first one
    assert client.get(PRODUCTS, headers=admin).status_code == 200


def test_the_user_limit_follows_the_user_not_the_address(limited):
    client = limited(rate_limit="2/minute").test_client()
    manager = sign_in(client)
    for ip in ("10.0.0.1", "10.0.0.2"):
        assert (
            client.get(PRODUCTS, headers=manager, environ_base={"REMOTE_ADDR": ip}).status_code
            == 200
        )
    response = client.get(PRODUCTS, headers=manager, environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert_rate_limited(response)


def test_without_a_token_the_limit_is_per_address(limited):
    client = limited(rate_limit="2/minute").test_client()
    first = {"REMOTE_ADDR": "10.0.0.1"}
    assert [client.get(SPEC, environ_base=first).status_code for _ in range(2)] == [200, 200]
    assert_rate_limited(client.get(SPEC, environ_base=first))
    assert client.get(SPEC, environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_a_forged_token_counts_against_the_address(limited):
    """Made-up user ids in unsigned tokens must not give a client fresh counters."""
    client = limited(rate_limit="2/minute").test_client()
    for n in range(2):
        forged = jwt.encode({"sub": f"user-{n}"}, "not-the-key-not-the-key-not-the-key!")
        response = client.get(PRODUCTS, headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
    forged = jwt.encode({"sub": "user-9"}, "not-the-key-not-the-key-not-the-key!")
    assert_rate_limited(client.get(PRODUCTS, headers={"Authorization": f"Bearer {forged}"}))


def test_sign_in_and_refresh_have_a_stricter_limit_per_address(limited):
    client = limited(rate_limit="1000/minute", auth_rate_limit="2/minute").test_client()
    wrong = {"username": "x", "password": "y"}
    assert [client.post(TOKEN, json=wrong).status_code for _ in range(2)] == [401, 401]
    assert_rate_limited(client.post(TOKEN, json=wrong))
    # a limit of its own on /auth/refresh
    assert [client.post(REFRESH, json={}).status_code for _ in range(2)] == [400, 400]
    assert_rate_limited(client.post(REFRESH, json={}))
    # other addresses and other routes are unaffected
    other = {"REMOTE_ADDR": "10.7.7.7"}
    assert client.post(TOKEN, json=wrong, environ_base=other).status_code == 401
    assert client.get(SPEC).status_code == 200


def test_limits_are_shared_by_every_worker(limited):
    """Two apps on the same Redis namespace stand in for two gunicorn workers."""
    one = limited(rate_limit="3/minute").test_client()
    two = limited(rate_limit="3/minute").test_client()
    assert [c.get(SPEC).status_code for c in (one, two, one)] == [200, 200, 200]
    assert_rate_limited(two.get(SPEC))


def test_counters_live_in_redis_under_the_gateways_prefix(limited, redis_client, redis_prefix):
    client = limited(rate_limit="5/minute").test_client()
    client.get(SPEC)
    keys = [key.decode() for key in redis_client.scan_iter(match=f"*{redis_prefix}:limits*")]
    assert keys
    assert all(0 < redis_client.ttl(key) <= 60 for key in keys)


def test_health_and_metrics_are_never_limited(limited):
    client = limited(rate_limit="1/minute").test_client()
    for _ in range(3):
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_limits_can_be_switched_off(limited):
    public = ("booking", "locator", "code", "person", "slot")
    off = {f"{name}_rate_limit": "off" for name in public} | {"code_miss_limit": "off"}
    client = limited(rate_limit="off", auth_rate_limit="off", **off).test_client()
    assert "cvms_limiter" not in client.application.extensions
    assert all(client.get(SPEC).status_code == 200 for _ in range(30))
    assert all(client.post(REFRESH, json={}).status_code == 400 for _ in range(30))


def test_only_the_default_limit_can_be_switched_off(limited):
    client = limited(rate_limit="off", auth_rate_limit="1/minute").test_client()
    assert all(client.get(SPEC).status_code == 200 for _ in range(5))
    assert client.post(REFRESH, json={}).status_code == 400
    assert_rate_limited(client.post(REFRESH, json={}))


def test_without_redis_requests_are_not_limited(limited, caplog):
    client = limited(rate_limit="1/minute", redis_url="redis://127.0.0.1:1/0").test_client()
    with caplog.at_level(logging.ERROR):
        assert [client.get(SPEC).status_code for _ in range(3)] == [200] * 3


def test_a_trusted_proxy_names_the_client(limited):
    behind = limited(rate_limit="1/minute", trusted_proxies=("127.0.0.1",)).test_client()
    headers = {"X-Forwarded-For": "203.0.113.5"}
    assert behind.get(SPEC, headers=headers).status_code == 200
    assert_rate_limited(behind.get(SPEC, headers=headers))
    assert behind.get(SPEC, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 200


def test_without_trusted_proxies_forwarded_for_is_ignored(limited):
    client = limited(rate_limit="1/minute").test_client()
    assert client.get(SPEC, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
    assert_rate_limited(client.get(SPEC, headers={"X-Forwarded-For": "203.0.113.6"}))


def test_limits_and_lockout_from_the_environment(monkeypatch):
    monkeypatch.setenv("CVMS_JWT_SECRET", "from-the-environment")
    monkeypatch.setenv("CVMS_RATE_LIMIT", "off")
    monkeypatch.setenv("CVMS_AUTH_RATE_LIMIT", "5/minute")
    monkeypatch.setenv("CVMS_REDIS_PREFIX", "cvms:blue")
    monkeypatch.setenv("CVMS_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("CVMS_LOGIN_MAX_FAILURES_PER_IP", "30")
    monkeypatch.setenv("CVMS_LOGIN_WINDOW_SECONDS", "600")
    monkeypatch.setenv("CVMS_LOGIN_LOCKOUT_SECONDS", "1200")
    monkeypatch.setenv("CVMS_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")
    settings = Settings.from_env()
    assert (settings.rate_limit, settings.auth_rate_limit) == ("off", "5/minute")
    assert settings.redis_prefix == "cvms:blue"
    assert (settings.login_max_failures, settings.login_max_failures_per_ip) == (3, 30)
    assert (settings.login_window_seconds, settings.login_lockout_seconds) == (600, 1200)
    assert settings.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")


def test_defaults(monkeypatch):
    for name in ("CVMS_RATE_LIMIT", "CVMS_AUTH_RATE_LIMIT", "CVMS_TOKEN_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CVMS_JWT_SECRET", "from-the-environment")
    settings = Settings.from_env()
    # generous per address: many people share one
    assert (settings.rate_limit, settings.auth_rate_limit) == ("600/minute", "300/minute")
    assert settings.login_max_failures_per_ip == 100
    assert settings.token_ttl_seconds == 900
