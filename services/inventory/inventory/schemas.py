"""marshmallow schemas for inventory's RPC boundary (input) and its answers (output)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

LOCATION_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", error="Not a valid location id.")


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


class ProductSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    cap_color = fields.Str()
    manufacturer = fields.Str()
    mvx_code = fields.Str()
    cvx_code = fields.Str()
    ndc_unit_of_sale = fields.Str()
    ndc_unit_of_use = fields.Str()
    doses_per_vial = fields.Int()
    dose_volume_ml = fields.Float()
    min_age_years = fields.Int()
    series_doses = fields.Int()
    min_interval_days = fields.Int()
    storage_min_c = fields.Int()
    storage_max_c = fields.Int()
    beyond_use_hours = fields.Int()


class LotSchema(Schema):
    id = fields.Str()
    location_id = fields.Str()
    shipment_id = fields.Str()
    product_id = fields.Str()
    product_name = fields.Function(lambda lot: lot.product.name)
    lot_number = fields.Str()
    expiration_date = fields.Date()
    storage_unit = fields.Str(allow_none=True)
    doses_received = fields.Int()
    doses_on_hand = fields.Int()
    received_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class DiscrepancySchema(Schema):
    id = fields.Str()
    location_id = fields.Str()
    lot_id = fields.Str()
    reason = fields.Str()
    administration_id = fields.Str(allow_none=True)
    detected_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.Str(allow_none=True)
