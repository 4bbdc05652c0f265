"""The public HTTP contract: request bodies are validated with these, and the OpenAPI document
is generated from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

LOCATION_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", error="Not a valid location id.")


class TokenRequest(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class TokenResponse(Schema):
    access_token = fields.Str()
    token_type = fields.Str(metadata={"example": "Bearer"})
    expires_in = fields.Int(metadata={"description": "Seconds until the token expires"})
    role = fields.Str()
    locations = fields.List(fields.Str())


class Product(Schema):
    id = fields.Str(metadata={"example": "pfizer-gray-12plus"})
    name = fields.Str(metadata={"example": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"})
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


class ReceiveLotRequest(Schema):
    shipment_id = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The shipment's id; receiving it again records nothing new"},
    )
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_number = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,50}$", error="Letters, digits and '-' only."),
    )
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    storage_unit = fields.Str(validate=validate.Length(max=100))


class Lot(Schema):
    id = fields.Str()
    location_id = fields.Str()
    shipment_id = fields.Str()
    product_id = fields.Str()
    product_name = fields.Str()
    lot_number = fields.Str()
    expiration_date = fields.Date()
    storage_unit = fields.Str(allow_none=True)
    doses_received = fields.Int()
    doses_on_hand = fields.Int()
    received_at = fields.DateTime()
    updated_at = fields.DateTime()


class Inventory(Schema):
    location_id = fields.Str()
    total_doses_on_hand = fields.Int()
    lots = fields.List(fields.Nested(Lot))


class Discrepancy(Schema):
    id = fields.Str()
    location_id = fields.Str()
    lot_id = fields.Str()
    reason = fields.Str(metadata={"description": "no_stock or unknown_lot"})
    administration_id = fields.Str(allow_none=True)
    detected_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.Str(allow_none=True)


class ResolveDiscrepancyRequest(Schema):
    resolution = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class NewRecipientRequest(Schema):
    given_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)


class Recipient(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    created_at = fields.DateTime()


class RecordAdministrationRequest(Schema):
    id = fields.UUID(
        required=True,
        metadata={"description": "Client-chosen record id: resubmitting it records nothing new"},
    )
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=LOCATION_ID)
    lot_id = fields.UUID(required=True)
    dose_number = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)


class Administration(Schema):
    id = fields.Str()
    recipient_id = fields.Str()
    location_id = fields.Str()
    lot_id = fields.Str()
    product_id = fields.Str()
    lot_number = fields.Str()
    dose_number = fields.Int()
    administered_at = fields.DateTime()
    recorded_at = fields.DateTime()
    recorded_by = fields.Str()


class Error(Schema):
    error = fields.Str(metadata={"example": "invalid_input"})
    message = fields.Str()
    fields_ = fields.Dict(data_key="fields", metadata={"description": "Field-level messages"})
    request_id = fields.Str()
