"""The HTTP contract of inventory: the catalog, lots received, stock on hand and discrepancies;
wastage, corrections, the lot ledger, excursions and the levels report; open vials and the next
lot (FEFO), stock thresholds and days of supply, transfers, catalog edits, the offline form."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.answers import inventory as answers
from cvms_platform.codes import WASTAGE_REASONS
from gateway.schemas import LOCATION_ID


class OpenVial(Schema):
    vial_id = fields.Str()
    lot_id = fields.Str()
    lot_number = fields.Str()
    product_id = fields.Str()
    doses_left = fields.Int()
    opened_at = fields.Str(metadata={"description": "ISO datetime (UTC)"})
    beyond_use_at = fields.Str(metadata={"description": "When what is left is wasted"})
    seconds_left = fields.Int()


class NextLotQuery(Schema):
    at = fields.AwareDateTime(
        load_default=None, metadata={"description": "ISO datetime with offset; default now"}
    )


class NextLot(Schema):
    lot_id = fields.Str()
    lot_number = fields.Str()
    product_id = fields.Str()
    expiration_date = fields.Str()
    open_vial_id = fields.Str(allow_none=True, metadata={"description": "The vial to draw from"})


class StockThresholdRequest(Schema):
    threshold_days = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "stock_low when usable stock lasts fewer days (default 7)"},
    )


class StockThreshold(Schema):
    location_id = fields.Str()
    threshold_days = fields.Int()


class ProductSupply(Schema):
    location_id = fields.Str()
    product_id = fields.Str()
    doses_on_hand = fields.Int(metadata={"description": "Usable: not quarantined, not expired"})
    average_daily_use = fields.Float(metadata={"description": "Over the 7 days before today"})
    days_of_supply = fields.Float(allow_none=True, metadata={"description": "null: none used"})
    next_lot = fields.Nested(
        NextLot,
        allow_none=True,
        metadata={"description": "The lot to use now, as next-lot answers it; null: none usable"},
    )


class StockSupply(Schema):
    location_id = fields.Str()
    threshold_days = fields.Int()
    products = fields.List(fields.Nested(ProductSupply))


class TransferRequest(Schema):
    transfer_id = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"),
        metadata={"description": "Chosen by the client: the same id again changes nothing"},
    )
    to_location_id = fields.Str(required=True, validate=LOCATION_ID)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    note = fields.Str(validate=validate.Length(min=1, max=2000))


class Transfer(Schema):
    transfer_id = fields.Str()
    from_location_id = fields.Str()
    from_lot_id = fields.Str()
    to_location_id = fields.Str()
    to_lot_id = fields.Str(metadata={"description": "The same lot's record at the destination"})
    doses = fields.Int()
    note = fields.Str(allow_none=True)
    recorded_at = fields.Str()
    created = fields.Bool(metadata={"description": "false: this transfer was already recorded"})


class ProductChanges(answers.ProductChanges):
    active = fields.Bool(
        truthy={True}, falsy={False}, metadata={"description": "false: takes no new shipments"}
    )


class FormQuery(Schema):
    date_from = fields.Date(data_key="from", load_default=None)
    date_to = fields.Date(data_key="to", load_default=None)


class FormRowOutcome(Schema):
    row_id = fields.Str()
    status = fields.Str(
        metadata={"description": "recorded, unchanged, duplicate, skipped or rejected"}
    )
    reason = fields.Str(allow_none=True, metadata={"description": "Why a row was rejected"})
    ledger_entry_ids = fields.List(fields.Str())


class FormImport(Schema):
    location_id = fields.Str()
    rows = fields.List(fields.Nested(FormRowOutcome))
    recorded = fields.Int()
    unchanged = fields.Int()
    duplicate = fields.Int()
    skipped = fields.Int()
    rejected = fields.Int()


LEVELS_MAX_DAYS = 366


class DailyLevelsQuery(Schema):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (inclusive, UTC; at most 366 days), optional
    `product_id`."""

    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    product_id = fields.Str(validate=validate.Length(min=1, max=64))

    @validates_schema
    def _a_range(self, data, **kwargs):
        if "date_from" not in data or "date_to" not in data:
            return
        if data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts (from is after to).", "to")
        if (data["date_to"] - data["date_from"]).days + 1 > LEVELS_MAX_DAYS:
            raise ValidationError(f"At most {LEVELS_MAX_DAYS} days from `from`.", "to")


class DailyOnHand(Schema):
    date = fields.Str(metadata={"description": "YYYY-MM-DD (UTC)"})
    on_hand = fields.Int(metadata={"description": "Doses on hand at the end of the day"})


class ProductSeries(Schema):
    product_id = fields.Str()
    on_hand_start = fields.Int(metadata={"description": "Doses on hand when the range began"})
    points = fields.List(fields.Nested(DailyOnHand), metadata={"description": "One per day"})


class DailyLevels(Schema):
    location_id = fields.Str(allow_none=True, metadata={"description": "null: every location"})
    product_id = fields.Str(allow_none=True)
    date_from = fields.Date()
    date_to = fields.Date()
    products = fields.List(
        fields.Nested(ProductSeries),
        metadata={"description": "Products that held or moved stock in the range"},
    )


class Product(answers.Product):
    labels = fields.Dict(
        keys=fields.Str(),
        values=fields.Str(),
        metadata={
            "description": "The product as named for a person, per language: the cap colour "
            "once, in that language",
            "example": {
                "en": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
                "es": "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)",
            },
        },
    )


