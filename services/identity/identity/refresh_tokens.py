"""Refresh tokens: opaque random strings, stored only as their SHA-256 digest.

Each use rotates the token: the presented one is revoked and a new one issued, which keeps the
session's original expiry (a session lasts at most its time to live from sign-in). Presenting a
rotated token again means it leaked (or a client raced itself): every refresh token of that user
is revoked, so whoever holds one must sign in again. A token ended by logout is merely refused.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvms_platform import config
from cvms_platform.db import claim
from cvms_platform.timeutil import utcnow
from identity.models import RefreshToken, User

log = logging.getLogger(__name__)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def time_to_live() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_REFRESH_TTL_SECONDS", 14 * 24 * 3600))


class InvalidRefreshToken(Exception):
    """Unknown, expired or revoked, or its user may no longer sign in."""


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime
    id: str


def issue(session: Session, user_id: str, expires_at: datetime | None = None) -> Issued:
    token = secrets.token_urlsafe(32)
    row = RefreshToken(
        id=str(uuid.uuid4()),
        user_id=user_id,
        token_hash=_digest(token),
        created_at=utcnow(),
        expires_at=expires_at or utcnow() + time_to_live(),
    )
    session.add(row)
    return Issued(token, row.expires_at, row.id)


def rotate(session: Session, presented: str) -> tuple[User, Issued]:
    """Revoke `presented` and issue its successor; raise InvalidRefreshToken if it may not be
    used, and Reused if it was rotated already (it leaked: the caller revokes every refresh
    token of `Reused.user_id`)."""
    now = utcnow()
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(presented)))
    if row is None or row.expires_at <= now:
        raise InvalidRefreshToken
    # The conditional update claims the token: of two concurrent uses, one wins.
    if not claim(session, RefreshToken.revoked_at, row.id, now):
        # Revoked already. Read again: a concurrent use may have just rotated it.
        successor = session.scalar(
            select(RefreshToken.replaced_by).where(RefreshToken.id == row.id)
        )
        if successor is None:
            raise InvalidRefreshToken  # ended by logout: refused, nothing more
        log.warning("a revoked refresh token was presented; revoking the user's sessions")
        raise Reused(row.user_id)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise InvalidRefreshToken  # the caller rolls back: the token stays as it was
    issued = issue(session, user.id, row.expires_at)
    session.execute(
        update(RefreshToken).where(RefreshToken.id == row.id).values(replaced_by=issued.id)
    )
    return user, issued


class Reused(InvalidRefreshToken):
    """A rotated token came back: every session of its user must end."""

    def __init__(self, user_id: str):
        super().__init__(user_id)
        self.user_id = user_id


def revoke(session: Session, presented: str, user_id: str) -> bool:
    """Revoke a token of this user; another user's token, or an unknown one, is left."""
    result = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == _digest(presented),
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1


def revoke_all(session: Session, user_id: str, now: datetime | None = None) -> int:
    return session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    ).rowcount
