"""Which lots are quarantined: administration's projection of inventory's `lot_quarantined` and
`lot_released` events, so recording a dose refuses one from a quarantined lot without asking
inventory.

Events of one lot may arrive in any order (retries, redeliveries, several consumers): each change
carries the time inventory made it, and only a newer change replaces the state kept. A quarantine
of a lot administration has not heard of yet is kept all the same (the state has a table of its
own, needing no lot number or expiration date), so a later `lot_received` finds it in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from administration.models import KnownLot, LotQuarantine
from cvms_platform.envelope import Event
from cvms_platform.timeutil import as_utc, utcnow

# A clinical rule, overridable with a reason like the others: a dose from a lot quarantined (a
# temperature excursion in its storage unit) when it was given.
QUARANTINED_LOT = "quarantined_lot"
QUARANTINED = "quarantined"


def on_lot_quarantined(session: Session, event: Event) -> None:
    _note_event(session, event, quarantined_at=event.occurred_at)


def on_lot_released(session: Session, event: Event) -> None:
    _note_event(session, event, quarantined_at=None)


def _note_event(session: Session, event: Event, *, quarantined_at: datetime | None) -> None:
    payload = event.payload
    note_state(
        session,
        str(payload["lot_id"]),
        payload["location_id"],
        quarantined_at=quarantined_at,
        as_of=event.occurred_at,
    )


def note_inventory_answer(session: Session, lot: dict) -> None:
    """Keep the state of a lot as inventory answered it just now (get_lot, choose_lot), if the
    answer says: an event inventory sent before answering changes nothing afterwards."""
    if "status" not in lot:
        return
    quarantined_at = lot.get("quarantined_at") if lot["status"] == QUARANTINED else None
    if lot["status"] == QUARANTINED and quarantined_at is None:
        quarantined_at = utcnow()
    note_state(
        session,
        str(lot["id"] if "id" in lot else lot["lot_id"]),
        lot["location_id"],
        quarantined_at=_as_datetime(quarantined_at) if quarantined_at is not None else None,
        as_of=utcnow(),
    )


def note_state(
    session: Session,
    lot_id: str,
    location_id: str,
    *,
    quarantined_at: datetime | None,
    as_of: datetime,
) -> None:
    """Keep this state of the lot unless a newer one is kept already."""
    state = session.get(LotQuarantine, lot_id, with_for_update=True)
    if state is None:
        try:
            # In a savepoint: a concurrent first state of the same lot may commit first.
            with session.begin_nested():
                session.add(
                    LotQuarantine(
                        lot_id=lot_id,
                        location_id=location_id,
                        quarantined_at=quarantined_at,
                        changed_at=as_of,
                    )
                )
            return
        except IntegrityError:
            state = session.get(LotQuarantine, lot_id, with_for_update=True, populate_existing=True)
    if as_utc(state.changed_at) > as_of:
        return
    state.location_id = location_id
    state.quarantined_at = quarantined_at
    state.changed_at = as_of
    session.flush()


def quarantine_problem(session: Session, lot: KnownLot, given_at: datetime) -> str | None:
    """Why a dose given at `given_at` may not come from this lot (it was quarantined then at the
    lot's location), if so. A dose given before the quarantine began is fine."""
    state = session.get(LotQuarantine, lot.id)
    if state is None or state.quarantined_at is None or state.location_id != lot.location_id:
        return None
    since = as_utc(state.quarantined_at)
    if since > given_at:
        return None
    return (
        f"This lot has been quarantined since {since.isoformat()} "
        "(a temperature excursion): its doses may not be fit for use."
    )


def _as_datetime(value) -> datetime:
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))
