"""The inventory service: product catalog, lots and the stock ledger of every location."""

from __future__ import annotations

import logging
from datetime import date

from marshmallow import ValidationError
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from cvms_platform import validation
from cvms_platform.consumer import consumes
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from inventory import ledger, levels
from inventory.models import Discrepancy, Lot, Product
from inventory.schemas import (
    LEDGER_PAGE_MAX,
    LOCATION_ID,
    STORAGE_UNIT,
    CorrectionSchema,
    DiscrepancySchema,
    ExcursionRecordSchema,
    ExcursionSchema,
    LedgerEntrySchema,
    LevelsQuerySchema,
    LotSchema,
    ProductSchema,
    ReceiveLotSchema,
    WastageSchema,
)

log = logging.getLogger(__name__)

PRODUCTS = ProductSchema(many=True)
LOT = LotSchema()
LOTS = LotSchema(many=True)
DISCREPANCIES = DiscrepancySchema(many=True)
LEDGER_ENTRY = LedgerEntrySchema()
LEDGER_ENTRIES = LedgerEntrySchema(many=True)
EXCURSION = ExcursionRecordSchema()


def _location(location_id) -> str:
    try:
        LOCATION_ID(location_id if isinstance(location_id, str) else "")
    except ValidationError as exc:
        raise InvalidInput({"location_id": exc.messages}) from None
    return location_id


def _lot_id(lot_id) -> str:
    if not isinstance(lot_id, str) or not 0 < len(lot_id) <= 36:
        raise NotFound(f"lot {lot_id} not found")
    return lot_id


def _note(note, field: str = "note") -> str:
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput({field: ["Say why."]})
    if len(note) > 2000:
        raise InvalidInput({field: ["Longer than 2000 characters."]})
    return note.strip()


