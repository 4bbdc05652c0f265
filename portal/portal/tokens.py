"""The signed-in person's API tokens, kept on the server.

The browser's session (server-side, in Redis) holds only a random reference to a token record;
the record holds the access and refresh tokens. A token close to expiry is refreshed unseen,
under a lock per record: the gateway treats a refresh token presented twice as stolen and ends
every session of its user, so two pages loading at once must not both rotate it.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass

import redis

from portal.gateway import ApiProblem, Gateway

REFRESH_MARGIN_SECONDS = 60
LOCK_SECONDS = 10


class SignedOut(Exception):
    """The session's tokens are gone, expired or revoked: sign in again."""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float
    username: str
    role: str
    locations: list[str]

    @classmethod
    def from_answer(cls, username: str, answer: dict, now: float) -> Tokens:
        return cls(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            access_expires_at=now + int(answer["expires_in"]),
            refresh_expires_at=now + int(answer.get("refresh_expires_in", answer["expires_in"])),
            username=username,
            role=answer.get("role", ""),
            locations=list(answer.get("locations") or []),
        )


class TokenStore:
    def __init__(self, redis_client: redis.Redis, prefix: str, gateway: Gateway):
        self.redis = redis_client
        self.prefix = prefix
        self.gateway = gateway

    def _key(self, ref: str) -> str:
        return f"{self.prefix}:tokens:{ref}"

    def save(self, tokens: Tokens, ref: str | None = None) -> str:
        ref = ref or secrets.token_urlsafe(24)
        ttl = max(1, int(tokens.refresh_expires_at - time.time()))
        self.redis.set(self._key(ref), json.dumps(asdict(tokens)), ex=ttl)
        return ref

    def load(self, ref: str) -> Tokens | None:
        raw = self.redis.get(self._key(ref))
        return Tokens(**json.loads(raw)) if raw else None

    def forget(self, ref: str) -> Tokens | None:
        tokens = self.load(ref)
        self.redis.delete(self._key(ref))
        return tokens

    def access_token(self, ref: str) -> str:
        """A valid access token of the record, refreshed first when it is about to expire."""
        tokens = self.load(ref)
        if tokens is None:
            raise SignedOut()
        if tokens.access_expires_at - time.time() > REFRESH_MARGIN_SECONDS:
            return tokens.access_token
        return self.refresh(ref, stale=tokens.access_token).access_token

    def refresh(self, ref: str, stale: str) -> Tokens:
        """Rotate the refresh token once, however many requests ask at the same moment:
        the one holding the lock rotates; the others wait and read what it saved."""
        lock = f"{self._key(ref)}:lock"
        deadline = time.monotonic() + LOCK_SECONDS
        while not self.redis.set(lock, "1", nx=True, ex=LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise SignedOut()
            time.sleep(0.05)
        try:
            tokens = self.load(ref)
            if tokens is None:
                raise SignedOut()
            if tokens.access_token != stale:
                return tokens  # another request refreshed while we waited
            try:
                answer = self.gateway.call(
                    "POST", "/auth/refresh", json={"refresh_token": tokens.refresh_token}
                )
            except ApiProblem:
                self.redis.delete(self._key(ref))
                raise SignedOut() from None
            fresh = Tokens.from_answer(tokens.username, answer, time.time())
            self.save(fresh, ref)
            return fresh
        finally:
            self.redis.delete(lock)
