"""marshmallow schemas for inventory's RPC boundary (input) and its answers (output). The
answers' shapes are declared once, in cvms_platform.answers.inventory (the gateway documents its
HTTP answers with them); here they are only bound to the service's records."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.answers import inventory as answers
from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.answers.inventory import MAX_DOSES, NOTE, TEMPERATURE

STORAGE_UNIT = validate.Length(min=1, max=100)
LEDGER_PAGE_MAX = 200


class ReceiveLotSchema(answers.ReceiveLot):
    storage_unit = fields.Str(load_default=None, validate=validate.Length(max=100))


# -- answers: the platform's shapes; here, how a field is read where it is not a column -----------
ProductSchema = answers.Product


class LotSchema(answers.Lot):
    product_name = fields.Function(lambda lot: lot.product.name)


WastageSchema = answers.Wastage
CorrectionSchema = answers.Correction


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


# An id the client chooses (a transfer's, a hold's, a shipment's), and a count of doses moved.
CLIENT_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", error="Letters, digits, '_.:-'; 1-64."
)
DOSES = validate.Range(min=1, max=MAX_DOSES)


class TransferSchema(Schema):
    transfer_id = fields.Str(required=True, validate=CLIENT_ID)
    to_location_id = fields.Str(required=True, validate=LOCATION_ID)
    doses = fields.Int(required=True, strict=True, validate=DOSES)
    note = fields.Str(load_default=None, validate=NOTE)


class ProductChangesSchema(answers.ProductChanges):
    @validates_schema
    def _storage_range(self, data, **kwargs):
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


# -- holds and shipments of held doses (the marketplace) -------------------------------------------
class PlaceHoldSchema(Schema):
    hold_id = fields.Str(required=True, validate=CLIENT_ID)
    doses = fields.Int(required=True, strict=True, validate=DOSES)
    note = fields.Str(load_default=None, validate=NOTE)


class ReleaseHoldSchema(Schema):
    release_id = fields.Str(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", error="Letters, digits, '_.:-'; 1-100."
        ),
    )
    # None: all the hold still holds.
    doses = fields.Int(load_default=None, strict=True, validate=DOSES)
    reason = fields.Str(load_default=None, validate=validate.Length(min=1, max=30))


class ShipHeldSchema(Schema):
    shipment_id = fields.Str(required=True, validate=CLIENT_ID)
    to_location_id = fields.Str(required=True, validate=LOCATION_ID)
    doses = fields.Int(required=True, strict=True, validate=DOSES)
    note = fields.Str(load_default=None, validate=NOTE)


class ReceiveShipmentSchema(Schema):
    doses_received = fields.Int(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_DOSES)
    )
    arrival_temperature_c = fields.Float(required=True, allow_nan=False, validate=TEMPERATURE)
    data_logger_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
