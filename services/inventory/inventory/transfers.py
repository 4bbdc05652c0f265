"""Transfers: doses of a lot moved to another location, both sides in one transaction.

The destination gets the same lot (number, product, expiration): added to its usable record of
that lot if it has one, else as a new lot record (announced with `lot_received`, so that doses
can be recorded against it there). Idempotent by the client's transfer id.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cvms_platform.errors import Conflict, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory import ledger
from inventory.models import USABLE, Lot, OpenVial, Transfer


def transfer(
    session: Session, location_id: str, lot_id: str, request: dict, *, correlation_id: str
) -> tuple[Transfer, bool]:
    """Returns the transfer and whether this call recorded it."""
    existing = session.get(Transfer, request["transfer_id"])
    if existing is not None:
        if _contents(existing) != (
            location_id,
            lot_id,
            request["to_location_id"],
            request["doses"],
        ):
            raise Conflict(
                f"transfer {request['transfer_id']} was already recorded with other contents"
            )
        return existing, False
    to_location_id, doses = request["to_location_id"], request["doses"]
    if to_location_id == location_id:
        raise Unprocessable({"to_location_id": ["A transfer goes to another location."]})
    source = ledger.lot_at(session, location_id, lot_id, lock=True)
    today = utcnow().date()
    if source.status != USABLE:
        raise Unprocessable({"doses": [f"Lot {source.lot_number} is quarantined."]})
    if source.expiration_date < today:
        raise Unprocessable({"doses": [f"Lot {source.lot_number} has expired."]})
    # Doses in a punctured vial stay where the vial is.
    punctured = session.scalar(
        select(func.coalesce(func.sum(OpenVial.doses_left), 0)).where(
            OpenVial.lot_id == source.id, OpenVial.closed_at.is_(None)
        )
    )
    movable = source.doses_on_hand - punctured
    if doses > movable:
        raise Unprocessable(
            {
                "doses": [
                    f"Only {max(movable, 0)} doses of lot {source.lot_number} can be moved "
                    f"({source.doses_on_hand} on hand, {punctured} in open vials)."
                ]
            }
        )
    now = utcnow()
    record = Transfer(
        id=request["transfer_id"],
        from_location_id=location_id,
        from_lot_id=source.id,
        to_location_id=to_location_id,
        doses=doses,
        note=request.get("note"),
        recorded_at=now,
    )
    out = ledger._take(session, location_id, source.id, -doses, now, field="doses")
    note = request.get("note") or f"Transfer {record.id} to {to_location_id}."
    out_entry = ledger._add_entry(
        session,
        out,
        "transferred_out",
        -doses,
        now,
        correlation_id=correlation_id,
        reference_id=record.reference_id,
        note=note,
    )
    ledger._announce_adjustment(session, out, out_entry, correlation_id)
    destination = _destination_lot(session, source, to_location_id, record, now, correlation_id)
    record.to_lot_id = destination.id
    into = ledger._take(session, to_location_id, destination.id, doses, now, field="doses")
    in_note = request.get("note") or f"Transfer {record.id} from {location_id}."
    in_entry = ledger._add_entry(
        session,
        into,
        "transferred_in",
        doses,
        now,
        correlation_id=correlation_id,
        reference_id=record.reference_id,
        note=in_note,
    )
    ledger._announce_adjustment(session, into, in_entry, correlation_id)
    session.add(record)
    session.flush()
    return record, True


def _contents(record: Transfer) -> tuple:
    return (record.from_location_id, record.from_lot_id, record.to_location_id, record.doses)


def _destination_lot(
    session: Session, source: Lot, to_location_id: str, record: Transfer, now, correlation_id
) -> Lot:
    same = session.scalar(
        select(Lot)
        .where(
            Lot.location_id == to_location_id,
            Lot.product_id == source.product_id,
            Lot.lot_number == source.lot_number,
            Lot.expiration_date == source.expiration_date,
            Lot.status == USABLE,
        )
        .order_by(Lot.received_at, Lot.id)
        .limit(1)
    )
    if same is not None:
        return same
    lot = Lot(
        location_id=to_location_id,
        shipment_id=f"TRANSFER-{record.id}",
        product_id=source.product_id,
        lot_number=source.lot_number,
        expiration_date=source.expiration_date,
        storage_unit=None,
        doses_received=record.doses,
        doses_on_hand=0,  # the transferred_in entry brings the doses
        received_at=now,
        updated_at=now,
    )
    session.add(lot)
    session.flush()
    record_event(
        session,
        "lot_received",
        {
            "lot_id": lot.id,
            "shipment_id": lot.shipment_id,
            "location_id": to_location_id,
            "product_id": lot.product_id,
            "lot_number": lot.lot_number,
            "expiration_date": lot.expiration_date,
            "doses": record.doses,
            "doses_on_hand": record.doses,
        },
        correlation_id=correlation_id,
    )
    return lot


def as_dict(record: Transfer) -> dict:
    return {
        "transfer_id": record.id,
        "from_location_id": record.from_location_id,
        "from_lot_id": record.from_lot_id,
        "to_location_id": record.to_location_id,
        "to_lot_id": record.to_lot_id,
        "doses": record.doses,
        "note": record.note,
        "recorded_at": record.recorded_at.isoformat(),
    }
