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
    refuse_unusable(source, utcnow().date())
    movable = movable_doses(session, source)
    if doses > movable:
        raise Unprocessable({"doses": [cannot_move(source, movable)]})
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
    moved_out(session, out, doses, now, record.reference_id, note, correlation_id)
    destination = destination_lot(
        session, source, to_location_id, f"TRANSFER-{record.id}", doses, now, correlation_id
    )
    record.to_lot_id = destination.id
    in_note = request.get("note") or f"Transfer {record.id} from {location_id}."
    moved_in(session, destination, doses, now, record.reference_id, in_note, correlation_id)
    session.add(record)
    session.flush()
    return record, True


def moved_out(session: Session, out, doses: int, now, reference_id: str, note: str, correlation_id):
    """The source's side of a move, once its balance went down by `doses` (`out`: the lot's
    stock row after it): the `transferred_out` entry, announced."""
    entry = ledger._add_entry(
        session,
        out,
        "transferred_out",
        -doses,
        now,
        correlation_id=correlation_id,
        reference_id=reference_id,
        note=note,
    )
    ledger._announce_adjustment(session, out, entry, correlation_id)
    return entry


def moved_in(
    session: Session,
    destination: Lot,
    doses: int,
    now,
    reference_id: str,
    note: str,
    correlation_id,
):
    """The destination's side of a move: `doses` into its record of the lot, as a
    `transferred_in` entry, announced. Returns the lot's stock row after it."""
    into = ledger._take(session, destination.location_id, destination.id, doses, now, field="doses")
    entry = ledger._add_entry(
        session,
        into,
        "transferred_in",
        doses,
        now,
        correlation_id=correlation_id,
        reference_id=reference_id,
        note=note,
    )
    ledger._announce_adjustment(session, into, entry, correlation_id)
    return into


def refuse_unusable(lot: Lot, today) -> None:
    """Doses of a quarantined or expired lot go nowhere (Unprocessable, doses)."""
    if lot.status != USABLE:
        raise Unprocessable({"doses": [f"Lot {lot.lot_number} is quarantined."]})
    if lot.expiration_date < today:
        raise Unprocessable({"doses": [f"Lot {lot.lot_number} has expired."]})


def punctured_doses(session: Session, lot: Lot) -> int:
    """Doses of the lot in punctured vials: they stay where the vial is."""
    return session.scalar(
        select(func.coalesce(func.sum(OpenVial.doses_left), 0)).where(
            OpenVial.lot_id == lot.id, OpenVial.closed_at.is_(None)
        )
    )


def movable_doses(session: Session, lot: Lot) -> int:
    """What may leave the lot's location (transferred, or held for an offer): on hand, less the
    doses in open vials and those already held for an offer."""
    return max(lot.doses_on_hand - punctured_doses(session, lot) - lot.doses_held, 0)


def cannot_move(lot: Lot, movable: int) -> str:
    held = f", {lot.doses_held} held for an offer" if lot.doses_held else ""
    in_vials = ", the rest in open vials" if movable < lot.doses_on_hand - lot.doses_held else ""
    return (
        f"Only {movable} doses of lot {lot.lot_number} can be moved "
        f"({lot.doses_on_hand} on hand{held}{in_vials})."
    )


def _contents(record: Transfer) -> tuple:
    return (record.from_location_id, record.from_lot_id, record.to_location_id, record.doses)


def destination_lot(
    session: Session,
    source,
    to_location_id: str,
    shipment_id: str,
    doses: int,
    now,
    correlation_id: str,
) -> Lot:
    """The same lot (product, number, expiry as `source`'s) at `to_location_id`: its usable
    record there, else a new one (empty: the move's entry brings the doses), announced with
    `lot_received` of `doses` so that doses can be recorded against it there."""
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
        shipment_id=shipment_id,
        product_id=source.product_id,
        lot_number=source.lot_number,
        expiration_date=source.expiration_date,
        storage_unit=None,
        doses_received=doses,
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
            "doses": doses,
            "doses_on_hand": doses,
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