class ReceiveLotRequest(answers.ReceiveLot):
    shipment_id = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The shipment's id; receiving it again records nothing new"},
    )
    storage_unit = fields.Str(validate=validate.Length(max=100))


Lot = answers.Lot


class Inventory(Schema):
    location_id = fields.Str()
    total_doses_on_hand = fields.Int()
    lots = fields.List(fields.Nested(Lot))


Discrepancy = answers.Discrepancy


class ResolveDiscrepancyRequest(Schema):
    resolution = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


# -- inventory operations: wastage, corrections, the lot ledger, excursions ----------------------
class WastageRequest(answers.Wastage):
    reason = fields.Str(
        required=True,
        validate=validate.OneOf(WASTAGE_REASONS),
        metadata={"description": "One of: " + ", ".join(WASTAGE_REASONS)},
    )
    note = fields.Str(
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "What happened; required when the reason is other"},
    )


class CorrectionRequest(answers.Correction):
    delta = fields.Int(
        required=True,
        strict=True,
        validate=answers.CORRECTION_DELTA,
        metadata={"description": "Doses to add (positive) or remove (negative)"},
    )


LedgerEntry = answers.LedgerEntry


class LedgerQuery(Schema):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.Str(validate=validate.Length(min=1, max=36))


class LedgerPage(Schema):
    entries = fields.List(fields.Nested(LedgerEntry), metadata={"description": "Newest first"})
    next_before = fields.Str(
        allow_none=True,
        metadata={"description": "Pass as ?before= for the next (older) page; null on the last"},
    )


class ExcursionRequest(Schema):
    observed_at = fields.AwareDateTime(required=True)
    min_c = fields.Float(allow_nan=False, validate=validate.Range(min=-100, max=100))
    max_c = fields.Float(allow_nan=False, validate=validate.Range(min=-100, max=100))
    temperature_c = fields.Float(
        allow_nan=False,
        validate=validate.Range(min=-100, max=100),
        metadata={"description": "The reading; or give min_c and/or max_c"},
    )
    note = fields.Str(validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _a_reading(self, data, **kwargs):
        if all(data.get(name) is None for name in ("min_c", "max_c", "temperature_c")):
            raise ValidationError(
                "Give the temperature read: temperature_c, or min_c and/or max_c.",
                "temperature_c",
            )
        low, high = data.get("min_c"), data.get("max_c")
        if low is not None and high is not None and low > high:
            raise ValidationError("min_c is above max_c.", "min_c")


Excursion = answers.Excursion


class ReleaseLotRequest(Schema):
    note = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "Why the lot is fit for use again"},
    )

    @validates_schema
    def _note_not_blank(self, data, **kwargs):
        if "note" in data and not data["note"].strip():
            raise ValidationError("Say why the lot is fit for use again.", "note")


# -- the inventory levels report ------------------------------------------------------------------
class InventoryLevelsQuery(DailyLevelsQuery):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (inclusive, UTC; at most 366 days), optional
    `product_id`, `page` and `limit` (rows per page, 1-200), `format=json|csv`."""

    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    format = fields.Str(validate=validate.OneOf(["json", "csv"]))


class InventoryLevelsRow(Schema):
    location_id = fields.Str(allow_none=True, metadata={"description": "null in totals"})
    product_id = fields.Str(allow_none=True, metadata={"description": "null in the grand total"})
    on_hand_start = fields.Int(metadata={"description": "Doses on hand when the range began"})
    received = fields.Int()
    administered = fields.Int()
    administrations_voided = fields.Int(metadata={"description": "Doses put back"})
    wasted = fields.Int(metadata={"description": "In all; by reason in the wasted_* columns"})
    wasted_broken_vial = fields.Int()
    wasted_drawn_not_administered = fields.Int()
    wasted_open_vial_time_limit = fields.Int()
    wasted_temperature_excursion = fields.Int()
    wasted_expired = fields.Int()
    wasted_other = fields.Int()
    wasted_cold_chain_failure = fields.Int(
        metadata={"description": "Received from another location outside the storage range"}
    )
    transferred_in = fields.Int()
    transferred_out = fields.Int()
    corrections = fields.Int(metadata={"description": "Net change by corrections after counts"})
    on_hand_end = fields.Int(metadata={"description": "Doses on hand at the end of the range"})
    expiring_within_30_days = fields.Int(
        metadata={"description": "Of on_hand_end, doses in lots expiring within 30 days of `to`"}
    )


class InventoryLevels(Schema):
    location_id = fields.Str(allow_none=True, metadata={"description": "null: every location"})
    product_id = fields.Str(allow_none=True)
    date_from = fields.Date()
    date_to = fields.Date()
    columns = fields.List(fields.Str(), metadata={"description": "A row's columns, in order"})
    rows = fields.List(
        fields.Nested(InventoryLevelsRow), metadata={"description": "By location, then product"}
    )
    page = fields.Int()
    page_size = fields.Int()
    total_rows = fields.Int()
    totals = fields.List(
        fields.Nested(InventoryLevelsRow),
        allow_none=True,
        metadata={"description": "Every location only: state-wide, per product"},
    )
    grand_total = fields.Nested(
        InventoryLevelsRow,
        allow_none=True,
        metadata={"description": "Every location only: state-wide, every product"},
    )
