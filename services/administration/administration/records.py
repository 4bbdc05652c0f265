"""Recording doses: each one once, against a lot known to be at that location."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from administration.models import Administration, KnownLot, Recipient
from cvms_platform.envelope import Event
from cvms_platform.errors import Conflict, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow

CLOCK_SKEW = timedelta(minutes=5)
MAX_DOSE_NUMBER = 10

LotLookup = Callable[[str], dict | None]


def remember_lot(session: Session, lot: dict) -> KnownLot:
    known = KnownLot(
        id=str(lot["id"] if "id" in lot else lot["lot_id"]),
        location_id=lot["location_id"],
        product_id=lot["product_id"],
        lot_number=lot["lot_number"],
        expiration_date=_as_date(lot["expiration_date"]),
    )
    return session.merge(known)


def on_lot_received(session: Session, event: Event) -> None:
    remember_lot(session, event.payload)


def record_dose(
    session: Session,
    dose: dict,
    *,
    recorded_by: str,
    correlation_id: str,
    lookup_lot: LotLookup,
) -> tuple[Administration, bool]:
    """Record a dose; the same record id recorded again returns the first record unchanged."""
    record_id = str(dose["id"])
    existing = session.get(Administration, record_id)
    if existing is not None:
        if existing.recipient_id != str(dose["recipient_id"]) or existing.lot_id != str(
            dose["lot_id"]
        ):
            raise Conflict(f"record id {record_id} is already used for a different dose")
        return existing, False

    errors: dict[str, list[str]] = {}
    if session.get(Recipient, str(dose["recipient_id"])) is None:
        errors["recipient_id"] = ["Unknown recipient."]
    if dose["administered_at"] > utcnow() + CLOCK_SKEW:
        errors["administered_at"] = ["A dose cannot be recorded in the future."]
    lot = _find_lot(session, str(dose["lot_id"]), lookup_lot)
    if lot is None:
        errors["lot_id"] = ["Unknown lot."]
    elif lot.location_id != dose["location_id"]:
        errors["lot_id"] = ["This lot is not held at that location."]
    elif dose["administered_at"].date() > lot.expiration_date:
        errors["lot_id"] = [f"This lot expired on {lot.expiration_date.isoformat()}."]
    dose_number = dose.get("dose_number") or _next_dose_number(session, str(dose["recipient_id"]))
    if dose_number > MAX_DOSE_NUMBER:
        # The dose_administered contract stops at MAX_DOSE_NUMBER; refuse rather than crash.
        errors["dose_number"] = [f"A recipient has at most {MAX_DOSE_NUMBER} doses recorded."]
    if errors:
        raise Unprocessable(errors)

    administration = Administration(
        id=record_id,
        recipient_id=str(dose["recipient_id"]),
        location_id=dose["location_id"],
        lot_id=lot.id,
        product_id=lot.product_id,
        lot_number=lot.lot_number,
        dose_number=dose_number,
        administered_at=dose["administered_at"],
        recorded_at=utcnow(),
        recorded_by=recorded_by,
    )
    session.add(administration)
    session.flush()
    record_event(
        session,
        "dose_administered",
        {
            "administration_id": administration.id,
            "recipient_id": administration.recipient_id,
            "location_id": administration.location_id,
            "lot_id": administration.lot_id,
            "product_id": administration.product_id,
            "lot_number": administration.lot_number,
            "dose_number": administration.dose_number,
            "administered_at": administration.administered_at,
        },
        correlation_id=correlation_id,
    )
    return administration, True


def _find_lot(session: Session, lot_id: str, lookup_lot: LotLookup) -> KnownLot | None:
    known = session.get(KnownLot, lot_id)
    if known is not None:
        return known
    # The lot_received event may not have arrived yet: ask inventory, and remember the answer.
    lot = lookup_lot(lot_id)
    return remember_lot(session, lot) if lot else None


def _next_dose_number(session: Session, recipient_id: str) -> int:
    given = session.scalar(select(func.count()).where(Administration.recipient_id == recipient_id))
    return (given or 0) + 1


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
