"""Managing users: who may see and change whom, creating a location user with an invitation,
deactivating one, and finding users for the help desk."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cvms_platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from cvms_platform.timeutil import utcnow
from identity.actors import Actor
from identity.models import Location, PasswordLink, RefreshToken, User
from identity.passwords import NO_PASSWORD, hash_password

# Who an organization admin may manage: the people of the organization's locations.
MANAGED_BY_ORG_ADMIN = ("location_manager", "vaccinator")


def visible(session: Session, principal: Actor, user_id: str) -> User:
    """The user, if the caller may look at them (an org admin: their organization's users)."""
    user = session.get(User, user_id) if _is_uuid(user_id) else None
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    if principal.role == "org_admin" and user.organization_id != principal.organization_id:
        raise NotFound(f"User {user_id} not found.")
    return user


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def find(session: Session, principal: Actor, query: str | None, limit: int) -> list[User]:
    """Users whose username or e-mail starts with `query` (case folded)."""
    statement = select(User).order_by(User.username).limit(limit)
    if query:
        pattern = query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(
            or_(
                func.lower(User.username).like(f"{pattern}%", escape="\\"),
                func.lower(User.email).like(f"{pattern}%", escape="\\"),
            )
        )
    if principal.role == "org_admin":
        statement = statement.where(User.organization_id == principal.organization_id)
    return list(session.scalars(statement))


def create_location_user(
    session: Session, organization_id: str, name: str, email: str, role: str, locations: list[str]
) -> User:
    """A new user (inactive until they set a password) of the organization's locations."""
    owned = set(
        session.scalars(
            select(Location.id).where(
                Location.organization_id == organization_id, Location.id.in_(locations)
            )
        )
    )
    if missing := sorted(set(locations) - owned):
        raise Unprocessable(
            {"location_ids": [f"Not a location of the organization: {', '.join(missing)}."]}
        )
    username = email.casefold()
    if session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise Conflict(f"{email} already has an account.")
    user = invited_user(
        username,
        name,
        role,
        locations=locations,
        organization_id=organization_id,
        at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def invited_user(
    email: str,
    name: str,
    role: str,
    *,
    locations: list[str],
    at: datetime,
    organization_id: str | None = None,
) -> User:
    """A user known by their (case-folded) e-mail, inactive until they set a password through
    the invitation they are sent."""
    return User(
        id=str(uuid.uuid4()),
        username=email,
        email=email,
        display_name=name,
        location_ids=sorted(set(locations)),
        password_hash=NO_PASSWORD,
        role=role,
        organization_id=organization_id,
        active=False,
        created_at=at,
    )


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def active_user(
    username: str,
    password: str,
    role: str,
    *,
    locations: list[str],
    at: datetime,
    organization_id: str | None = None,
    recipient_id: str | None = None,
) -> User:
    """A user who may sign in at once with the password given: an operator's or the demo's."""
    return User(
        username=username,
        role=role,
        location_ids=locations,
        password_hash=hash_password(password),
        organization_id=organization_id,
        recipient_id=recipient_id,
        active=True,
        created_at=at,
    )


def register_requester(session: Session, username: str, password_hash: str) -> User | None:
    """A help-desk account (role `requester`), inactive until its address is verified; its
    username is the address (lower case, as the caller gives it). An address with an unverified
    help-desk account gets that account back (to send a new link; the password is the new one);
    any other taken address None (the caller answers the same either way, so the answer does not
    tell who has an account)."""
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is not None:
        if user.role != "requester" or user.active:
            return None
        user.password_hash = password_hash
        return user
    user = User(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=password_hash,
        role="requester",
        location_ids=[],
        email=username,
        active=False,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def create_recipient_account(session: Session, account: dict, password_hash: str) -> dict:
    """A recipient's own account (active at once: they proved who they are). Raises Conflict
    `username_taken` or `recipient_has_account`; run it with `DatabaseAccess.idempotent`, so a
    concurrent claim that won is found on the second run."""
    if username_taken(session, account["username"]):
        raise Conflict("This username is taken; choose another.", "username_taken")
    if session.scalar(select(User.id).where(User.recipient_id == account["recipient_id"])):
        raise Conflict("The record has an account.", "recipient_has_account")
    user = User(
        id=str(uuid.uuid4()),
        username=account["username"],
        password_hash=password_hash,
        role="recipient",
        location_ids=[],
        recipient_id=account["recipient_id"],
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return {"username": user.username, "role": user.role}


def deactivate(session: Session, principal: Actor, user: User) -> None:
    """The user can no longer sign in or refresh: sessions and unused links end too (the caller
    also revokes the user's access tokens, which live in Redis, after the commit)."""
    if user.id == principal.user_id:
        raise Conflict("You cannot deactivate yourself.")
    if principal.role == "org_admin" and user.role not in MANAGED_BY_ORG_ADMIN:
        raise Forbidden("Organization admins manage location users only.")
    now = utcnow()
    user.active = False
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
    )


def acts_for(session: Session, user: User) -> list[str]:
    """The locations a user acts for: an organization admin's are the organization's locations
    (read each time, so a newly enrolled location is included); anyone else's are stored on
    the user."""
    if user.role != "org_admin" or not user.organization_id:
        return sorted(user.location_ids or [])
    query = select(Location.id).where(Location.organization_id == user.organization_id)
    return sorted(session.scalars(query))


def view(session: Session, user: User) -> dict:
    """The user as the UserView answer has them (the gateway adds the sign-in lockout, which
    lives at the edge)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "active": user.active,
        "organization_id": user.organization_id,
        "location_ids": acts_for(session, user),
        "created_at": user.created_at,
    }


def staff_of(session: Session, location_id: str, roles: list[str]) -> list[str]:
    """Active users of `roles` who act for the location, by username."""
    organization = session.scalar(
        select(Location.organization_id).where(Location.id == location_id)
    )
    candidates = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(roles)).order_by(User.username)
    )
    return [
        user.id
        for user in candidates
        if location_id in (user.location_ids or [])
        or (user.role == "org_admin" and organization and user.organization_id == organization)
    ]
