"""Lockout after repeated failed sign-ins, per username and per client IP, counted in Redis."""

import logging

import pytest

TOKEN = "/api/v1/auth/token"
GOOD = {"username": "clinic.manager", "password": "demo-clinic-manager"}
ADMIN = {"username": "state.admin", "password": "demo-state-admin"}


def attempt(client, username="clinic.manager", password="wrong", ip="10.0.0.1"):
    return client.post(
        TOKEN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def sign_in(client, credentials=GOOD, ip="10.0.0.1"):
    return attempt(client, credentials["username"], credentials["password"], ip)


@pytest.fixture
def client(make_app, redis_client):
    # Generous per-IP limits on /auth/token so only the lockout is being tested here.
    return make_app(auth_rate_limit="1000/minute").test_client()


def answers(client, count, **kwargs):
    return [attempt(client, **kwargs) for _ in range(count)]


def test_the_fifth_failure_locks_the_username_even_for_the_right_password(client):
    statuses = [r.status_code for r in answers(client, 5)]
    assert statuses == [401, 401, 401, 401, 429]

    locked = sign_in(client)
    assert locked.status_code == 429
    body = locked.get_json()
    assert body["error"] == "too_many_attempts"
    assert body["request_id"] == locked.headers["X-Request-ID"]
    assert 890 <= int(locked.headers["Retry-After"]) <= 900
    # another user from the same address is not affected
    assert sign_in(client, ADMIN).status_code == 200


def test_the_lock_holds_from_every_address(client):
    answers(client, 5, ip="10.0.0.1")
    assert sign_in(client, ip="10.9.9.9").status_code == 429


def test_an_unknown_username_is_answered_exactly_like_a_known_one(client):
    known = answers(client, 6, username="clinic.manager")
    unknown = answers(client, 6, username="no.such.user", ip="10.0.0.2")
    summary = [(r.status_code, r.get_json()["error"], r.get_json()["message"]) for r in known]
    assert summary == [
        (r.status_code, r.get_json()["error"], r.get_json()["message"]) for r in unknown
    ]
    assert [r.status_code for r in known] == [401] * 4 + [429] * 2


def test_usernames_differing_only_in_case_share_a_counter(client):
    for username in ("Clinic.Manager", "CLINIC.MANAGER", "clinic.manager", "cLinic.manager"):
        assert attempt(client, username=username).status_code == 401
    assert attempt(client, username="clinic.MANAGER").status_code == 429


def test_a_successful_sign_in_resets_the_username_counter(client):
    answers(client, 4)
    assert sign_in(client).status_code == 200
    assert [r.status_code for r in answers(client, 4)] == [401] * 4
    assert sign_in(client).status_code == 200


def test_the_lock_ends_after_the_lockout_period(make_app, redis_client, poll):
    client = make_app(auth_rate_limit="off", login_lockout_seconds=1).test_client()
    answers(client, 5)
    locked = sign_in(client)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "1"
    poll(lambda: sign_in(client).status_code == 200, timeout=5, interval=0.1)
    # counting starts afresh after a lock
    assert [r.status_code for r in answers(client, 4)] == [401] * 4


def test_too_many_failures_from_one_address_lock_that_address(make_app, redis_client):
    client = make_app(auth_rate_limit="off", login_max_failures_per_ip=3).test_client()
    assert attempt(client, username="a", ip="10.1.1.1").status_code == 401
    assert attempt(client, username="b", ip="10.1.1.1").status_code == 401
    assert attempt(client, username="c", ip="10.1.1.1").status_code == 429
    assert sign_in(client, ADMIN, ip="10.1.1.1").status_code == 429  # every username
    assert sign_in(client, ADMIN, ip="10.1.1.2").status_code == 200  # other addresses not


def test_a_success_does_not_reset_the_address_counter(make_app, redis_client):
    client = make_app(auth_rate_limit="off", login_max_failures_per_ip=3).test_client()
    attempt(client, username="a")
    attempt(client, username="b")
    assert sign_in(client, ADMIN).status_code == 200
    assert attempt(client, username="c").status_code == 429


def test_invalid_bodies_are_not_counted(client):
    for _ in range(6):
        assert client.post(TOKEN, json={"username": "clinic.manager"}).status_code == 400
    assert sign_in(client).status_code == 200


def test_counters_expire_with_the_window_and_hold_no_usernames(client, redis_client, redis_prefix):
    answers(client, 2)
    keys = [k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:login:*")]
    assert len(keys) == 2  # one per username, one per address
    assert not any("clinic.manager" in key for key in keys)
    assert all(0 < redis_client.ttl(key) <= 900 for key in keys)


def test_without_redis_sign_in_works_without_lockout(make_app, caplog):
    client = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    with caplog.at_level(logging.WARNING):
        assert [r.status_code for r in answers(client, 6)] == [401] * 6
        assert sign_in(client).status_code == 200
    assert "cannot check sign-in lockout" in caplog.text
