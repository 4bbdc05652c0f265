"""What a recipient sees and may change of their own record (the gateway's /me routes), and
the proof a recipient gives to claim an account: details printed on their vaccination card."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from administration.models import COMPLETED, Administration, Product, Recipient
from administration.schemas import CHANNELS

# A card shows the local day; US time zones put a local day within this span of UTC time.
CLAIM_DAY_SPAN = timedelta(hours=36)


def verify_claim(
    session: Session, family_name: str, birth_date: date, lot_number: str, administered_on: date
) -> str | None:
    """The recipient id when exactly one recipient with this family name and date of birth has a
    dose of this lot on that day; None otherwise (no match, or more than one: never a guess)."""
    start = datetime.combine(administered_on, time.min, tzinfo=UTC)
    matches = session.scalars(
        select(Recipient.id)
        .join(Administration, Administration.recipient_id == Recipient.id)
        .where(
            func.lower(func.trim(Recipient.family_name)) == family_name.strip().lower(),
            Recipient.birth_date == birth_date,
            func.upper(Administration.lot_number) == lot_number.strip().upper(),
            Administration.status == COMPLETED,
            Administration.administered_at >= start,
            Administration.administered_at < start + CLAIM_DAY_SPAN,
        )
        .distinct()
        .limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def vaccinations(session: Session, recipient_id: str) -> list[dict]:
    """The recipient's doses as given (voided ones, entered in error, are left out)."""
    rows = session.execute(
        select(Administration, Product)
        .outerjoin(Product, Product.id == Administration.product_id)
        .where(Administration.recipient_id == recipient_id, Administration.status == COMPLETED)
        .order_by(Administration.administered_at, Administration.dose_number)
    ).all()
    return [
        {
            "id": dose.id,
            "administered_at": dose.administered_at.isoformat(),
            "dose_number": dose.dose_number,
            "product_id": dose.product_id,
            "product_name": product.name if product else dose.product_id,
            "cap_color": product.cap_color if product else None,
            "manufacturer": product.manufacturer if product else None,
            "lot_number": dose.lot_number,
            "location_id": dose.location_id,
            "site": dose.site,
            "route": dose.route,
        }
        for dose, product in rows
    ]


def update_contact(session: Session, recipient: Recipient, change: dict) -> Recipient:
    """Apply a validated contact change (only the fields given)."""
    if "address" in change:
        address = change["address"] or {}
        recipient.address_line1 = address.get("line1")
        recipient.address_line2 = address.get("line2")
        recipient.city = address.get("city")
        recipient.state = address.get("state")
        recipient.postal_code = address.get("postal_code")
    for name in ("phone", "email", "preferred_language"):
        if name in change:
            setattr(recipient, name, change[name])
    if "contact_preferences" in change:
        for channel in CHANNELS:
            setattr(recipient, f"contact_{channel}", bool(change["contact_preferences"][channel]))
    session.flush()
    return recipient
