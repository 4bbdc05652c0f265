"""API keys for partner systems: issued for an organization with scopes, shown once, revocable.

A key is 32 random bytes (256 bits). It is stored only as its SHA-256 digest: a slow password
hash (argon2) guards low-entropy secrets people choose against guessing, which a random 256-bit
key does not need, and a plain digest lets every request find its key through a unique index
without spending tens of milliseconds on hashing. The gateway asks `resolve` for a key it has
not seen within the last second, so a revocation takes effect everywhere within that second.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cvms_platform.codes import API_KEY_SCOPES as SCOPES
from cvms_platform.timeutil import utcnow
from identity.models import ApiKey, Location

KEY_PREFIX = "cvms_"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
__all__ = ["SCOPES", "issue", "of_organization", "resolve", "revoke", "view"]


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    key: str  # shown once


def issue(
    session: Session, organization_id: str, name: str, scopes: list[str], created_by: str
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
    session.add(row)
    return IssuedKey(row, key)


def of_organization(session: Session, organization_id: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.created_at)
        )
    )


def revoke(session: Session, organization_id: str, key_id: str) -> bool:
    """False if the organization has no such key; revoking twice is harmless."""
    row = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True


def view(row: ApiKey) -> dict:
    return {
        "id": row.id,
        "organization_id": row.organization_id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
    }


def resolve(session: Session, presented: str) -> dict | None:
    """What a valid, unrevoked key stands for (its organization's locations and its scopes), or
    None; notes when it was used."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 100:
        return None
    now = utcnow()
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
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
    return {
        "key_id": row.id,
        "prefix": row.prefix,
        "organization_id": row.organization_id,
        "location_ids": sorted(locations),
        "scopes": sorted(row.scopes),
    }
