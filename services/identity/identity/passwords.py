"""Passwords, hashed with argon2.

Hashing and verifying take tens of milliseconds of CPU by design. In a nameko worker that would
hold up the eventlet hub (and the AMQP heartbeat with it), so both run in eventlet's pool of
OS threads: argon2's C code releases the GIL while it works.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

from identity.models import User

_hasher = PasswordHasher()
# Verified when the username is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password")
NO_PASSWORD = "!unset"  # no argon2 hash: no password verifies until one is set


def hash_password(password: str) -> str:
    return tpool.execute(_hasher.hash, password)


def _verifies(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(user: User | None, password: str) -> bool:
    """True if `user` exists, is active and `password` is theirs."""
    stored = user.password_hash if user is not None else _DUMMY_HASH
    return tpool.execute(_verifies, stored, password) and bool(user and user.active)
