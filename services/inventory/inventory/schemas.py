"""marshmallow schemas for inventory's RPC boundary (input) and its answers (output). The
answers' shapes are declared once, in cvms_platform.answers.inventory (the gateway documents its
HTTP answers with them); here they are only bound to the service's records."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.answers import inventory as answers
from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.codes import WASTAGE_REASONS

STORAGE_UNIT = validate.Length(min=1, max=100)
NOTE = validate.Length(min=1, max=2000)
MAX_DOSES = 1_000_000
LEDGER_PAGE_MAX = 200
# Plausible readings of a vaccine storage unit, from ultra-cold freezers to a failed fridge.
TEMPERATURE = validate.Range(min=-100, max=100)


class ReceiveLotSchema(Schema):
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_number = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,50}$", error="Letters, digits and '-' only."),
    )
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    storage_unit = fields.Str(load_default=None, validate=validate.Length(max=100))


# -- answers: the platform's shapes; here, how a field is read where it is not a column -----------
ProductSchema = answers.Product


class LotSchema(answers.Lot):
    product_name = fields.Function(lambda lot: lot.product.name)


class WastageSchema(Schema):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DOSES))
    reason = fields.Str(required=True, validate=validate.OneOf(WASTAGE_REASONS))
    note = fields.Str(load_default=None, validate=NOTE)

    @validates_schema
    def _other_needs_a_note(self, data, **kwargs):
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            raise ValidationError("Say what happened when the reason is other.", "note")


class CorrectionSchema(Schema):
    delta = fields.Int(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-MAX_DOSES, max=MAX_DOSES),
            validate.NoneOf([0], error="A correction changes stock: not 0."),
        ],
    )
    note = fields.Str(required=True, validate=NOTE)

    @validates_schema
    def _note_not_blank(self, data, **kwargs):
        if "note" in data and not data["note"].strip():
            raise ValidationError("Say why the stock is corrected.", "note")


class ExcursionSchema(Schema):
    observed_at = fields.AwareDateTime(required=True)
    min_c = fields.Float(load_default=None, allow_nan=False, validate=TEMPERATURE)
    max_c = fields.Float(load_default=None, allow_nan=False, validate=TEMPERATURE)
    temperature_c = fields.Float(load_default=None, allow_nan=False, validate=TEMPERATURE)
    note = fields.Str(load_default=None, validate=NOTE)

    @validates_schema
    def _a_reading(self, data, **kwargs):
        readings = [data.get(name) for name in ("min_c", "max_c", "temperature_c")]
        if all(value is None for value in readings):
            raise ValidationError(
                "Give the temperature read: temperature_c, or min_c and/or max_c.",
                "temperature_c",
            )
        if None not in readings[:2] and readings[0] > readings[1]:
            raise ValidationError("min_c is above max_c.", "min_c")


LedgerEntrySchema = answers.LedgerEntry


class ExcursionRecordSchema(answers.Excursion):
    """The excursion's own record: the answer adds the lots it quarantined."""

    class Meta:
        exclude = ("quarantined_lots",)


DiscrepancySchema = answers.Discrepancy


class ChooseLotSchema(Schema):
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    at = fields.AwareDateTime(required=True)


class LevelsQuerySchema(Schema):
    """The inventory levels report's query: a date range (inclusive, UTC, at most 366 days),
    an optional product, and a page."""

    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    product_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    page = fields.Int(load_default=1, strict=True, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Int(
        load_default=50, strict=True, validate=validate.Range(min=1, max=LEDGER_PAGE_MAX)
    )

    @validates_schema
    def _a_range(self, data, **kwargs):
        if "date_from" not in data or "date_to" not in data:
            return
        if data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts.", "date_to")
        if (data["date_to"] - data["date_from"]).days + 1 > 366:
            raise ValidationError("At most 366 days.", "date_to")


class StockThresholdSchema(Schema):
    threshold_days = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=365))


class TransferSchema(Schema):
    transfer_id = fields.Str(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", error="Letters, digits, '_.:-'; 1-64."
        ),
    )
    to_location_id = fields.Str(required=True, validate=LOCATION_ID)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DOSES))
    note = fields.Str(load_default=None, validate=NOTE)


class ProductChangesSchema(Schema):
    """What a state admin may change in a product (at least one field)."""

    name = fields.Str(validate=validate.Length(min=1, max=200))
    cap_color = fields.Str(validate=validate.Length(min=1, max=30))
    manufacturer = fields.Str(validate=validate.Length(min=1, max=100))
    doses_per_vial = fields.Int(strict=True, validate=validate.Range(min=1, max=50))
    dose_volume_ml = fields.Float(allow_nan=False, validate=validate.Range(min=0.05, max=5))
    beyond_use_hours = fields.Int(strict=True, validate=validate.Range(min=1, max=720))
    min_age_years = fields.Int(strict=True, validate=validate.Range(min=0, max=120))
    series_doses = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    min_interval_days = fields.Int(strict=True, validate=validate.Range(min=0, max=3650))
    storage_min_c = fields.Int(strict=True, validate=TEMPERATURE)
    storage_max_c = fields.Int(strict=True, validate=TEMPERATURE)
    active = fields.Bool(truthy={True}, falsy={False})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Change at least one field.", "_schema")
        if data.get("storage_min_c", -1000) > data.get("storage_max_c", 1000):
            raise ValidationError("Above storage_max_c.", "storage_min_c")


class FormQuerySchema(Schema):
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    format = fields.Str(required=True, validate=validate.OneOf(["pdf", "csv"]))

    @validates_schema
    def _a_range(self, data, **kwargs):
        if "date_from" in data and "date_to" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts.", "date_to")
