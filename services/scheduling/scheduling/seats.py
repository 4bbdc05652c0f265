"""Seats of a slot: taken and given back only by conditional UPDATEs, never read-then-write.

Under READ COMMITTED, PostgreSQL re-checks `booked < capacity` on the row it locked, so of any
number of concurrent bookers exactly `capacity - booked` succeed; the CHECK constraint
(booked <= capacity) backs that up should any other statement try."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from scheduling.exceptions import SLOT_FULL, SLOT_UNAVAILABLE, NotFound, conflict
from scheduling.models import LocationSettings, Slot

# Core statements on the tables, not ORM ones: a booking rush is mostly these two statements,
# and the ORM's bulk-update and identity-map machinery was a third of the service's time.
_slots = Slot.__table__
_settings = LocationSettings.__table__
# The location's time zone comes with the seat: the slot's local day decides age rules.
_TIME_ZONE = (
    select(_settings.c.time_zone)
    .where(_settings.c.location_id == _slots.c.location_id)
    .scalar_subquery()
    .label("time_zone")
)
_TAKEN = (
    _slots.c.id,
    _slots.c.clinic_day_id,
    _slots.c.location_id,
    _slots.c.product_id,
    _slots.c.starts_at,
    _TIME_ZONE,
)


def try_take(session: Session, slot_id: str, now: datetime) -> Row | None:
    """One seat of an open, future slot with its location's time zone, or None."""
    return (
        session.connection()
        .execute(
            update(_slots)
            .where(
                _slots.c.id == slot_id,
                _slots.c.booked < _slots.c.capacity,
                _slots.c.open.is_(True),
                _slots.c.starts_at > now,
            )
            .values(booked=_slots.c.booked + 1)
            .returning(*_TAKEN)
        )
        .one_or_none()
    )


def describe(session: Session, slot_id: str) -> Row | None:
    """What a refused booking is told about: the slot as `try_take` returns it, plus whether it
    is open (a Core row: no ORM identity map work on the refusal path of a rush)."""
    return session.execute(select(*_TAKEN, Slot.open).where(Slot.id == slot_id)).one_or_none()


def refuse(slot: Row | None, slot_id: str, now: datetime) -> None:
    """Raise why `slot` (from `describe`) had no seat to give."""
    if slot is None:
        raise NotFound(f"slot {slot_id} not found")
    if not slot.open or slot.starts_at <= now:
        raise conflict(SLOT_UNAVAILABLE, "This slot is no longer open for booking.")
    raise conflict(SLOT_FULL, "This slot is fully booked; choose another or join the waitlist.")


def take(session: Session, slot_id: str, now: datetime) -> Row:
    """One seat of an open, future slot; raises Conflict `slot_full` when none is left."""
    row = try_take(session, slot_id, now)
    if row is None:
        refuse(describe(session, slot_id), slot_id, now)
    return row


def give_back(session: Session, slot_id: str) -> None:
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )
