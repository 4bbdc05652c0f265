"""Registering recipients from the paper form's data; a likely duplicate is matched, not added."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from administration.models import Recipient
from administration.schemas import CHANNELS, phone_digits
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow


def register(session: Session, data: dict, *, correlation_id: str) -> tuple[Recipient, bool]:
    """The recipient and True when new; an existing likely duplicate and False otherwise.

    A likely duplicate has the same given and family name (ignoring case and surrounding
    spaces), the same date of birth, and the same phone number (digits) or e-mail (ignoring
    case). The existing record is returned unchanged."""
    match = find_match(session, data)
    if match is not None:
        return match, False
    channels = data["contact_preferences"]
    recipient = Recipient(**recipient_columns(data), created_at=utcnow())
    session.add(recipient)
    session.flush()
    record_event(
        session,
        "recipient_registered",
        {
            "recipient_id": recipient.id,
            "preferred_language": recipient.preferred_language,
            "contact_channels": [c for c in CHANNELS if channels.get(c)],
        },
        correlation_id=correlation_id,
    )
    return recipient, True


def recipient_columns(form: dict) -> dict:
    """A new recipient's columns (but its id and created_at) from the registration form's data,
    as NewRecipientSchema loads it."""
    address = form.get("address") or {}
    channels = form["contact_preferences"]
    return {
        "given_name": form["given_name"].strip(),
        "family_name": form["family_name"].strip(),
        "birth_date": form["birth_date"],
        "sex": form.get("sex"),
        "race": form.get("race"),
        "ethnicity": form.get("ethnicity"),
        "address_line1": address.get("line1"),
        "address_line2": address.get("line2"),
        "city": address.get("city"),
        "state": address.get("state"),
        "postal_code": address.get("postal_code"),
        "phone": form.get("phone"),
        "email": form.get("email"),
        "preferred_language": form["preferred_language"],
        **{f"contact_{channel}": bool(channels.get(channel)) for channel in CHANNELS},
    }


def contact(phone: str | None, email: str | None) -> tuple[str, str]:
    """The phone's digits and the folded e-mail: ("", "") for someone with neither."""
    return phone_digits(phone), (email or "").strip().lower()


def same_contact(candidate, phone: str, email: str) -> bool:
    """Registration's rule for a likely duplicate, beside the same names and birth date: the
    same phone or the same e-mail (`phone`, `email` as `contact` folds them)."""
    theirs = contact(candidate.phone, candidate.email)
    return bool((phone and theirs[0] == phone) or (email and theirs[1] == email))


def find_match(session: Session, data: dict) -> Recipient | None:
    phone, email = contact(data.get("phone"), data.get("email"))
    if not phone and not email:
        return None
    candidates = session.scalars(
        select(Recipient)
        .where(
            Recipient.birth_date == data["birth_date"],
            func.lower(func.trim(Recipient.given_name)) == data["given_name"].strip().lower(),
            func.lower(func.trim(Recipient.family_name)) == data["family_name"].strip().lower(),
        )
        .order_by(Recipient.created_at)
    )
    return next((c for c in candidates if same_contact(c, phone, email)), None)


# -- staff finding a recipient --------------------------------------------------------------------
PHONE_PUNCTUATION = (" ", "(", ")", "-", ".", "+")


def _phone_digits_sql(column):
    """The stored phone's digits, in SQL (PostgreSQL and SQLite alike): punctuation removed."""
    expression = column
    for mark in PHONE_PUNCTUATION:
        expression = func.replace(expression, mark, "")
    return expression


def search(session: Session, query: dict) -> tuple[list[Recipient], bool]:
    """Recipients matching a staff search, at most `limit`, and whether more matched.

    By identity: the folded family name and birth date (through the folded-identity index that
    registration uses), the given name as a folded prefix when given. Or by phone: the same
    digits, with or without the US country code."""
    limit = query["limit"]
    statement = select(Recipient)
    if query.get("phone"):
        digits = phone_digits(query["phone"])
        statement = statement.where(_phone_digits_sql(Recipient.phone).in_([digits, f"1{digits}"]))
    if query.get("family_name") and query.get("birth_date") is not None:
        statement = statement.where(
            func.lower(func.trim(Recipient.family_name)) == query["family_name"].strip().lower(),
            Recipient.birth_date == query["birth_date"],
        )
    if given := (query.get("given_name") or "").strip().lower():
        escaped = given.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(
            func.lower(func.trim(Recipient.given_name)).like(f"{escaped}%", escape="\\")
        )
    found = session.scalars(
        statement.order_by(Recipient.family_name, Recipient.given_name, Recipient.id).limit(
            limit + 1
        )
    ).all()
    return list(found[:limit]), len(found) > limit


def masked_phone(phone: str | None) -> str | None:
    """Enough of a phone number to tell two people apart: its last four digits."""
    digits = phone_digits(phone)
    return f"***-***-{digits[-4:]}" if len(digits) >= 4 else None


def masked_email(email: str | None) -> str | None:
    """Enough of an e-mail address to tell two people apart: its first letter and domain."""
    if not email or "@" not in email:
        return None
    local, domain = email.strip().rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def match_summary(recipient: Recipient) -> dict:
    """A search result: who they are, and their contact details masked."""
    return {
        "id": recipient.id,
        "given_name": recipient.given_name,
        "family_name": recipient.family_name,
        "birth_date": recipient.birth_date.isoformat(),
        "phone": masked_phone(recipient.phone),
        "email": masked_email(recipient.email),
    }
