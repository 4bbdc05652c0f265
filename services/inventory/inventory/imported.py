"""Doses of an offline import, applied to stock a chunk at a time (`administrations_imported`).

The same rules as one dose at a time (inventory.doses), in a handful of statements for the
whole chunk: the lots involved are locked once, in id order (so a chunk and the single doses or
other chunks that share its lots cannot deadlock), every dose gets its own ledger entry (the
ledger and the levels report stay exact, and a later void finds what to put back), and what a
lot has not got is never taken: the doses beyond its stock are `no_stock` discrepancies, in the
chunk's order. Each lot touched is announced once, with its doses on hand after the chunk.

A dose whose void or correction was applied before its chunk (its record exists) goes the
single-dose way, which reconciles it to what administration said last.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvms_platform.bulk import among, insert_rows
from cvms_platform.envelope import Event
from cvms_platform.outbox import record_events
from cvms_platform.timeutil import utcnow
from inventory import doses as single
from inventory.models import (
    QUARANTINED,
    AdministrationDose,
    Discrepancy,
    LedgerEntry,
    Lot,
    OpenVial,
    Product,
    new_id,
)
from inventory.vials import EMPTIED


def administrations_imported(session: Session, event: Event) -> None:
    now = utcnow()
    chunk = _distinct(event.payload["doses"])
    lot_ids = sorted({dose["lot_id"] for dose in chunk})
    # Lock first, in a stable order: everything below works on these rows alone.
    session.execute(select(Lot.id).where(Lot.id.in_(lot_ids)).order_by(Lot.id).with_for_update())

    ids = [dose["administration_id"] for dose in chunk]
    known = set(
        session.scalars(
            select(AdministrationDose.administration_id)
            .where(among(session, AdministrationDose.administration_id, ids))
            .order_by(AdministrationDose.administration_id)
            .with_for_update()
        )
    )
    fresh = [dose for dose in chunk if dose["administration_id"] not in known]
    for dose in chunk:
        if dose["administration_id"] in known:
            # A correction or void of this dose came first, and it stands.
            single.dose_administered(session, dataclasses.replace(event, payload=dose))
    if not fresh:
        return
    insert_rows(
        session,
        AdministrationDose.__table__,
        [
            {
                "administration_id": dose["administration_id"],
                "location_id": dose["location_id"],
                "lot_id": dose["lot_id"],
                "product_id": dose["product_id"],
                "administered_at": dose["administered_at"],
                "voided": False,
                "as_of": dose["administered_at"],
            }
            for dose in fresh
        ],
    )
    _take_all(session, event, fresh, now)


def _distinct(doses: list[dict]) -> list[dict]:
    """The chunk's doses with ids as text, each administration once, in the chunk's order."""
    seen: dict[str, dict] = {}
    for dose in doses:
        dose = {
            **dose,
            "administration_id": str(dose["administration_id"]),
            "recipient_id": str(dose["recipient_id"]),
            "lot_id": str(dose["lot_id"]),
        }
        seen.setdefault(dose["administration_id"], dose)
    return list(seen.values())


def _take_all(session: Session, event: Event, doses: list[dict], now: datetime) -> None:
    lots = {
        row.id: row
        for row in session.execute(
            select(
                Lot.id,
                Lot.location_id,
                Lot.product_id,
                Lot.doses_on_hand,
                Lot.status,
                Lot.doses_held,
            ).where(Lot.id.in_({dose["lot_id"] for dose in doses}))
        )
    }
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({lot.product_id for lot in lots.values()}))
        )
    }
    by_lot: dict[str, list[dict]] = {}
    for dose in doses:
        by_lot.setdefault(dose["lot_id"], []).append(dose)

    entries: list[dict] = []
    discrepancies: list[dict] = []
    events: list[tuple[str, dict]] = []
    for lot_id in sorted(by_lot):
        lot = lots.get(lot_id)
        given = by_lot[lot_id]
        if lot is None:
            discrepancies += [_discrepancy(event, dose, "unknown_lot", now) for dose in given]
            continue
        here = [dose for dose in given if dose["location_id"] == lot.location_id]
        discrepancies += [
            _discrepancy(event, dose, "unknown_lot", now)
            for dose in given
            if dose["location_id"] != lot.location_id
        ]
        # Doses held for an offer are not there to give.
        available = lot.doses_on_hand - lot.doses_held
        taken, short = here[:available], here[available:]
        discrepancies += [_discrepancy(event, dose, "no_stock", now) for dose in short]
        if not taken:
            continue
        vials = _Vials(session, lot, products[lot.product_id], now)
        on_hand = lot.doses_on_hand
        for dose in taken:
            on_hand -= 1
            vial_id = vials.draw(dose["administered_at"], on_hand)
            entries.append(
                {
                    "id": new_id(),
                    "lot_id": lot.id,
                    "location_id": lot.location_id,
                    "product_id": lot.product_id,
                    "reason": "administered",
                    "delta": -1,
                    "balance_after": on_hand,
                    "recorded_at": now,
                    "source_event_id": event.id,
                    "reference_id": dose["administration_id"],
                    "correlation_id": event.correlation_id,
                    "vial_id": vial_id,
                }
            )
            if lot.status == QUARANTINED:
                # Given, so it leaves stock; from a lot that may be spoiled: for review.
                discrepancies.append(_discrepancy(event, dose, "quarantined_lot", now))
        session.execute(
            update(Lot).where(Lot.id == lot.id).values(doses_on_hand=on_hand, updated_at=now)
        )
        events += vials.opened(event.correlation_id)
        events.append(
            (
                "inventory_adjusted",
                {
                    "ledger_entry_id": entries[-1]["id"],
                    "location_id": lot.location_id,
                    "lot_id": lot.id,
                    "product_id": lot.product_id,
                    "reason": "administered",
                    "delta": -len(taken),
                    "doses_on_hand": on_hand,
                },
            )
        )
    session.flush()  # the vials opened, before the ledger entries that name them
    if entries:
        insert_rows(session, LedgerEntry.__table__, entries)
    if discrepancies:
        insert_rows(session, Discrepancy.__table__, discrepancies)
        events += [
            (
                "inventory_discrepancy_recorded",
                {
                    "discrepancy_id": d["id"],
                    "location_id": d["location_id"],
                    "lot_id": d["lot_id"],
                    "reason": d["reason"],
                    "source_event_id": event.id,
                },
            )
            for d in discrepancies
        ]
    record_events(session, events, correlation_id=event.correlation_id)


def _discrepancy(event: Event, dose: dict, reason: str, now: datetime) -> dict:
    return {
        "id": new_id(),
        "location_id": dose["location_id"],
        "lot_id": dose["lot_id"],
        "reason": reason,
        "administration_id": dose["administration_id"],
        "source_event_id": event.id,
        "detected_at": now,
    }


class _Vials:
    """inventory.vials.draw for many doses of one locked lot: its open vials are read once and
    followed in memory (the lot's lock serializes its vial bookkeeping)."""

    def __init__(self, session: Session, lot, product: Product, now: datetime):
        self.session, self.lot, self.product, self.now = session, lot, product, now
        self.open: list[OpenVial] = list(
            session.scalars(
                select(OpenVial)
                .where(OpenVial.lot_id == lot.id, OpenVial.closed_at.is_(None))
                .execution_options(populate_existing=True)
            )
        )
        self.new: list[OpenVial] = []

    def draw(self, at: datetime, on_hand: int) -> str | None:
        """The vial one dose given at `at` came from (`on_hand`: the lot's doses after it)."""
        usable = [
            v
            for v in self.open
            if v.closed_at is None and v.doses_left > 0 and v.beyond_use_at > at
        ]
        if usable:
            vial = min(usable, key=lambda v: (v.beyond_use_at, v.id))
            vial.doses_left -= 1
            if vial.doses_left == 0:
                vial.closed_at, vial.closed_reason = self.now, EMPTIED
            return vial.id
        beyond_use_at = at + timedelta(hours=self.product.beyond_use_hours)
        if beyond_use_at <= self.now:
            return None  # recorded too late for inventory to follow its vial
        punctured = sum(v.doses_left for v in self.open if v.closed_at is None)
        doses_in_vial = max(1, min(self.product.doses_per_vial, on_hand + 1 - punctured))
        vial = OpenVial(
            id=new_id(),
            lot_id=self.lot.id,
            location_id=self.lot.location_id,
            product_id=self.lot.product_id,
            doses_in_vial=doses_in_vial,
            doses_left=doses_in_vial - 1,
            opened_at=at,
            beyond_use_at=beyond_use_at,
        )
        if vial.doses_left == 0:
            vial.closed_at, vial.closed_reason = self.now, EMPTIED
        self.session.add(vial)
        self.open.append(vial)
        self.new.append(vial)
        return vial.id

    def opened(self, correlation_id: str) -> list[tuple[str, dict]]:
        return [
            (
                "vial_opened",
                {
                    "vial_id": vial.id,
                    "lot_id": vial.lot_id,
                    "location_id": vial.location_id,
                    "product_id": vial.product_id,
                    "doses_in_vial": vial.doses_in_vial,
                    "opened_at": vial.opened_at,
                    "beyond_use_at": vial.beyond_use_at,
                },
            )
            for vial in self.new
        ]
