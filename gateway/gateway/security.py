"""Access tokens: signed, expiring JWTs that the gateway issues for the person identity has
authenticated, and verifies locally on every request (no call to identity per request)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "cvms"


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

    def actor(self) -> dict:
        """Who is asking, as identity's RPCs take it."""
        return {
            "user_id": self.user_id,
            "role": self.role,
            "organization_id": self.organization_id,
            "location_ids": sorted(self.location_ids),
        }

    def may_act_for(self, location_id: str) -> bool:
        return self.role == "state_admin" or location_id in self.location_ids


def issue_token(
    user: Mapping | object, secret: str, ttl_seconds: int, *, location_ids: list[str] | None = None
) -> str:
    """`user`: what identity answers for a sign-in or refresh (`id`, `username`, `role`,
    `location_ids` as they are now, `organization_id`, `recipient_id`), as a mapping or as
    attributes. `location_ids` given overrides the user's."""

    def read(name: str):
        return user.get(name) if isinstance(user, Mapping) else getattr(user, name, None)

    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": read("id"),
        "jti": str(uuid.uuid4()),
        "iat": now,
        "iat_ms": int(now.timestamp() * 1000),
        "exp": now + timedelta(seconds=ttl_seconds),
        "username": read("username"),
        "role": read("role"),
        "locations": sorted(
            location_ids if location_ids is not None else read("location_ids") or []
        ),
    }
    if read("organization_id"):
        claims["org"] = read("organization_id")
    if read("recipient_id"):
        claims["recipient"] = read("recipient_id")
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
