"""API keys for partner systems: issued for an organization with scopes, shown once, revocable.

A key is 32 random bytes (256 bits). It is stored only as its SHA-256 digest: a slow password
hash (argon2) guards low-entropy secrets people choose against guessing, which a random 256-bit
key does not need, and a plain digest lets every request find its key through a unique index
without spending tens of milliseconds on hashing. Each request looks its key up in the database,
so a revocation takes effect at once in every gunicorn worker and gateway instance.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from cvms_platform.timeutil import utcnow
from gateway.models import ApiKey, Location
from gateway.security import Principal

KEY_PREFIX = "cvms_"
SCOPES = (
    "inventory:read",
    "inventory:write",
    "administrations:read",
    "administrations:write",
    "recipients:read",
    "recipients:write",
    # A clinic's own systems (an EHR, a check-in kiosk): its clinic days and appointments, and
    # check-in, no-show and walk-ins. Opening, closing and cancelling stay with staff.
    "appointments:read",
    "appointments:write",
)
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    key: str  # shown once


class ApiKeys:
    def __init__(self, make_session: sessionmaker):
        self._make_session = make_session

    def issue(
        self, organization_id: str, name: str, scopes: list[str], created_by: str
    ) -> IssuedKey:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(
            id=str(uuid.uuid4()),
            organization_id=organization_id,
            name=name,
            key_hash=digest(key),
            prefix=key[: len(KEY_PREFIX) + 6],
            scopes=sorted(set(scopes)),
            created_by=created_by,
            created_at=utcnow(),
        )
        with self._make_session() as session, session.begin():
            session.add(row)
        return IssuedKey(row, key)

    def of_organization(self, organization_id: str) -> list[ApiKey]:
        with self._make_session() as session:
            return list(
                session.scalars(
                    select(ApiKey)
                    .where(ApiKey.organization_id == organization_id)
                    .order_by(ApiKey.created_at)
                )
            )

    def revoke(self, organization_id: str, key_id: str) -> bool:
        """False if the organization has no such key; revoking twice is harmless."""
        with self._make_session() as session, session.begin():
            row = session.scalar(
                select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
            )
            if row is None:
                return False
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return True

    def principal(self, presented: str) -> Principal | None:
        """The partner a valid, unrevoked key stands for (acting for its organization's
        locations), or None."""
        if not presented.startswith(KEY_PREFIX) or len(presented) > 100:
            return None
        now = utcnow()
        with self._make_session() as session, session.begin():
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(presented)))
            if row is None or row.revoked_at is not None:
                return None
            locations = session.scalars(
                select(Location.id).where(Location.organization_id == row.organization_id)
            ).all()
            session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == row.id,
                    or_(
                        ApiKey.last_used_at.is_(None),
                        ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
            )
            return Principal(
                user_id=row.id,
                username=f"api-key:{row.prefix}",
                role="partner",
                location_ids=frozenset(locations),
                organization_id=row.organization_id,
                scopes=frozenset(row.scopes),
            )
