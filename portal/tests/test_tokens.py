"""The token store: tokens on the server, refreshed once however many pages ask at once."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from portal.gateway import ApiProblem
from portal.tokens import SignedOut, Tokens, TokenStore


class FakeGateway:
    """Answers /auth/refresh as the gateway does: a refresh token works once."""

    def __init__(self):
        self.valid = {"r0"}
        self.calls = 0
        self.lock = threading.Lock()

    def call(self, method, path, *, json=None, **_):
        assert (method, path) == ("POST", "/auth/refresh")
        with self.lock:
            self.calls += 1
            presented = json["refresh_token"]
            if presented not in self.valid:
                raise ApiProblem(401, "invalid_refresh_token", "The refresh token is not valid")
            self.valid.remove(presented)
            fresh = f"r{self.calls}"
            self.valid.add(fresh)
        time.sleep(0.05)  # the gateway takes a moment; others pile up meanwhile
        return {
            "access_token": f"a{self.calls}",
            "refresh_token": fresh,
            "expires_in": 900,
            "refresh_expires_in": 3600,
            "role": "vaccinator",
            "locations": ["demo-clinic"],
        }


@pytest.fixture
def store():
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"cvms-test-{uuid.uuid4().hex[:8]}:portal"
    gateway = FakeGateway()
    yield TokenStore(client, prefix, gateway), gateway
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def stale_tokens() -> Tokens:
    now = time.time()
    return Tokens("a0", "r0", now + 10, now + 3600, "clinic.vaccinator", "vaccinator", ["x"])


def test_a_fresh_access_token_is_used_as_it_is(store):
    tokens_store, gateway = store
    tokens = stale_tokens()
    tokens.access_expires_at = time.time() + 600
    ref = tokens_store.save(tokens)
    assert tokens_store.access_token(ref) == "a0"
    assert gateway.calls == 0


def test_pages_loading_at_once_rotate_the_refresh_token_once(store):
    tokens_store, gateway = store
    ref = tokens_store.save(stale_tokens())
    seen, errors = [], []

    def page():
        try:
            seen.append(tokens_store.access_token(ref))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=page) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert gateway.calls == 1  # presenting r0 twice would have ended the person's sessions
    assert set(seen) == {"a1"}
    assert tokens_store.load(ref).refresh_token == "r1"


def test_a_refused_refresh_signs_out(store):
    tokens_store, gateway = store
    ref = tokens_store.save(stale_tokens())
    gateway.valid.clear()  # revoked at the gateway (signed out elsewhere)
    with pytest.raises(SignedOut):
        tokens_store.access_token(ref)
    assert tokens_store.load(ref) is None


def test_a_forgotten_record_is_signed_out(store):
    tokens_store, _ = store
    ref = tokens_store.save(stale_tokens())
    tokens_store.forget(ref)
    with pytest.raises(SignedOut):
        tokens_store.access_token(ref)
