"""Holds: doses of a lot set aside for a marketplace offer, and their shipment to the location
that claimed them.

A hold counts in its lot's `doses_held`: those doses stay on hand (they are on the shelf) but are
not available: not chosen first-expiring-first, not given, wasted, corrected away or transferred
(every stock change keeps `doses_on_hand >= doses_held`). A hold ends by releases (back to the
available stock) and shipments (out of the lot into transit). Shipped doses are received at the
destination as the same lot (number, product, expiry), counted, with a cold-chain attestation:
an arrival temperature outside the product's storage range makes them wastage there, reason
`cold_chain_failure`; fewer doses than shipped leave a `short_shipment` discrepancy to reconcile.

Every step is idempotent by the client's id: the hold id, a release id, the shipment id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from cvms_platform.errors import Conflict, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory import ledger, transfers
from inventory.models import (
    IN_TRANSIT,
    RECEIVED,
    Hold,
    HoldRelease,
    Lot,
    Product,
    Shipment,
    new_id,
)

# A hold is open while it holds doses, closed once released or shipped to the last dose.
HOLD_OPEN, HOLD_CLOSED = "open", "closed"
COLD_CHAIN_FAILURE = "cold_chain_failure"
SHORT_SHIPMENT = "short_shipment"


# -- placing a hold -------------------------------------------------------------------------------
def place(
    session: Session, location_id: str, lot_id: str, request: dict, *, correlation_id: str
) -> tuple[Hold, bool]:
    """Hold `doses` of the lot for `hold_id`. Returns the hold and whether this call placed it;
    the same hold id again with the same lot and doses is the hold as it is (Conflict with
    other contents)."""
    existing = session.get(Hold, request["hold_id"])
    if existing is not None:
        if (existing.location_id, existing.lot_id, existing.doses_placed) != (
            location_id,
            lot_id,
            request["doses"],
        ):
            raise Conflict(f"hold {request['hold_id']} was already placed with other contents")
        return existing, False
    lot = ledger.lot_at(session, location_id, lot_id, lock=True)
    now = utcnow()
    transfers.refuse_unusable(lot, now.date())
    movable = transfers.movable_doses(session, lot)
    if request["doses"] > movable:
        raise Unprocessable({"doses": [transfers.cannot_move(lot, movable)]})
    lot.doses_held += request["doses"]
    lot.updated_at = now
    hold = Hold(
        id=request["hold_id"],
        lot_id=lot.id,
        location_id=location_id,
        product_id=lot.product_id,
        doses_placed=request["doses"],
        doses_held=request["doses"],
        note=request.get("note"),
        placed_at=now,
        updated_at=now,
    )
    session.add(hold)
    session.flush()
    record_event(
        session,
        "doses_held",
        {
            "hold_id": hold.id,
            "lot_id": lot.id,
            "location_id": location_id,
            "product_id": lot.product_id,
            "doses": hold.doses_placed,
            "lot_doses_held": lot.doses_held,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )
    return hold, True


def hold_at(session: Session, location_id: str, hold_id: str, *, lock: bool = False) -> Hold:
    query = select(Hold).where(Hold.id == hold_id, Hold.location_id == location_id)
    hold = session.scalar(query.with_for_update() if lock else query)
    if hold is None:
        raise NotFound(f"hold {hold_id} not found at location {location_id}")
    return hold


# -- releasing ------------------------------------------------------------------------------------
def release(
    session: Session, location_id: str, hold_id: str, request: dict, *, correlation_id: str
) -> tuple[Hold, bool]:
    """Give `doses` of the hold (all it still holds when None) back to the lot's available
    stock, once per `release_id`. Returns the hold and whether this call released anything."""
    done = session.get(HoldRelease, request["release_id"])
    if done is not None:
        if done.hold_id != hold_id:
            raise Conflict(f"release {request['release_id']} was for another hold")
        return hold_at(session, location_id, hold_id), False
    hold = hold_at(session, location_id, hold_id, lock=True)
    doses = hold.doses_held if request.get("doses") is None else request["doses"]
    if doses == 0:
        return hold, False  # nothing left to release ("all" of an ended hold)
    if doses > hold.doses_held:
        raise Unprocessable(
            {"doses": [f"The hold has {hold.doses_held} doses left; {doses} cannot be released."]}
        )
    now = utcnow()
    lot = _unhold(session, hold, doses, now, take_out=False)
    session.add(
        HoldRelease(
            id=request["release_id"],
            hold_id=hold.id,
            doses=doses,
            reason=request.get("reason") or "released",
            recorded_at=now,
        )
    )
    session.flush()
    _announce_release(
        session, hold, lot, doses, request.get("reason") or "released", correlation_id
    )
    return hold, True


def _unhold(session: Session, hold: Hold, doses: int, now: datetime, *, take_out: bool) -> Row:
    """`doses` leave the hold (and the lot's held count); with `take_out`, the lot's stock too
    (shipped). One conditional UPDATE of the lot, as every stock change."""
    values = {"doses_held": Lot.doses_held - doses, "updated_at": now}
    if take_out:
        values["doses_on_hand"] = Lot.doses_on_hand - doses
    lot = session.execute(
        update(Lot)
        .where(Lot.id == hold.lot_id, Lot.doses_held >= doses, Lot.doses_on_hand >= doses)
        .values(values)
        .returning(*ledger._STOCK_ROW)
    ).one()
    hold.doses_held -= doses
    hold.updated_at = now
    return lot


def _announce_release(
    session: Session, hold: Hold, lot: Row, doses: int, reason: str, correlation_id: str
) -> None:
    record_event(
        session,
        "doses_hold_released",
        {
            "hold_id": hold.id,
            "lot_id": hold.lot_id,
            "location_id": hold.location_id,
            "product_id": hold.product_id,
            "doses": doses,
            "reason": reason,
            "hold_doses_left": hold.doses_held,
            "lot_doses_held": lot.doses_held,
            "doses_on_hand": lot.doses_on_hand,
        },
        correlation_id=correlation_id,
    )


def close_holds_of_wasted_lot(session: Session, lot: Row, now: datetime, *, correlation_id):
    """The lot's stock was wasted to zero (it expired): its holds end with it, announced."""
    for hold in session.scalars(
        select(Hold)
        .where(Hold.lot_id == lot.id, Hold.doses_held > 0)
        .order_by(Hold.id)
        .with_for_update()
    ):
        doses, hold.doses_held, hold.updated_at = hold.doses_held, 0, now
        _announce_release(session, hold, lot, doses, "lot_expired", correlation_id)


# -- shipping and receiving -----------------------------------------------------------------------
def ship(
    session: Session, location_id: str, hold_id: str, request: dict, *, correlation_id: str
) -> tuple[Shipment, bool]:
    """Ship `doses` of the hold to `to_location_id`: out of the lot (`transferred_out`) into
    transit, once per `shipment_id`. Returns the shipment and whether this call shipped it."""
    existing = session.get(Shipment, request["shipment_id"])
    if existing is not None:
        if (existing.hold_id, existing.to_location_id, existing.doses) != (
            hold_id,
            request["to_location_id"],
            request["doses"],
        ):
            raise Conflict(
                f"shipment {request['shipment_id']} was already recorded with other contents"
            )
        return existing, False
    if request["to_location_id"] == location_id:
        raise Unprocessable({"to_location_id": ["A shipment goes to another location."]})
    hold = hold_at(session, location_id, hold_id, lock=True)
    doses = request["doses"]
    if doses > hold.doses_held:
        raise Unprocessable(
            {"doses": [f"The hold has {hold.doses_held} doses left; {doses} cannot be shipped."]}
        )
    source = ledger.lot_at(session, location_id, hold.lot_id)
    now = utcnow()
    transfers.refuse_unusable(source, now.date())
    shipment = Shipment(
        id=request["shipment_id"],
        hold_id=hold.id,
        from_location_id=location_id,
        from_lot_id=source.id,
        to_location_id=request["to_location_id"],
        product_id=source.product_id,
        lot_number=source.lot_number,
        expiration_date=source.expiration_date,
        doses=doses,
        status=IN_TRANSIT,
        shipped_at=now,
        reference_id=new_id(),
    )
    out = _unhold(session, hold, doses, now, take_out=True)
    note = request.get("note") or f"Shipment {shipment.id} to {shipment.to_location_id}."
    transfers.moved_out(session, out, doses, now, shipment.reference_id, note, correlation_id)
    session.add(shipment)
    session.flush()
    record_event(
        session,
        "doses_shipped",
        {
            "shipment_id": shipment.id,
            "hold_id": hold.id,
            "from_location_id": location_id,
            "from_lot_id": source.id,
            "to_location_id": shipment.to_location_id,
            "product_id": shipment.product_id,
            "lot_number": shipment.lot_number,
            "expiration_date": shipment.expiration_date,
            "doses": doses,
            "shipped_at": now,
        },
        correlation_id=correlation_id,
    )
    return shipment, True


def receive(
    session: Session, location_id: str, shipment_id: str, request: dict, *, correlation_id: str
) -> tuple[Shipment, bool]:
    """The destination receives a shipment: `doses_received` (counted) into its record of the
    same lot; an arrival temperature outside the product's storage range wastes them there
    (`cold_chain_failure`); fewer than shipped leaves a `short_shipment` discrepancy. Once per
    shipment: received again with the same count and attestation, it is the shipment as it is."""
    shipment = session.scalar(
        select(Shipment)
        .where(Shipment.id == shipment_id, Shipment.to_location_id == location_id)
        .with_for_update()
    )
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found for location {location_id}")
    attested = (
        request["doses_received"],
        float(request["arrival_temperature_c"]),
        request["data_logger_id"],
    )
    if shipment.status == RECEIVED:
        if (
            shipment.doses_received,
            float(shipment.arrival_temperature_c),
            shipment.data_logger_id,
        ) != attested:
            raise Conflict(f"shipment {shipment_id} was already received with another count")
        return shipment, False
    if request["doses_received"] > shipment.doses:
        raise Unprocessable({"doses_received": [f"Only {shipment.doses} doses were shipped."]})
    product = session.get(Product, shipment.product_id)
    temperature = float(request["arrival_temperature_c"])
    cold_chain_ok = product.storage_min_c <= temperature <= product.storage_max_c
    now = utcnow()
    shipment.status, shipment.received_at = RECEIVED, now
    shipment.doses_received = request["doses_received"]
    shipment.arrival_temperature_c = temperature
    shipment.data_logger_id = request["data_logger_id"]
    shipment.cold_chain_ok = cold_chain_ok
    received = request["doses_received"]
    if received:
        destination = transfers.destination_lot(
            session,
            shipment,
            location_id,
            f"SHIPMENT-{shipment.id}",
            received,
            now,
            correlation_id,
        )
        shipment.to_lot_id = destination.id
        note = f"Shipment {shipment.id} from {shipment.from_location_id}."
        transfers.moved_in(
            session, destination, received, now, shipment.reference_id, note, correlation_id
        )
        if not cold_chain_ok:
            ledger.record_wastage(
                session,
                location_id,
                destination.id,
                {
                    "doses": received,
                    "reason": COLD_CHAIN_FAILURE,
                    "note": (
                        f"Shipment {shipment.id} arrived at {temperature} °C (storage "
                        f"{product.storage_min_c} to {product.storage_max_c} °C), data logger "
                        f"{shipment.data_logger_id}."
                    ),
                },
                correlation_id=correlation_id,
            )
    if received < shipment.doses:
        _short_shipment(session, shipment, now, correlation_id)
    session.flush()
    record_event(
        session,
        "shipment_received",
        {
            "shipment_id": shipment.id,
            "hold_id": shipment.hold_id,
            "from_location_id": shipment.from_location_id,
            "to_location_id": location_id,
            "to_lot_id": shipment.to_lot_id,
            "product_id": shipment.product_id,
            "lot_number": shipment.lot_number,
            "doses_shipped": shipment.doses,
            "doses_received": received,
            "arrival_temperature_c": temperature,
            "data_logger_id": shipment.data_logger_id,
            "cold_chain_ok": cold_chain_ok,
            "received_at": now,
        },
        correlation_id=correlation_id,
    )
    return shipment, True


def _short_shipment(session: Session, shipment: Shipment, now: datetime, correlation_id: str):
    """Fewer doses arrived than left: kept for the destination to reconcile."""
    ledger.record_discrepancy(
        session,
        shipment.to_location_id,
        shipment.to_lot_id or shipment.from_lot_id,
        SHORT_SHIPMENT,
        now,
        source_event_id=shipment.reference_id,
        administration_id=None,
        correlation_id=correlation_id,
    )


def hold_as_dict(hold: Hold) -> dict:
    return {
        "hold_id": hold.id,
        "lot_id": hold.lot_id,
        "location_id": hold.location_id,
        "product_id": hold.product_id,
        "doses_placed": hold.doses_placed,
        "doses_held": hold.doses_held,
        "status": HOLD_OPEN if hold.doses_held else HOLD_CLOSED,
        "note": hold.note,
        "placed_at": hold.placed_at.isoformat(),
        "updated_at": hold.updated_at.isoformat(),
    }


def shipment_as_dict(shipment: Shipment) -> dict:
    temperature = shipment.arrival_temperature_c
    return {
        "shipment_id": shipment.id,
        "hold_id": shipment.hold_id,
        "from_location_id": shipment.from_location_id,
        "from_lot_id": shipment.from_lot_id,
        "to_location_id": shipment.to_location_id,
        "to_lot_id": shipment.to_lot_id,
        "product_id": shipment.product_id,
        "lot_number": shipment.lot_number,
        "expiration_date": shipment.expiration_date.isoformat(),
        "doses": shipment.doses,
        "status": shipment.status,
        "shipped_at": shipment.shipped_at.isoformat(),
        "received_at": shipment.received_at.isoformat() if shipment.received_at else None,
        "doses_received": shipment.doses_received,
        "arrival_temperature_c": float(temperature) if temperature is not None else None,
        "data_logger_id": shipment.data_logger_id,
        "cold_chain_ok": shipment.cold_chain_ok,
    }
