"""The stock rules: every change is a ledger entry; balances never go below zero."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from cvms_platform.errors import Conflict, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory.models import Discrepancy, LedgerEntry, Lot, Product, new_id


def receive_lot(
    session: Session, location_id: str, shipment: dict, *, correlation_id: str
) -> tuple[Lot, bool]:
    """Record a shipment as a new lot; the same shipment id at a location is recorded once.

    Returns the lot and whether this call created it.
    """
    existing = session.scalar(
        select(Lot).where(
            Lot.location_id == location_id, Lot.shipment_id == shipment["shipment_id"]
        )
    )
    if existing is not None:
        if _shipment_of(existing) != _shipment_of(shipment):
            raise Conflict(
                f"shipment {shipment['shipment_id']} was already received with other contents"
            )
        return existing, False
    if session.get(Product, shipment["product_id"]) is None:
        raise Unprocessable({"product_id": [f"Unknown product {shipment['product_id']!r}."]})
    now = utcnow()
    if shipment["expiration_date"] < now.date():
        raise Unprocessable({"expiration_date": ["The lot has already expired."]})
    lot = Lot(
        location_id=location_id,
        shipment_id=shipment["shipment_id"],
        product_id=shipment["product_id"],
        lot_number=shipment["lot_number"],
        expiration_date=shipment["expiration_date"],
        storage_unit=shipment.get("storage_unit"),
        doses_received=shipment["doses"],
        doses_on_hand=shipment["doses"],
        received_at=now,
        updated_at=now,
    )
    session.add(lot)
    session.flush()
    _add_entry(session, lot, "received", shipment["doses"], now, correlation_id=correlation_id)
    record_event(
        session,
        "lot_received",
        {
            "lot_id": lot.id,
            "shipment_id": lot.shipment_id,
            "location_id": location_id,
            "product_id": lot.product_id,
            "lot_number": lot.lot_number,
            "expiration_date": lot.expiration_date,
            "doses": lot.doses_received,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )
    return lot, True


def _shipment_of(record) -> tuple:
    """What identifies a shipment's contents, from a Lot or from receive_lot's input."""
    get = record.get if isinstance(record, dict) else lambda name: getattr(record, name)
    doses = get("doses") if isinstance(record, dict) else record.doses_received
    return (get("product_id"), get("lot_number"), get("expiration_date"), doses)


def take_administered_dose(session: Session, event: Event) -> None:
    """Apply a `dose_administered` event: one dose off its lot, or a discrepancy if none is left."""
    dose = event.payload
    lot_id = str(dose["lot_id"])
    now = utcnow()
    # One conditional UPDATE is both the check and the decrement, so concurrent doses on the
    # last vial serialize on the row and exactly one of them finds stock.
    # RETURNING hands back the new balance in the same round trip.
    lot = session.execute(
        update(Lot)
        .where(Lot.id == lot_id, Lot.location_id == dose["location_id"], Lot.doses_on_hand >= 1)
        .values(doses_on_hand=Lot.doses_on_hand - 1, updated_at=now)
        .returning(Lot.id, Lot.location_id, Lot.product_id, Lot.doses_on_hand)
    ).first()
    if lot is not None:
        entry = _add_entry(
            session,
            lot,
            "administered",
            -1,
            now,
            correlation_id=event.correlation_id,
            source_event_id=event.id,
            reference_id=str(dose["administration_id"]),
        )
        _announce_adjustment(session, lot, entry, event.correlation_id)
        return
    lot = session.get(Lot, lot_id)
    reason = (
        "no_stock" if lot is not None and lot.location_id == dose["location_id"] else "unknown_lot"
    )
    discrepancy = Discrepancy(
        location_id=dose["location_id"],
        lot_id=lot_id,
        reason=reason,
        administration_id=str(dose["administration_id"]),
        source_event_id=event.id,
        detected_at=now,
    )
    session.add(discrepancy)
    session.flush()
    record_event(
        session,
        "inventory_discrepancy_recorded",
        {
            "discrepancy_id": discrepancy.id,
            "location_id": discrepancy.location_id,
            "lot_id": lot_id,
            "reason": reason,
            "source_event_id": event.id,
        },
        correlation_id=event.correlation_id,
    )


def resolve_discrepancy(session: Session, location_id: str, discrepancy_id: str, resolution: str):
    discrepancy = session.get(Discrepancy, discrepancy_id)
    if discrepancy is None or discrepancy.location_id != location_id:
        raise NotFound(f"discrepancy {discrepancy_id} not found at location {location_id}")
    if discrepancy.resolved_at is None:
        discrepancy.resolved_at = utcnow()
        discrepancy.resolution = resolution
    return discrepancy


def _add_entry(
    session: Session,
    lot: Lot | Row,
    reason: str,
    delta: int,
    at: datetime,
    *,
    correlation_id: str,
    source_event_id: str | None = None,
    reference_id: str | None = None,
) -> LedgerEntry:
    entry = LedgerEntry(
        id=new_id(),
        lot_id=lot.id,
        location_id=lot.location_id,
        product_id=lot.product_id,
        reason=reason,
        delta=delta,
        balance_after=lot.doses_on_hand,
        recorded_at=at,
        source_event_id=source_event_id,
        reference_id=reference_id,
        correlation_id=correlation_id,
    )
    session.add(entry)
    return entry


def _announce_adjustment(session: Session, lot: Lot | Row, entry: LedgerEntry, correlation_id: str):
    record_event(
        session,
        "inventory_adjusted",
        {
            "ledger_entry_id": entry.id,
            "location_id": lot.location_id,
            "lot_id": lot.id,
            "product_id": lot.product_id,
            "reason": entry.reason,
            "delta": entry.delta,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )
