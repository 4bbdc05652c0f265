"""One-time links to set a password: an invitation for a new user, or a reset; and the link that
verifies a help-desk account's e-mail address (it sets no password).

A link's token is 32 random bytes, shown once (to the admin who made it, or carried to the user
by a notifications service) and stored only as its SHA-256 digest. It expires, and it dies
when used; setting a password through it activates the user and ends every session the user
had (refresh tokens revoked).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvms_platform import config
from cvms_platform.db import claim
from cvms_platform.errors import InvalidInput
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from identity.models import PasswordLink, RefreshToken, User
from identity.passwords import hash_password

INVITATION = "invitation"
RESET = "reset"
# A help-desk account's address (issue 15): the link activates the account; no password is set.
VERIFICATION = "verification"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200


def invitation_ttl() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_INVITATION_TTL_SECONDS", 7 * 24 * 3600))


def handed_out() -> bool:
    """Whether an approval or a new user's answer carries the set-password token itself, for
    the admin to pass on by hand: only for a deployment that sends no e-mail. Off by default:
    notifications e-mails the link (`user_invited`), so only the person it names sees it."""
    return config.bool_setting("CVMS_HAND_OUT_PASSWORD_LINKS", False)


def verification_ttl() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_EMAIL_VERIFICATION_TTL_SECONDS", 24 * 3600))


def reset_ttl() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_PASSWORD_RESET_TTL_SECONDS", 3600))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    id: str
    user_id: str
    token: str
    expires_at: datetime


def password_problems(password: str, user: User) -> list[str]:
    """Why a password may not be used (empty: it may). Length is what matters most (NIST SP
    800-63B); a password that contains the username or e-mail is refused."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    folded = password.casefold()
    for own in (user.username, (user.email or "").partition("@")[0]):
        if own and len(own) >= 3 and own.casefold() in folded:
            problems.append("Do not use your username or e-mail address in the password.")
            break
    if len(set(password)) < 4:
        problems.append("Use more different characters.")
    return problems


def issue(
    session: Session,
    user: User,
    purpose: str,
    *,
    ttl: timedelta,
    created_by: str | None,
    correlation_id: str,
    language: str = "en",
) -> IssuedLink:
    """Add a link for `user` to the session's transaction, with its event (ids only; a
    verification's also the language its e-mail is written in)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = PasswordLink(
        id=str(uuid.uuid4()),
        user_id=user.id,
        token_hash=digest(token),
        purpose=purpose,
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    session.flush()
    if purpose == INVITATION:
        record_event(
            session,
            "user_invited",
            {
                "user_id": user.id,
                "link_id": link.id,
                "organization_id": user.organization_id,
                "expires_at": link.expires_at,
            },
            correlation_id=correlation_id,
        )
    elif purpose == VERIFICATION:
        record_event(
            session,
            "email_verification_requested",
            {
                "user_id": user.id,
                "link_id": link.id,
                "expires_at": link.expires_at,
                "language": language,
            },
            correlation_id=correlation_id,
        )
    else:
        record_event(
            session,
            "password_reset_requested",
            {"user_id": user.id, "link_id": link.id, "expires_at": link.expires_at},
            correlation_id=correlation_id,
        )
    return IssuedLink(link.id, user.id, token, link.expires_at)


def _presented(session: Session, token: str) -> PasswordLink | None:
    """The link whose token (the one shown when it was made, or the one e-mailed) is `token`,
    locked for the caller's transaction."""
    presented = digest(token)
    return session.scalar(
        select(PasswordLink)
        .where(
            (PasswordLink.token_hash == presented) | (PasswordLink.delivery_token_hash == presented)
        )
        .with_for_update()
    )


def redeem(session: Session, token: str, password: str) -> User:
    """Set the password of the link's user, activate the user, use up the link (and any other
    link of the user) and revoke the user's refresh tokens. Raises InvalidInput."""
    now = utcnow()
    link = _presented(session, token)
    if (
        link is None
        or link.used_at is not None
        or link.expires_at <= now
        or link.purpose == VERIFICATION  # it verifies an address; it sets no password
    ):
        raise InvalidInput({"token": ["The link is unknown, used or expired; ask for a new one."]})
    user = session.get(User, link.user_id)
    if link.purpose == RESET and not user.active:
        # A deactivated user stays deactivated: a reset link does not bring them back.
        raise InvalidInput({"token": ["The link is unknown, used or expired; ask for a new one."]})
    if problems := password_problems(password, user):
        raise InvalidInput({"password": problems})
    # The conditional update claims the link: of two concurrent uses, one wins.
    if not claim(session, PasswordLink.used_at, link.id, now):
        raise InvalidInput({"token": ["The link is unknown, used or expired; ask for a new one."]})
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )
    user.password_hash = hash_password(password)
    user.active = True
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return user


def verify(session: Session, token: str) -> User:
    """A help-desk account's address is verified by its link: the account is active (it may
    sign in) and the link used up. Raises InvalidInput (`token`)."""
    now = utcnow()
    link = _presented(session, token)
    if (
        link is None
        or link.purpose != VERIFICATION
        or link.used_at is not None
        or link.expires_at <= now
        or not claim(session, PasswordLink.used_at, link.id, now)
    ):
        raise InvalidInput({"token": ["The link is unknown, used or expired; register again."]})
    user = session.get(User, link.user_id)
    user.active = True
    return user


def for_delivery(session: Session, link_id: str) -> dict | None:
    """A fresh token of a link that can still be used, for the notifications service to e-mail
    (it replaces the token delivered before, if any; the one shown when the link was made
    keeps working): `{"user_id", "purpose", "token", "expires_at"}`, or None for a link used,
    expired, or of a deactivated user (a reset)."""
    link = session.get(PasswordLink, link_id, with_for_update=True)
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    user = session.get(User, link.user_id)
    if link.purpose == RESET and not user.active:
        return None
    token = secrets.token_urlsafe(32)
    link.delivery_token_hash = digest(token)
    return {
        "user_id": link.user_id,
        "purpose": link.purpose,
        "token": token,
        "expires_at": link.expires_at.isoformat(),
    }
