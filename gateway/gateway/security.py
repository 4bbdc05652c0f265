"""Passwords (argon2) and access tokens (signed, expiring JWTs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.models import User

_hasher = PasswordHasher()
# Verified when the username is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password")
ALGORITHM = "HS256"
ISSUER = "cvms"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and bool(
            user and user.active
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    location_ids: frozenset[str]
    organization_id: str | None = None
    recipient_id: str | None = None
    # The token's id and expiry (epoch seconds): what logout needs to revoke it.
    token_id: str = field(default="", compare=False)
    expires_at: int = field(default=0, compare=False)
    # Milliseconds since the epoch: a user's tokens issued before a moment can be revoked.
    issued_at_ms: int = field(default=0, compare=False)
    # A partner system's API key: the key's scopes (None for people signed in with a token).
    scopes: frozenset[str] | None = None

    @property
    def is_api_key(self) -> bool:
        return self.scopes is not None

    def may_act_for(self, location_id: str) -> bool:
        return self.role == "state_admin" or location_id in self.location_ids


def issue_token(
    user: User, secret: str, ttl_seconds: int, *, location_ids: list[str] | None = None
) -> str:
    """`location_ids`: what the user acts for when it is not stored on the user (an organization
    admin acts for the organization's locations, read at sign-in)."""
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": user.id,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "iat_ms": int(now.timestamp() * 1000),
        "exp": now + timedelta(seconds=ttl_seconds),
        "username": user.username,
        "role": user.role,
        "locations": sorted(location_ids if location_ids is not None else user.location_ids or []),
    }
    if user.organization_id:
        claims["org"] = user.organization_id
    if user.recipient_id:
        claims["recipient"] = user.recipient_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """Raise jwt.InvalidTokenError unless the token is ours, intact and unexpired."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "iss", "jti"]},
    )
    return Principal(
        user_id=claims["sub"],
        username=claims["username"],
        role=claims["role"],
        location_ids=frozenset(claims.get("locations", [])),
        organization_id=claims.get("org"),
        recipient_id=claims.get("recipient"),
        token_id=claims["jti"],
        expires_at=int(claims["exp"]),
        issued_at_ms=int(claims.get("iat_ms", int(claims["iat"]) * 1000)),
    )
