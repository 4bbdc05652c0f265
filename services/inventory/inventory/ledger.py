"""The stock rules: every change is a ledger entry; balances never go below zero."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory.models import (
    QUARANTINED,
    USABLE,
    Discrepancy,
    Excursion,
    LedgerEntry,
    Lot,
    Product,
    new_id,
)

EXPIRING_WITHIN_DAYS = 30
# What the conditional stock UPDATEs hand back: enough for the ledger entry and the events.
_STOCK_ROW = (
    Lot.id,
    Lot.location_id,
    Lot.product_id,
    Lot.doses_on_hand,
    Lot.status,
    Lot.doses_held,
)


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
    product = session.get(Product, shipment["product_id"])
    if product is None:
        raise Unprocessable({"product_id": [f"Unknown product {shipment['product_id']!r}."]})
    if not product.active:
        raise Unprocessable({"product_id": [f"Product {product.id!r} is no longer in use."]})
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


def _record_discrepancy(
    session: Session, event: Event, lot_id: str, reason: str, now: datetime
) -> Discrepancy:
    dose = event.payload
    return record_discrepancy(
        session,
        dose["location_id"],
        lot_id,
        reason,
        now,
        source_event_id=event.id,
        administration_id=str(dose["administration_id"]),
        correlation_id=event.correlation_id,
    )


def record_discrepancy(
    session: Session,
    location_id: str,
    lot_id: str,
    reason: str,
    now: datetime,
    *,
    source_event_id: str,
    administration_id: str | None,
    correlation_id: str,
) -> Discrepancy:
    """A discrepancy kept for the location to reconcile, announced."""
    discrepancy = Discrepancy(
        location_id=location_id,
        lot_id=lot_id,
        reason=reason,
        administration_id=administration_id,
        source_event_id=source_event_id,
        detected_at=now,
    )
    session.add(discrepancy)
    session.flush()
    record_event(
        session,
        "inventory_discrepancy_recorded",
        {
            "discrepancy_id": discrepancy.id,
            "location_id": location_id,
            "lot_id": lot_id,
            "reason": reason,
            "source_event_id": source_event_id,
        },
        correlation_id=correlation_id,
    )
    return discrepancy


def lot_at(session: Session, location_id: str, lot_id, *, lock: bool = False) -> Lot:
    """The lot, if it is at this location; a lot elsewhere is as unknown as a missing one."""
    query = select(Lot).where(Lot.id == lot_id, Lot.location_id == location_id)
    lot = session.scalar(query.with_for_update(of=Lot) if lock else query)
    if lot is None:
        raise NotFound(f"lot {lot_id} not found at location {location_id}")
    return lot


def record_wastage(
    session: Session, location_id: str, lot_id: str, wastage: dict, *, correlation_id: str
) -> LedgerEntry:
    """Take wasted doses off a lot (any status: a quarantined lot's doses may be wasted too)."""
    doses = wastage["doses"]
    now = utcnow()
    lot = _take(session, location_id, lot_id, -doses, now, field="doses")
    entry = _add_entry(
        session,
        lot,
        "wasted",
        -doses,
        now,
        correlation_id=correlation_id,
        note=wastage.get("note"),
        wastage_reason=wastage["reason"],
    )
    _announce_wastage(session, lot, entry, correlation_id)
    return entry


def correct_stock(
    session: Session, location_id: str, lot_id: str, correction: dict, *, correlation_id: str
) -> LedgerEntry:
    """Correct a lot's stock after a count; the balance never goes below zero."""
    delta = correction["delta"]
    now = utcnow()
    lot = _take(session, location_id, lot_id, delta, now, field="delta")
    note = correction["note"]
    entry = _add_entry(
        session, lot, "correction", delta, now, correlation_id=correlation_id, note=note
    )
    _announce_adjustment(session, lot, entry, correlation_id)
    return entry


def _take(
    session: Session, location_id: str, lot_id: str, delta: int, now: datetime, *, field: str
) -> Row:
    """Change a lot's balance by `delta` in one conditional UPDATE (check and change at once,
    so concurrent changes serialize on the row); Unprocessable if it would go below zero, or
    below the doses held for an offer (those are released or shipped, not taken otherwise)."""
    lot = session.execute(
        update(Lot)
        .where(
            Lot.id == lot_id,
            Lot.location_id == location_id,
            Lot.doses_on_hand + delta >= Lot.doses_held,
        )
        .values(doses_on_hand=Lot.doses_on_hand + delta, updated_at=now)
        .returning(*_STOCK_ROW)
    ).first()
    if lot is None:
        current = lot_at(session, location_id, lot_id)  # NotFound if it is not here at all
        held = f" ({current.doses_held} of them held for an offer)" if current.doses_held else ""
        raise Unprocessable(
            {
                field: [
                    f"Only {current.doses_on_hand} doses are on hand in lot "
                    f"{current.lot_number}{held}; stock cannot go below zero."
                ]
            }
        )
    return lot


def lot_ledger(
    session: Session, location_id: str, lot_id: str, limit: int, before: str | None = None
) -> tuple[list[LedgerEntry], str | None]:
    """A page of the lot's ledger, newest first, and the cursor of the next (older) page.

    `before` is the id of the last entry of the previous page; the page holds the entries
    recorded before it (ties on the timestamp broken by id, so no entry is skipped or repeated).
    """
    lot_at(session, location_id, lot_id)
    query = select(LedgerEntry).where(LedgerEntry.lot_id == lot_id)
    if before is not None:
        cursor = session.get(LedgerEntry, before)
        if cursor is None or cursor.lot_id != lot_id:
            raise InvalidInput({"before": ["Not an entry of this lot's ledger."]})
        query = query.where(
            or_(
                LedgerEntry.recorded_at < cursor.recorded_at,
                and_(LedgerEntry.recorded_at == cursor.recorded_at, LedgerEntry.id < cursor.id),
            )
        )
    entries = list(
        session.scalars(
            query.order_by(LedgerEntry.recorded_at.desc(), LedgerEntry.id.desc()).limit(limit + 1)
        )
    )
    if len(entries) > limit:
        return entries[:limit], entries[limit - 1].id
    return entries, None


def report_excursion(
    session: Session, location_id: str, storage_unit: str, reading: dict, *, correlation_id: str
) -> tuple[Excursion, list[Lot]]:
    """Record a temperature excursion and quarantine every usable lot in that storage unit."""
    now = utcnow()
    excursion = Excursion(
        id=new_id(),
        location_id=location_id,
        storage_unit=storage_unit,
        observed_at=reading["observed_at"],
        min_c=reading.get("min_c"),
        max_c=reading.get("max_c"),
        temperature_c=reading.get("temperature_c"),
        note=reading.get("note"),
        reported_at=now,
    )
    session.add(excursion)
    # Locked, so a concurrent report on the same unit waits and then finds them quarantined.
    lots = list(
        session.scalars(
            select(Lot)
            .where(
                Lot.location_id == location_id,
                Lot.storage_unit == storage_unit,
                Lot.status == USABLE,
            )
            .order_by(Lot.expiration_date, Lot.lot_number)
            .with_for_update(of=Lot)
        )
    )
    for lot in lots:
        lot.status = QUARANTINED
        lot.excursion_id = excursion.id
        lot.quarantined_at = now
        lot.updated_at = now
        record_event(
            session,
            "lot_quarantined",
            {
                "lot_id": lot.id,
                "location_id": location_id,
                "product_id": lot.product_id,
                "storage_unit": storage_unit,
                "excursion_id": excursion.id,
                "observed_at": excursion.observed_at,
                "doses_on_hand": lot.doses_on_hand,
            },
            correlation_id=correlation_id,
        )
    session.flush()
    return excursion, lots


def release_lot(
    session: Session, location_id: str, lot_id: str, note: str, *, correlation_id: str
) -> Lot:
    """Put a quarantined lot back in use (its doses were found fine)."""
    lot = lot_at(session, location_id, lot_id, lock=True)
    if lot.status != QUARANTINED:
        raise Conflict(f"lot {lot.lot_number} is not quarantined")
    lot.status = USABLE
    lot.excursion_id = None
    lot.quarantined_at = None
    lot.updated_at = utcnow()
    record_event(
        session,
        "lot_released",
        {
            "lot_id": lot.id,
            "location_id": location_id,
            "product_id": lot.product_id,
            "note": note,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )
    session.flush()
    return lot


def expired_lot_ids(session: Session, today: date) -> list[str]:
    """Lots past their expiration date that still hold doses."""
    return list(
        session.scalars(
            select(Lot.id)
            .where(Lot.expiration_date < today, Lot.doses_on_hand > 0)
            .order_by(Lot.expiration_date, Lot.id)
        )
    )


def waste_expired_lot(
    session: Session, lot_id: str, today: date, *, correlation_id: str
) -> LedgerEntry | None:
    """Waste every remaining dose of an expired lot, reason `expired`. Returns None (and does
    nothing) when the lot is not expired or holds no dose, so running it again is harmless."""
    seen = session.execute(
        select(Lot.doses_on_hand).where(Lot.id == lot_id, Lot.expiration_date < today)
    ).scalar()
    if not seen:
        return None
    now = utcnow()
    # Conditional on the balance seen: if a dose or a count changed it meanwhile, leave the lot
    # to the next run rather than waste a number of doses that is no longer what is there.
    lot = session.execute(
        update(Lot)
        .where(Lot.id == lot_id, Lot.doses_on_hand == seen)
        .values(doses_on_hand=0, doses_held=0, updated_at=now)
        .returning(*_STOCK_ROW, Lot.expiration_date)
    ).first()
    if lot is None:
        return None
    # Doses held for an offer expired with the rest: their holds end (announced) with them.
    from inventory import holds  # holds builds on this module

    holds.close_holds_of_wasted_lot(session, lot, now, correlation_id=correlation_id)
    entry = _add_entry(
        session,
        lot,
        "wasted",
        -seen,
        now,
        correlation_id=correlation_id,
        note=f"Expired on {lot.expiration_date.isoformat()}.",
        wastage_reason="expired",
    )
    _announce_wastage(session, lot, entry, correlation_id)
    return entry


def notify_expiring_lots(
    session: Session, today: date, *, correlation_id: str, within_days: int = EXPIRING_WITHIN_DAYS
) -> list[str]:
    """Announce `lot_expiring`, once per lot, for lots with doses that expire within
    `within_days` of `today`. Returns the ids of the lots announced now."""
    now = utcnow()
    # Marking and selecting in one UPDATE: two concurrent runs cannot both announce a lot.
    rows = session.execute(
        update(Lot)
        .where(
            Lot.expiration_date >= today,
            Lot.expiration_date <= today + timedelta(days=within_days),
            Lot.doses_on_hand > 0,
            Lot.expiring_notified_at.is_(None),
        )
        .values(expiring_notified_at=now)
        .returning(
            Lot.id,
            Lot.location_id,
            Lot.product_id,
            Lot.lot_number,
            Lot.expiration_date,
            Lot.doses_on_hand,
        )
        .execution_options(synchronize_session=False)
    ).all()
    for row in sorted(rows, key=lambda r: (r.expiration_date, r.id)):
        record_event(
            session,
            "lot_expiring",
            {
                "lot_id": row.id,
                "location_id": row.location_id,
                "product_id": row.product_id,
                "lot_number": row.lot_number,
                "expiration_date": row.expiration_date,
                "days_left": (row.expiration_date - today).days,
                "doses_on_hand": row.doses_on_hand,
            },
            correlation_id=correlation_id,
        )
    return [row.id for row in rows]


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
    note: str | None = None,
    wastage_reason: str | None = None,
    vial_id: str | None = None,
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
        note=note,
        wastage_reason=wastage_reason,
        vial_id=vial_id,
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


def _announce_wastage(session: Session, lot: Row, entry: LedgerEntry, correlation_id: str):
    _announce_adjustment(session, lot, entry, correlation_id)
    record_event(
        session,
        "doses_wasted",
        {
            "ledger_entry_id": entry.id,
            "lot_id": lot.id,
            "location_id": lot.location_id,
            "product_id": lot.product_id,
            "doses": -entry.delta,
            "reason": entry.wastage_reason,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )
