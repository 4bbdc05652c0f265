"""Seats of a slot: taken and given back only by conditional UPDATEs, never read-then-write.

Under READ COMMITTED, PostgreSQL re-checks `booked < capacity` on the row it locked, so of any
number of concurrent bookers exactly `capacity - booked` succeed; the CHECK constraint
(booked <= capacity) backs that up should any other statement try."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from scheduling.exceptions import SLOT_FULL, SLOT_UNAVAILABLE, NotFound, conflict
from scheduling.models import Slot

_TAKEN = (Slot.id, Slot.clinic_day_id, Slot.location_id, Slot.product_id, Slot.starts_at)


def take(session: Session, slot_id: str, now: datetime) -> Row:
    """One seat of an open, future slot; raises Conflict `slot_full` when none is left."""
    row = session.execute(
        update(Slot)
        .where(
            Slot.id == slot_id,
            Slot.booked < Slot.capacity,
            Slot.open.is_(True),
            Slot.starts_at > now,
        )
        .values(booked=Slot.booked + 1)
        .returning(*_TAKEN)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is not None:
        return row
    slot = session.get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise NotFound(f"slot {slot_id} not found")
    if not slot.open or slot.starts_at <= now:
        raise conflict(SLOT_UNAVAILABLE, "This slot is no longer open for booking.")
    raise conflict(SLOT_FULL, "This slot is fully booked; choose another or join the waitlist.")


def give_back(session: Session, slot_id: str) -> None:
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )
