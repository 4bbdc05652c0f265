"""The inventory service: product catalog, lots and the stock ledger of every location."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from marshmallow import ValidationError
from nameko.timer import timer
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform import validation
from cvms_platform.batch_consumer import consumes_batch
from cvms_platform.config import float_setting
from cvms_platform.consumer import consumes
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from inventory import (
    catalog,
    doses,
    forms,
    holds,
    imported,
    ledger,
    levels,
    supply,
    transfers,
    vials,
)
from inventory.models import Discrepancy, Lot, Product
from inventory.schemas import (
    LEDGER_PAGE_MAX,
    STORAGE_UNIT,
    ChooseLotSchema,
    CorrectionSchema,
    DiscrepancySchema,
    ExcursionRecordSchema,
    ExcursionSchema,
    FormQuerySchema,
    LedgerEntrySchema,
    LevelsQuerySchema,
    LotSchema,
    PlaceHoldSchema,
    ProductChangesSchema,
    ProductSchema,
    ReceiveLotSchema,
    ReceiveShipmentSchema,
    ReleaseHoldSchema,
    ShipHeldSchema,
    StockThresholdSchema,
    TransferSchema,
    WastageSchema,
)

log = logging.getLogger(__name__)
# How often open vials past their beyond-use time are wasted: a minute is within the precision
# a vaccinator works to; the tests look more often so as not to wait a minute.
OPEN_VIAL_SWEEP_S = float_setting("CVMS_OPEN_VIAL_SWEEP_SECONDS", 60.0)

PRODUCTS = ProductSchema(many=True)
LOT = LotSchema()
LOTS = LotSchema(many=True)
DISCREPANCIES = DiscrepancySchema(many=True)
LEDGER_ENTRY = LedgerEntrySchema()
LEDGER_ENTRIES = LedgerEntrySchema(many=True)
EXCURSION = ExcursionRecordSchema()


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
        location_id = validation.location(location_id)
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
        location_id = validation.location(location_id)
        lots = self.db.session.scalars(
            select(Lot)
            .where(Lot.location_id == location_id)
            .order_by(Lot.expiration_date, Lot.lot_number)
        )
        return LOTS.dump(lots)

    @rpc
    def list_discrepancies(self, location_id: str, include_resolved: bool = False) -> list[dict]:
        location_id = validation.location(location_id)
        query = select(Discrepancy).where(Discrepancy.location_id == location_id)
        if not include_resolved:
            query = query.where(Discrepancy.resolved_at.is_(None))
        return DISCREPANCIES.dump(self.db.session.scalars(query.order_by(Discrepancy.detected_at)))

    @rpc
    def resolve_discrepancy(self, location_id: str, discrepancy_id: str, resolution: str) -> dict:
        location_id = validation.location(location_id)
        if not isinstance(resolution, str) or not resolution.strip():
            raise InvalidInput({"resolution": ["Say how the discrepancy was reconciled."]})
        with self.db.transaction() as session:
            discrepancy = ledger.resolve_discrepancy(
                session, location_id, str(discrepancy_id), resolution.strip()
            )
        return DiscrepancySchema().dump(discrepancy)

    # The busiest event: taken in batches, one transaction and one inbox statement each; in
    # lot order (each lot's doses keep theirs), so that no two batches wait on each other's lots.
    @consumes_batch("administration", "dose_administered")
    def on_dose_administered(self, session, events) -> None:
        for event in sorted(events, key=lambda event: str(event.payload["lot_id"])):
            doses.dose_administered(session, event)

    @consumes("administration", "administrations_imported")
    def on_administrations_imported(self, session, event) -> None:
        imported.administrations_imported(session, event)

    @consumes("administration", "administration_voided")
    def on_administration_voided(self, session, event) -> None:
        doses.administration_voided(session, event)

    @consumes("administration", "administration_corrected")
    def on_administration_corrected(self, session, event) -> None:
        doses.administration_corrected(session, event)

    @rpc
    def choose_lot(self, location_id: str, product_id: str, at: str) -> dict:
        """First expired, first out: the lot a dose of the product given at `at` (ISO datetime
        with its offset) should come from: {lot_id, lot_number, product_id, expiration_date,
        open_vial_id}. A lot with an open vial still within its beyond-use time comes first,
        else the usable lot expiring first. NoUsableLot (field product_id) when there is none."""
        location_id = validation.location(location_id)
        query = validation.load(ChooseLotSchema(), {"product_id": product_id, "at": at})
        return vials.choose_lot(self.db.session, location_id, query["product_id"], query["at"])

    @rpc
    def open_vials(self, location_id: str) -> list[dict]:
        """The location's open vials whose doses may still be given, soonest beyond-use first:
        vial_id, lot_id, lot_number, product_id, doses_left, opened_at, beyond_use_at,
        seconds_left."""
        location_id = validation.location(location_id)
        return vials.open_vials(self.db.session, location_id, utcnow())

    @timer(interval=OPEN_VIAL_SWEEP_S)
    def waste_open_vials(self) -> None:
        """Every minute: waste what is left in open vials past their beyond-use time."""
        wasted = self.run_open_vial_time_limit(utcnow())
        if wasted:
            log.info("open vials: %d past their beyond-use time wasted", wasted)

    def run_open_vial_time_limit(self, now: datetime) -> int:
        """The open-vial job at `now`: each vial past its beyond-use time in a transaction of
        its own. Returns how many vials had doses wasted. Safe to run again."""
        with self.db.transaction() as session:
            due = vials.due_vial_ids(session, now)
        return self._one_by_one(
            due,
            lambda session, vial_id: vials.waste_open_vial(
                session, vial_id, now, correlation_id=self.correlation_id
            ),
        )

    @rpc
    def record_wastage(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Record doses wasted from a lot (broken vial, expired, ...). Returns the ledger entry;
        Unprocessable when the lot holds fewer doses than that."""
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
        wastage = validation.load(WastageSchema(), data)
        with self.db.transaction() as session:
            entry = vials.record_wastage(
                session, location_id, lot_id, wastage, correlation_id=self.correlation_id
            )
        return LEDGER_ENTRY.dump(entry)

    @rpc
    def correct_stock(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Correct a lot's stock after a count, saying why. Returns the ledger entry."""
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
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
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
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
        location_id = validation.location(location_id)
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
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
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
            location_id = validation.location(location_id)
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
        # The query's fields are the report's parameters, by name.
        return levels.inventory_levels(self.db.session, location_id, **query)

    @rpc
    def inventory_levels_daily(
        self,
        location_id: str | None,
        date_from: str,
        date_to: str,
        product_id: str | None = None,
    ) -> dict:
        """Stock over time: doses on hand per product at the end of each day of [date_from,
        date_to] (ISO dates, inclusive, UTC, at most 366 days), at one location or, with
        `location_id` None, every location summed."""
        if location_id is not None:
            location_id = validation.location(location_id)
        query = validation.load(
            LevelsQuerySchema(),
            {"date_from": date_from, "date_to": date_to, "product_id": product_id},
        )
        return levels.daily_on_hand(
            self.db.session,
            location_id,
            query["date_from"],
            query["date_to"],
            product_id=query["product_id"],
        )

    @timer(interval=3600, eager=True)
    def waste_expired_lots(self) -> None:
        """Hourly (and at start): waste what is left of expired lots, announce lots expiring."""
        outcome = self.run_expiry(utcnow().date())
        if any(outcome.values()):
            log.info("expiry run: %(wasted)d lots wasted, %(expiring)d expiring", outcome)

    def _one_by_one(self, ids: list[str], waste: Callable[[Session, str], object]) -> int:
        """`waste` each id in a transaction of its own (a failure leaves the others done); how
        many wasted anything (`waste` answers None for one already dealt with)."""
        wasted = 0
        for item_id in ids:
            with self.db.transaction() as session:
                wasted += waste(session, item_id) is not None
        return wasted

    def run_expiry(self, today: date) -> dict:
        """The expiry job for `today`: each expired lot in a transaction of its own (a failure
        leaves the others done), then the `lot_expiring` notices. Safe to run again."""
        with self.db.transaction() as session:
            expired = ledger.expired_lot_ids(session, today)
        wasted = self._one_by_one(
            expired,
            lambda session, lot_id: ledger.waste_expired_lot(
                session, lot_id, today, correlation_id=self.correlation_id
            ),
        )
        with self.db.transaction() as session:
            expiring = ledger.notify_expiring_lots(
                session, today, correlation_id=self.correlation_id
            )
        return {"wasted": wasted, "expiring": len(expiring)}

    # -- days of supply and stock_low -----------------------------------------------------------
    @rpc
    def set_stock_threshold(self, location_id: str, data: dict, set_by: str | None = None) -> dict:
        """Set the location's stock_low threshold: {threshold_days} (1-365; default 7)."""
        location_id = validation.location(location_id)
        days = validation.load(StockThresholdSchema(), data)["threshold_days"]
        with self.db.transaction() as session:
            answer = supply.set_threshold(session, location_id, days, _actor(set_by))
        return answer

    @rpc
    def stock_supply(self, location_id: str) -> dict:
        """The location's threshold and, per product, usable doses on hand, average daily use
        over the last 7 days, the days of supply that makes (None: nothing used) and the
        `next_lot` to use now (as choose_lot answers it; None: no usable lot), so a dashboard
        needs one call for all of them."""
        location_id = validation.location(location_id)
        session = self.db.session
        now = utcnow()
        products = supply.days_of_supply(session, now.date(), location_id)
        for product in products:
            product["next_lot"] = vials.next_lot(session, location_id, product["product_id"], now)
        return {
            "location_id": location_id,
            "threshold_days": supply.threshold(session, location_id),
            "products": products,
        }

    @timer(interval=3600, eager=True)
    def announce_stock_low(self) -> None:
        """Hourly (and at start), so a restart never skips a day; each location and product
        is announced at most once a day."""
        announced = self.run_stock_low(utcnow().date())
        if announced:
            log.info("stock_low: %d locations and products under their threshold", announced)

    def run_stock_low(self, today: date) -> int:
        """The stock_low job for `today`. Returns how many notices were announced now."""
        with self.db.transaction() as session:
            announced = supply.announce_stock_low(
                session, today, correlation_id=self.correlation_id
            )
        return len(announced)

    # -- transfers ------------------------------------------------------------------------------
    @rpc
    def transfer_lot(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Move doses of a lot to another location (which the caller has checked exists):
        {transfer_id, to_location_id, doses, note?}; idempotent by transfer_id. Returns the
        transfer and `created`."""
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
        request = validation.load(TransferSchema(), data)
        record, created = self.db.idempotent(
            lambda session: transfers.transfer(
                session, location_id, lot_id, request, correlation_id=self.correlation_id
            )
        )
        return {**transfers.as_dict(record), "created": created}

    # -- holds for marketplace offers, and shipments of held doses ---------------------------------
    @rpc
    def place_hold(self, location_id: str, lot_id: str, data: dict) -> dict:
        """Hold doses of a lot for an offer: {hold_id, doses, note?}; idempotent by hold_id.
        Held doses stay on hand but are not available (not chosen for a dose, not given,
        wasted or transferred) until released or shipped. Returns the hold and `created`;
        Unprocessable (doses) when fewer doses are available, the lot quarantined or expired."""
        location_id, lot_id = validation.location(location_id), _lot_id(lot_id)
        request = validation.load(PlaceHoldSchema(), data)
        hold, created = self.db.idempotent(
            lambda session: holds.place(
                session, location_id, lot_id, request, correlation_id=self.correlation_id
            )
        )
        return {**holds.hold_as_dict(hold), "created": created}

    @rpc
    def get_hold(self, location_id: str, hold_id: str) -> dict:
        location_id = validation.location(location_id)
        return holds.hold_as_dict(
            holds.hold_at(self.db.session, location_id, validation.known_id(hold_id, "hold"))
        )

    @rpc
    def release_hold(self, location_id: str, hold_id: str, data: dict) -> dict:
        """Give held doses back to the lot's available stock: {release_id, doses?, reason?}
        (doses None: all the hold still holds); once per release_id. Returns the hold and
        `released` (False: this release was done already, or nothing was left)."""
        location_id = validation.location(location_id)
        hold_id = validation.known_id(hold_id, "hold")
        request = validation.load(ReleaseHoldSchema(), data)
        hold, released = self.db.idempotent(
            lambda session: holds.release(
                session, location_id, hold_id, request, correlation_id=self.correlation_id
            )
        )
        return {**holds.hold_as_dict(hold), "released": released}

    @rpc
    def ship_held(self, location_id: str, hold_id: str, data: dict) -> dict:
        """Ship held doses to another location: {shipment_id, to_location_id, doses, note?}:
        out of the lot (`transferred_out`) into transit; idempotent by shipment_id. Returns the
        shipment and `created`."""
        location_id = validation.location(location_id)
        hold_id = validation.known_id(hold_id, "hold")
        request = validation.load(ShipHeldSchema(), data)
        shipment, created = self.db.idempotent(
            lambda session: holds.ship(
                session, location_id, hold_id, request, correlation_id=self.correlation_id
            )
        )
        return {**holds.shipment_as_dict(shipment), "created": created}

    @rpc
    def receive_shipment(self, location_id: str, shipment_id: str, data: dict) -> dict:
        """The destination receives a shipment as the same lot: {doses_received,
        arrival_temperature_c, data_logger_id}. Outside the product's storage range the doses
        are wasted there (`cold_chain_failure`); fewer than shipped is a `short_shipment`
        discrepancy. Idempotent: received again alike, the shipment as it is (`created`
        False); Conflict with another count."""
        location_id = validation.location(location_id)
        shipment_id = validation.known_id(shipment_id, "shipment")
        request = validation.load(ReceiveShipmentSchema(), data)
        with self.db.transaction() as session:
            shipment, created = holds.receive(
                session, location_id, shipment_id, request, correlation_id=self.correlation_id
            )
            answer = {**holds.shipment_as_dict(shipment), "created": created}
        return answer

    # -- the catalog ----------------------------------------------------------------------------
    @rpc
    def update_product(self, product_id: str, changes: dict, edited_by: str | None = None) -> dict:
        """A state admin's edit of a product's editable fields; announces product_updated."""
        if not isinstance(product_id, str) or not 0 < len(product_id) <= 64:
            raise NotFound(f"product {product_id} not found")
        data = validation.load(ProductChangesSchema(), changes)
        with self.db.transaction() as session:
            product = catalog.update_product(
                session,
                product_id,
                data,
                edited_by=_actor(edited_by),
                correlation_id=self.correlation_id,
            )
            answer = catalog.as_dict(product)
        return answer

    # -- the Inventory Levels form (offline entry) ----------------------------------------------
    @rpc
    def levels_form(
        self, location_id: str, date_from: str | None, date_to: str | None, fmt: str
    ) -> dict:
        """The location's Inventory Levels form per lot for [date_from, date_to] (default: the
        7 days to today), as `pdf` ({filename, content_type, base64}) or `csv` ({filename,
        content_type, text}: the template to fill in and import)."""
        location_id = validation.location(location_id)
        to = date_to or utcnow().date().isoformat()
        if date_from is None and isinstance(to, str):
            try:
                date_from = (date.fromisoformat(to) - timedelta(days=6)).isoformat()
            except ValueError:
                date_from = to
        query = validation.load(
            FormQuerySchema(), {"date_from": date_from, "date_to": to, "format": fmt}
        )
        data = forms.form(self.db.session, location_id, query["date_from"], query["date_to"])
        return forms.rendered(data, query["format"])

    @rpc
    def import_levels_form(
        self, location_id: str, csv_text: str, imported_by: str | None = None
    ) -> dict:
        """Import a filled-in Inventory Levels form (CSV). Each row is accepted or rejected
        on its own, with its reason; a row already imported is a `duplicate` and records
        nothing again. Returns {location_id, rows: [{row_id, status, reason,
        ledger_entry_ids}], recorded, unchanged, duplicate, skipped, rejected}."""
        location_id = validation.location(location_id)
        raw_rows = forms.parse(csv_text)
        outcomes = []
        for number, raw in enumerate(raw_rows, start=2):  # line 1 is the header
            outcomes.append(self._import_row(location_id, raw, number, _actor(imported_by)))
        counts = {status: 0 for status in forms.STATUSES}
        for outcome in outcomes:
            counts[outcome["status"]] += 1
        return {"location_id": location_id, "rows": outcomes, **counts}

    def _import_row(self, location_id: str, raw: dict, line: int, imported_by: str) -> dict:
        row_id = (raw.get("row_id") or "").strip() or f"line-{line}"
        try:
            row = forms.load_row(raw)
            outcome = self.db.idempotent(
                lambda session: forms.import_row(
                    session,
                    location_id,
                    row,
                    imported_by=imported_by,
                    correlation_id=self.correlation_id,
                )
            )
        except (InvalidInput, Unprocessable) as exc:
            return _rejected(row_id, _reasons(exc.errors))
        except (NotFound, Conflict) as exc:
            return _rejected(row_id, str(exc.args[0]) if exc.args else type(exc).__name__)
        return {"row_id": row_id, "reason": None, **outcome}


def _actor(name) -> str | None:
    return name[:100] if isinstance(name, str) and name else None


def _rejected(row_id: str, reason: str) -> dict:
    return {"row_id": row_id, "status": "rejected", "reason": reason, "ledger_entry_ids": []}


def _reasons(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        parts.append(f"{field}: {text}")
    return " ".join(parts)
