"""Provider enrollment: an applicant's draft, its submission, and a state admin's decision.

The applicant holds the draft through an edit token (shown once, kept as its SHA-256 digest).
A rejected enrollment goes back to the applicant with the reason and keeps both sections, so
the locations and their users are corrected, not typed again. Approval creates, in one
transaction, the organization, its locations, its users (inactive until they set a password
through their one-time link), and the events announcing them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cvms_platform import validation
from cvms_platform.answers.identity import EnrollmentForm
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from identity import password_links
from identity.accounts import invited_user
from identity.models import Enrollment, Location, Organization, User

DRAFT, SUBMITTED, APPROVED, REJECTED = "draft", "submitted", "approved", "rejected"
EDITABLE = (DRAFT, REJECTED)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _empty_form() -> dict:
    return {"organization": {}, "locations": []}


def start(session: Session, form: dict) -> tuple[Enrollment, str]:
    """A new draft holding what was given; returns it and its edit token (shown once)."""
    validation.load(EnrollmentForm(partial=True), form)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    enrollment = Enrollment(
        id=str(uuid.uuid4()),
        edit_token_hash=_digest(token),
        status=DRAFT,
        organization=form.get("organization", {}),
        locations=form.get("locations", []),
        created_at=now,
        updated_at=now,
    )
    session.add(enrollment)
    return enrollment, token


def held(session: Session, enrollment_id: str, token: str | None, *, lock: bool = False):
    """The enrollment, if `token` is its edit token; NotFound otherwise (whether it exists or the
    token is wrong, the answer is the same)."""
    query = select(Enrollment).where(Enrollment.id == enrollment_id)
    enrollment = session.scalar(query.with_for_update() if lock else query)
    if (
        enrollment is None
        or not token
        or not hmac.compare_digest(enrollment.edit_token_hash, _digest(token))
    ):
        raise NotFound(f"Enrollment {enrollment_id} not found.")
    return enrollment


def save(enrollment: Enrollment, form: dict) -> None:
    """Replace the sections given; the others stay as saved."""
    validation.load(EnrollmentForm(partial=True), form)
    if enrollment.status not in EDITABLE:
        raise Conflict(f"The enrollment is {enrollment.status}; it can no longer be changed.")
    if "organization" in form:
        enrollment.organization = form["organization"]
    if "locations" in form:
        enrollment.locations = form["locations"]
    enrollment.updated_at = utcnow()


def _complete(enrollment: Enrollment) -> dict:
    """The form, checked completely; Unprocessable with a message per field."""
    form = {"organization": enrollment.organization, "locations": enrollment.locations}
    try:
        return validation.load(EnrollmentForm(), form)
    except InvalidInput as exc:  # saved as a draft, but incomplete or inconsistent
        raise Unprocessable(exc.errors) from None


def _taken(session: Session, form: dict) -> dict:
    """Location ids and usernames that exist already, as field errors."""
    errors: dict = {}
    ids = [location["id"] for location in form["locations"]]
    for location_id in session.scalars(select(Location.id).where(Location.id.in_(ids))):
        index = ids.index(location_id)
        errors[f"locations.{index}.id"] = [f"Location id {location_id} is taken; choose another."]
    emails = {form["organization"]["primary_contact"]["email"].casefold()} | {
        user["email"].casefold() for location in form["locations"] for user in location["users"]
    }
    taken = session.scalars(
        select(User.username).where(func.lower(User.username).in_(sorted(emails)))
    ).all()
    if taken:
        errors["users"] = [f"{email} already has an account." for email in sorted(taken)]
    return errors


def submit(session: Session, enrollment: Enrollment) -> None:
    if enrollment.status not in EDITABLE:
        raise Conflict(f"The enrollment is {enrollment.status}; it cannot be submitted again.")
    form = _complete(enrollment)
    if errors := _taken(session, form):
        raise Unprocessable(errors)
    now = utcnow()
    enrollment.status = SUBMITTED
    enrollment.submitted_at = enrollment.updated_at = now


def for_review(session: Session, enrollment_id: str, *, lock: bool = False) -> Enrollment:
    query = select(Enrollment).where(Enrollment.id == enrollment_id)
    enrollment = session.scalar(query.with_for_update() if lock else query)
    if enrollment is None or enrollment.status == DRAFT:
        # A draft is the applicant's own until submitted.
        raise NotFound(f"Enrollment {enrollment_id} not found.")
    return enrollment


def reject(enrollment: Enrollment, reason: str, admin_id: str) -> None:
    if enrollment.status != SUBMITTED:
        raise Conflict(f"The enrollment is {enrollment.status}; only a submitted one is decided.")
    now = utcnow()
    enrollment.status = REJECTED
    enrollment.rejection_reason = reason
    enrollment.decided_by = admin_id
    enrollment.decided_at = enrollment.updated_at = now


@dataclass(frozen=True)
class Invitation:
    user: User
    link: password_links.IssuedLink


@dataclass(frozen=True)
class Approved:
    organization_id: str
    location_ids: list[str]
    invitations: list[Invitation]


def approve(
    session: Session,
    enrollment: Enrollment,
    admin_id: str,
    *,
    link_ttl: timedelta,
    correlation_id: str,
) -> Approved:
    """Create the organization, its locations and users with their links, and the events."""
    if enrollment.status != SUBMITTED:
        raise Conflict(f"The enrollment is {enrollment.status}; only a submitted one is decided.")
    form = _complete(enrollment)
    if errors := _taken(session, form):
        # Taken since it was submitted: the applicant must change it (reject with a reason).
        raise Conflict("Part of the enrollment is taken meanwhile.", "conflict", errors)
    now = utcnow()
    organization_id = f"org-{uuid.uuid4().hex[:12]}"
    section_a = form["organization"]
    session.add(
        Organization(
            id=organization_id,
            legal_name=section_a["legal_name"],
            address=section_a["address"],
            enrollment_id=enrollment.id,
            created_at=now,
        )
    )
    users: dict[str, User] = {}
    for location in form["locations"]:
        details = {key: location[key] for key in ("address", "phone", "type", "storage_capacity")}
        session.add(
            Location(
                id=location["id"],
                name=location["name"],
                organization_id=organization_id,
                details=details,
                created_at=now,
            )
        )
        for person in location["users"]:
            email = person["email"].casefold()
            user = users.get(email)
            if user is None:
                user = users[email] = invited_user(
                    email, person["name"], person["role"], locations=[], at=now
                )
            user.location_ids = [*user.location_ids, location["id"]]
    contact = section_a["primary_contact"]
    admin = invited_user(
        contact["email"].casefold(), contact["name"], "org_admin", locations=[], at=now
    )
    admin.location_ids = []  # an org admin acts for the organization's locations, read at sign-in
    for user in (admin, *users.values()):
        user.organization_id = organization_id
        session.add(user)
    session.flush()
    location_ids = [location["id"] for location in form["locations"]]
    record_event(
        session,
        "provider_enrolled",
        {
            "organization_id": organization_id,
            "enrollment_id": enrollment.id,
            "legal_name": section_a["legal_name"],
            "address": section_a["address"],
            "location_ids": location_ids,
        },
        correlation_id=correlation_id,
    )
    for location in form["locations"]:
        record_event(
            session,
            "location_enrolled",
            {
                "location_id": location["id"],
                "organization_id": organization_id,
                "name": location["name"],
                "address": location["address"],
                "phone": location["phone"],
            },
            correlation_id=correlation_id,
        )
    invitations = [
        Invitation(
            user,
            password_links.issue(
                session,
                user,
                password_links.INVITATION,
                ttl=link_ttl,
                created_by=admin_id,
                correlation_id=correlation_id,
            ),
        )
        for user in (admin, *users.values())
    ]
    enrollment.status = APPROVED
    enrollment.organization_id = organization_id
    enrollment.decided_by = admin_id
    enrollment.decided_at = enrollment.updated_at = now
    return Approved(organization_id, location_ids, invitations)


def summary(enrollment: Enrollment) -> dict:
    return {
        "id": enrollment.id,
        "status": enrollment.status,
        "legal_name": (enrollment.organization or {}).get("legal_name"),
        "location_count": len(enrollment.locations or []),
        "submitted_at": enrollment.submitted_at,
    }


def view(enrollment: Enrollment) -> dict:
    return {
        "id": enrollment.id,
        "status": enrollment.status,
        "organization": enrollment.organization or {},
        "locations": enrollment.locations or [],
        "rejection_reason": enrollment.rejection_reason,
        "organization_id": enrollment.organization_id,
        "created_at": enrollment.created_at,
        "updated_at": enrollment.updated_at,
        "submitted_at": enrollment.submitted_at,
        "decided_at": enrollment.decided_at,
    }


def submitted(session: Session, status: str, limit: int) -> list[Enrollment]:
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.status == status)
            .order_by(Enrollment.submitted_at, Enrollment.id)
            .limit(limit)
        )
    )