class InventoryService(CvmsService):
    name = "inventory"

    @rpc
    def list_products(self) -> list[dict]:
        products = self.db.session.scalars(select(Product).order_by(Product.name))
        return PRODUCTS.dump(products)

    @rpc
    def receive_lot(self, location_id: str, shipment: dict) -> dict:
        """Receive a shipment at a location; idempotent by shipment id. Returns the lot and
        `created` (False when this shipment was already recorded)."""
        location_id = _location(location_id)
        data = validation.load(ReceiveLotSchema(), shipment)
        lot, created = self.db.idempotent(
            lambda session: ledger.receive_lot(
                session, location_id, data, correlation_id=self.correlation_id
            )
        )
        return {"lot": LOT.dump(lot), "created": created}

    @rpc
    def get_lot(self, lot_id: str) -> dict:
        lot = self.db.session.get(Lot, lot_id) if isinstance(lot_id, str) else None
        if lot is None:
            raise NotFound(f"lot {lot_id} not found")
        return LOT.dump(lot)

    @rpc
    def location_inventory(self, location_id: str) -> list[dict]:
        """Doses on hand per lot at a location, soonest expiry first."""
        location_id = _location(location_id)
        lots = self.db.session.scalars(
            select(Lot)
            .where(Lot.location_id == location_id)
            .order_by(Lot.expiration_date, Lot.lot_number)
        )
        return LOTS.dump(lots)

    @rpc
    def list_discrepancies(self, location_id: str, include_resolved: bool = False) -> list[dict]:
        location_id = _location(location_id)
        query = select(Discrepancy).where(Discrepancy.location_id == location_id)
        if not include_resolved:
            query = query.where(Discrepancy.resolved_at.is_(None))
        return DISCREPANCIES.dump(self.db.session.scalars(query.order_by(Discrepancy.detected_at)))

    @rpc
    def resolve_discrepancy(self, location_id: str, discrepancy_id: str, resolution: str) -> dict:
        location_id = _location(location_id)
        if not isinstance(resolution, str) or not resolution.strip():
            raise InvalidInput({"resolution": ["Say how the discrepancy was reconciled."]})
        with self.db.transaction() as session:
            discrepancy = ledger.resolve_discrepancy(
                session, location_id, str(discrepancy_id), resolution.strip()
            )
        return DiscrepancySchema().dump(discrepancy)

    @consumes("administration", "dose_administered")
    def on_dose_administered(self, session, event) -> None:
        ledger.take_administered_dose(session, event)

    @rpc
    def record_wastage(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Record doses wasted from a lot (broken vial, expired, ...). Returns the ledger entry;
        Unprocessable when the lot holds fewer doses than that."""
        location_id, lot_id = _location(location_id), _lot_id(lot_id)
        wastage = validation.load(WastageSchema(), data)
        with self.db.transaction() as session:
            entry = ledger.record_wastage(
                session, location_id, lot_id, wastage, correlation_id=self.correlation_id
            )
        return LEDGER_ENTRY.dump(entry)

    @rpc
    def correct_stock(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Correct a lot's stock after a count, saying why. Returns the ledger entry."""
        location_id, lot_id = _location(location_id), _lot_id(lot_id)
        correction = validation.load(CorrectionSchema(), data)
        correction["note"] = correction["note"].strip()
        with self.db.transaction() as session:
            entry = ledger.correct_stock(
                session, location_id, lot_id, correction, correlation_id=self.correlation_id
            )
        return LEDGER_ENTRY.dump(entry)

    @rpc
    def lot_ledger(
        self, location_id: str, lot_id: str, limit: int = 50, before: str | None = None
    ) -> dict:
        """A page of a lot's ledger, newest first: `entries`, and `next_before` to pass as
        `before` for the next page (None on the last one)."""
        location_id, lot_id = _location(location_id), _lot_id(lot_id)
        valid_limit = isinstance(limit, int) and not isinstance(limit, bool)
        if not valid_limit or not 1 <= limit <= LEDGER_PAGE_MAX:
            raise InvalidInput({"limit": [f"Between 1 and {LEDGER_PAGE_MAX}."]})
        if before is not None and not isinstance(before, str):
            raise InvalidInput({"before": ["Not an entry of this lot's ledger."]})
        entries, next_before = ledger.lot_ledger(
            self.db.session, location_id, lot_id, limit, before
        )
        return {"entries": LEDGER_ENTRIES.dump(entries), "next_before": next_before}

    @rpc
    def report_excursion(self, location_id: str, storage_unit: str, data: dict) -> dict:
        """Report a temperature excursion in a storage unit: its usable lots are quarantined.
        Returns the excursion and `quarantined_lots`."""
        location_id = _location(location_id)
        try:
            STORAGE_UNIT(storage_unit if isinstance(storage_unit, str) else "")
        except ValidationError as exc:
            raise InvalidInput({"storage_unit": exc.messages}) from None
        reading = validation.load(ExcursionSchema(), data)
        with self.db.transaction() as session:
            excursion, lots = ledger.report_excursion(
                session, location_id, storage_unit, reading, correlation_id=self.correlation_id
            )
            answer = {**EXCURSION.dump(excursion), "quarantined_lots": LOTS.dump(lots)}
        return answer

    @rpc
    def release_lot(self, location_id: str, lot_id: str, note: str) -> dict:
        """Put a quarantined lot back in use; Conflict if it is not quarantined."""
        location_id, lot_id = _location(location_id), _lot_id(lot_id)
        note = _note(note)
        with self.db.transaction() as session:
            lot = ledger.release_lot(
                session, location_id, lot_id, note, correlation_id=self.correlation_id
            )
            answer = LOT.dump(lot)
        return answer

    @rpc
    def inventory_levels(
        self,
        location_id: str | None,
        date_from: str,
        date_to: str,
        product_id: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> dict:
        """The inventory levels report for [date_from, date_to] (ISO dates, inclusive, UTC):
        per location and product, on hand at the start and end, received, administered, wasted
        (in all and by reason), transferred in and out, corrections, and doses on hand at the end
        in lots expiring within 30 days of date_to. `location_id` None: every location, with
        state-wide `totals` per product and a `grand_total`. Rows are paged (page_size <= 200)."""
        if location_id is not None:
            location_id = _location(location_id)
        query = validation.load(
            LevelsQuerySchema(),
            {
                "date_from": date_from,
                "date_to": date_to,
                "product_id": product_id,
                "page": page,
                "page_size": page_size,
            },
        )
        return levels.inventory_levels(
            self.db.session,
            location_id,
            query["date_from"],
            query["date_to"],
            product_id=query["product_id"],
            page=query["page"],
            page_size=query["page_size"],
        )

    @timer(interval=3600, eager=True)
    def waste_expired_lots(self) -> None:
        """Hourly (and at start): waste what is left of expired lots, announce lots expiring."""
        outcome = self.run_expiry(utcnow().date())
        if any(outcome.values()):
            log.info("expiry run: %(wasted)d lots wasted, %(expiring)d expiring", outcome)

    def run_expiry(self, today: date) -> dict:
        """The expiry job for `today`: each expired lot in a transaction of its own (a failure
        leaves the others done), then the `lot_expiring` notices. Safe to run again."""
        with self.db.transaction() as session:
            expired = ledger.expired_lot_ids(session, today)
        wasted = 0
        for lot_id in expired:
            with self.db.transaction() as session:
                entry = ledger.waste_expired_lot(
                    session, lot_id, today, correlation_id=self.correlation_id
                )
            wasted += entry is not None
        with self.db.transaction() as session:
            expiring = ledger.notify_expiring_lots(
                session, today, correlation_id=self.correlation_id
            )
        return {"wasted": wasted, "expiring": len(expiring)}
