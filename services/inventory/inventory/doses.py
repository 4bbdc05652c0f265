"""Doses recorded by administration, applied to stock: given, corrected to another lot, voided.

What administration last said about a dose is kept (`AdministrationDose`); after each of its
events the ledger is reconciled to it. So the events of one dose may be applied in any order
(they travel on separate queues) and the stock still ends up right: a void applied before its
dose leaves nothing to take, a correction applied before its dose takes the dose from the
corrected lot.

Where a dose is held: in stock at a lot (its entries for this administration sum to -1 there),
or nowhere, as an open discrepancy (it was recorded against a lot that had no stock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from cvms_platform.timeutil import utcnow
from inventory import vials
from inventory.ledger import (
    _STOCK_ROW,
    _add_entry,
    _announce_adjustment,
    _record_discrepancy,
)
from inventory.models import QUARANTINED, AdministrationDose, Discrepancy, LedgerEntry, Lot

# Discrepancies that stand for a dose that never left stock.
NOT_TAKEN = ("no_stock", "unknown_lot")
DOSE_REASONS = ("administered", "administration_voided")


@dataclass(frozen=True)
class Held:
    lot_id: str | None
    in_stock: bool  # False: recorded as an open NOT_TAKEN discrepancy on lot_id (or nowhere)


def dose_administered(session: Session, event: Event) -> None:
    dose = event.payload
    # A correction or void of this dose applied first made the record, and it stands.
    record = _record_of(session, dose, lot_id=str(dose["lot_id"]), at=dose["administered_at"])
    session.flush()
    _reconcile(session, record, event, note=None)


def administration_voided(session: Session, event: Event) -> None:
    void = event.payload
    record = _record_of(session, void, lot_id=str(void["lot_id"]), at=void["voided_at"])
    record.voided = True
    record.as_of = max(record.as_of, void["voided_at"])
    session.flush()
    _reconcile(session, record, event, note=f"Administration voided: {void['reason']}")


def administration_corrected(session: Session, event: Event) -> None:
    correction = event.payload
    new_lot = str(correction["lot_id"])
    record = _record_of(
        session,
        correction,
        lot_id=str(correction["previous_lot_id"]),
        at=correction["administered_at"],
    )
    record.administered_at = correction["administered_at"]
    # A void is final; an older correction delivered late does not undo a newer one.
    if not record.voided and correction["corrected_at"] >= record.as_of:
        record.lot_id = new_lot
        record.product_id = correction["product_id"]
        record.as_of = correction["corrected_at"]
    session.flush()
    note = f"Administration corrected to lot {new_lot}: {correction['reason']}"
    _reconcile(session, record, event, note=note)


def _record_of(session: Session, payload: dict, *, lot_id: str, at: datetime):
    administration_id = str(payload["administration_id"])
    record = _locked(session, administration_id)
    if record is None:
        # The dose's first event (its dose_administered, or a void or correction delivered
        # before it): the others will find this record.
        record = AdministrationDose(
            administration_id=administration_id,
            location_id=payload["location_id"],
            lot_id=lot_id,
            product_id=payload.get("previous_product_id") or payload["product_id"],
            administered_at=payload.get("administered_at") or at,
            voided=False,
            as_of=payload.get("administered_at") or at,
        )
        session.add(record)
    return record


def _locked(session: Session, administration_id: str) -> AdministrationDose | None:
    """The dose's record, locked: two events of one dose (a void and a correction, say) are
    reconciled one after the other, never both from the same starting point. A first record
    is serialized by its primary key instead (the loser retries and finds it)."""
    return session.get(
        AdministrationDose, administration_id, with_for_update=True, populate_existing=True
    )


def held(session: Session, administration_id: str) -> Held:
    """Where the dose of an administration is now."""
    rows = session.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.delta))
        .where(
            LedgerEntry.reference_id == administration_id,
            LedgerEntry.reason.in_(DOSE_REASONS),
        )
        .group_by(LedgerEntry.lot_id)
    ).all()
    for lot_id, net in rows:
        if net < 0:
            return Held(lot_id, True)
    missing = session.scalar(
        select(Discrepancy.lot_id)
        .where(
            Discrepancy.administration_id == administration_id,
            Discrepancy.reason.in_(NOT_TAKEN),
            Discrepancy.resolved_at.is_(None),
        )
        .limit(1)
    )
    return Held(missing, False)


def _reconcile(session: Session, record: AdministrationDose, event: Event, note: str | None):
    wanted = None if record.voided else record.lot_id
    now = utcnow()
    where = held(session, record.administration_id)
    if where.lot_id == wanted:
        return
    if where.lot_id is not None:
        if where.in_stock:
            _put_back(session, record, where.lot_id, event, now, note=note)
        _resolve(session, record.administration_id, where.lot_id, now, note or "Superseded.")
    if wanted is not None:
        _take(session, record, wanted, event, now)


def _take(session: Session, record: AdministrationDose, lot_id: str, event: Event, now) -> None:
    """One dose off the lot (from its open vial), or a discrepancy if it has none left."""
    # One conditional UPDATE is both the check and the decrement, so concurrent doses on the
    # last vial serialize on the row and exactly one of them finds stock. The row stays locked
    # until commit, which also serializes the open-vial bookkeeping of the lot. Doses held for
    # an offer are not there to give: the lot must have one beyond them.
    lot = session.execute(
        update(Lot)
        .where(
            Lot.id == lot_id,
            Lot.location_id == record.location_id,
            Lot.doses_on_hand - Lot.doses_held >= 1,
        )
        .values(doses_on_hand=Lot.doses_on_hand - 1, updated_at=now)
        .returning(*_STOCK_ROW)
    ).first()
    if lot is not None:
        vial = vials.draw(
            session, lot, record.administered_at, now, correlation_id=event.correlation_id
        )
        entry = _add_entry(
            session,
            lot,
            "administered",
            -1,
            now,
            correlation_id=event.correlation_id,
            source_event_id=event.id,
            reference_id=record.administration_id,
            vial_id=vial.id if vial is not None else None,
        )
        _announce_adjustment(session, lot, entry, event.correlation_id)
        if lot.status == QUARANTINED:
            # The dose was given, so it leaves stock; but from a lot that may be spoiled, which
            # the location manager must review (and perhaps follow up with the recipient).
            _record_discrepancy(session, event, lot_id, "quarantined_lot", now)
        return
    lot = session.get(Lot, lot_id)
    reason = (
        "no_stock" if lot is not None and lot.location_id == record.location_id else "unknown_lot"
    )
    _record_discrepancy(session, event, lot_id, reason, now)


def _put_back(
    session: Session, record: AdministrationDose, lot_id: str, event: Event, now, *, note
) -> None:
    lot = session.execute(
        update(Lot)
        .where(Lot.id == lot_id)
        .values(doses_on_hand=Lot.doses_on_hand + 1, updated_at=now)
        .returning(*_STOCK_ROW)
    ).one()
    taken_from = session.scalar(
        select(LedgerEntry.vial_id)
        .where(
            LedgerEntry.reference_id == record.administration_id,
            LedgerEntry.lot_id == lot_id,
            LedgerEntry.reason == "administered",
        )
        .order_by(LedgerEntry.recorded_at.desc())
        .limit(1)
    )
    if taken_from is not None:
        vials.put_back(session, taken_from, now)
    entry = _add_entry(
        session,
        lot,
        "administration_voided",
        1,
        now,
        correlation_id=event.correlation_id,
        source_event_id=event.id,
        reference_id=record.administration_id,
        note=note,
    )
    _announce_adjustment(session, lot, entry, event.correlation_id)


def _resolve(session: Session, administration_id: str, lot_id: str, now, resolution: str):
    """The dose is no longer recorded against this lot: what was kept for review about it
    there (no stock, quarantined lot) is settled."""
    for discrepancy in session.scalars(
        select(Discrepancy).where(
            Discrepancy.administration_id == administration_id,
            Discrepancy.lot_id == lot_id,
            Discrepancy.resolved_at.is_(None),
        )
    ):
        discrepancy.resolved_at = now
        discrepancy.resolution = resolution[:2000]
