"""What the gateway keeps of sessions, in Redis: revoked access tokens, and sign-in lockout.
(Refresh tokens are identity's.)

- Logout puts the access token's id (`jti`) on a denylist in Redis until the token would have
  expired anyway, so it stops working at once in every gateway worker and instance.
- Failed sign-ins are counted in Redis per username and per client IP; too many within a window
  lock that username (or IP) for a while, whether or not the username exists.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Denylist:
    """Ids of access tokens revoked before their expiry, kept in Redis until then; and, per
    user, the moment before which every access token of the user is revoked (a deactivated
    user, a password set anew), kept as long as an access token lives."""

    def __init__(self, client: redis.Redis, prefix: str):
        self._redis = client
        self._prefix = f"{prefix}:revoked-token:"
        self._user_prefix = f"{prefix}:revoked-user:"

    def revoke_user(self, user_id: str, before_ms: int, token_ttl_seconds: int) -> None:
        """Every access token of the user issued before `before_ms` (epoch milliseconds) stops
        working. Raises redis.RedisError (the caller decides what that means)."""
        self._redis.set(
            self._user_prefix + user_id, str(before_ms).encode(), ex=max(1, token_ttl_seconds)
        )

    def revoke(self, token_id: str, expires_at: int, now: float) -> None:
        """Raise redis.RedisError if Redis cannot record it (the caller must say so)."""
        ttl = max(1, math.ceil(expires_at - now))
        self._redis.set(self._prefix + token_id, b"1", ex=ttl)

    def is_revoked(self, token_id: str, user_id: str | None = None, issued_at_ms: int = 0) -> bool:
        """Fails open: if Redis cannot be asked, the token counts as not revoked (a warning is
        logged). Access tokens live minutes, so the exposure is bounded, while failing closed
        would turn a Redis outage into a full outage of the API. One round trip for both."""
        try:
            if user_id is None:
                return bool(self._redis.exists(self._prefix + token_id))
            token, user = self._redis.mget(self._prefix + token_id, self._user_prefix + user_id)
        except redis.RedisError as exc:
            log.warning("cannot check revoked tokens (accepting the token): %s", exc)
            return False
        return token is not None or (user is not None and issued_at_ms < int(user))


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds


class LoginThrottle:
    """Failed sign-ins per username and per client IP in fixed windows; reaching the maximum
    locks that username or IP for `lockout_seconds`. Unknown usernames are counted and locked
    like known ones, so the answers never tell whether a username exists.

    Fails open: without Redis, sign-in works without lockout (a warning is logged)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        max_failures: int,
        max_failures_per_ip: int,
        window_seconds: int,
        lockout_seconds: int,
    ):
        self._redis = client
        self._prefix = f"{prefix}:login"
        self._limits = {"user": max_failures, "ip": max_failures_per_ip}
        self._window = window_seconds
        self._lockout = lockout_seconds

    def _subjects(self, username: str, ip: str) -> dict[str, str]:
        # Usernames are hashed: keys hold no names. Case is folded so "Admin" counts as "admin".
        return {"user": _digest(username.casefold()), "ip": ip}

    def _fail_key(self, scope: str, subject: str) -> str:
        return f"{self._prefix}:failures:{scope}:{subject}"

    def _lock_key(self, scope: str, subject: str) -> str:
        return f"{self._prefix}:locked:{scope}:{subject}"

    def locked(self, username: str, ip: str) -> Lockout | None:
        subjects = self._subjects(username, ip)
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for scope, subject in subjects.items():
                    pipe.pttl(self._lock_key(scope, subject))
                remaining_ms = pipe.execute()
        except redis.RedisError as exc:
            log.warning("cannot check sign-in lockout (allowing the attempt): %s", exc)
            return None
        longest = max(remaining_ms)  # -2: no key; -1: no expiry (never set by us)
        if longest == -1:
            return Lockout(self._lockout)
        return Lockout(math.ceil(longest / 1000)) if longest > 0 else None

    def failed(self, username: str, ip: str) -> Lockout | None:
        """Count a failure; the lockout it started, if any."""
        subjects = self._subjects(username, ip)
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for scope, subject in subjects.items():
                    pipe.incr(self._fail_key(scope, subject))
                    pipe.expire(self._fail_key(scope, subject), self._window, nx=True)
                counts = pipe.execute()[::2]
            locked = False
            for (scope, subject), count in zip(subjects.items(), counts, strict=True):
                if count >= self._limits[scope]:
                    with self._redis.pipeline(transaction=True) as pipe:
                        pipe.set(self._lock_key(scope, subject), b"1", ex=self._lockout)
                        pipe.delete(self._fail_key(scope, subject))
                        pipe.execute()
                    log.warning(
                        "sign-in locked for %ss: too many failures per %s", self._lockout, scope
                    )
                    locked = True
        except redis.RedisError as exc:
            log.warning("cannot count a failed sign-in: %s", exc)
            return None
        return Lockout(self._lockout) if locked else None

    def user_locked(self, username: str) -> int:
        """Seconds the username stays locked (0: not locked); for help-desk lookups."""
        key = self._lock_key("user", self._subjects(username, "")["user"])
        try:
            remaining_ms = self._redis.pttl(key)
        except redis.RedisError as exc:
            log.warning("cannot check sign-in lockout: %s", exc)
            return 0
        if remaining_ms == -1:
            return self._lockout
        return math.ceil(remaining_ms / 1000) if remaining_ms > 0 else 0

    def unlock(self, username: str) -> None:
        """End the username's lockout and forget its failures (a help-desk agent's call, once
        they know the person). Raises redis.RedisError: the caller must say it failed."""
        subject = self._subjects(username, "")["user"]
        self._redis.delete(self._lock_key("user", subject), self._fail_key("user", subject))

    def succeeded(self, username: str) -> None:
        """A successful sign-in clears the username's failures (not the IP's)."""
        try:
            self._redis.delete(self._fail_key("user", self._subjects(username, "")["user"]))
        except redis.RedisError as exc:
            log.warning("cannot reset failed sign-ins: %s", exc)
