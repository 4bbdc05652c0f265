"""The public HTTP contract: request bodies are validated with these, and the OpenAPI document
is generated from them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.contracts import WASTAGE_REASONS

LOCATION_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", error="Not a valid location id.")


class TokenRequest(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class TokenResponse(Schema):
    access_token = fields.Str()
    token_type = fields.Str(metadata={"example": "Bearer"})
    expires_in = fields.Int(metadata={"description": "Seconds until the token expires"})
    refresh_token = fields.Str(
        metadata={"description": "Opaque; exchange it at /auth/refresh. Each use replaces it."}
    )
    refresh_expires_in = fields.Int(
        metadata={"description": "Seconds until the session ends and a new sign-in is needed"}
    )
    role = fields.Str()
    locations = fields.List(fields.Str())


class RefreshRequest(Schema):
    refresh_token = fields.Str(
        required=True, validate=validate.Length(min=1, max=200), load_only=True
    )


class LogoutRequest(Schema):
    refresh_token = fields.Str(
        validate=validate.Length(min=1, max=200),
        load_only=True,
        metadata={"description": "Also end this session (a refresh token of the caller's)"},
    )


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
    status = fields.Str(
        metadata={"description": "usable, or quarantined after a temperature excursion"}
    )
    excursion_id = fields.Str(
        allow_none=True, metadata={"description": "The excursion that quarantined the lot"}
    )
    quarantined_at = fields.DateTime(allow_none=True)


class Inventory(Schema):
    location_id = fields.Str()
    total_doses_on_hand = fields.Int()
    lots = fields.List(fields.Nested(Lot))


class Discrepancy(Schema):
    id = fields.Str()
    location_id = fields.Str()
    lot_id = fields.Str()
    reason = fields.Str(
        metadata={
            "description": "no_stock, unknown_lot, or quarantined_lot (a dose given from a "
            "quarantined lot: taken from stock, to review)"
        }
    )
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


# -- inventory operations: wastage, corrections, the lot ledger, excursions ----------------------
class WastageRequest(Schema):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    reason = fields.Str(
        required=True,
        validate=validate.OneOf(WASTAGE_REASONS),
        metadata={"description": "One of: " + ", ".join(WASTAGE_REASONS)},
    )
    note = fields.Str(
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "What happened; required when the reason is other"},
    )

    @validates_schema
    def _other_needs_a_note(self, data, **kwargs):
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            raise ValidationError("Say what happened when the reason is other.", "note")


class CorrectionRequest(Schema):
    delta = fields.Int(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-1_000_000, max=1_000_000),
            validate.NoneOf([0], error="A correction changes stock: not 0."),
        ],
        metadata={"description": "Doses to add (positive) or remove (negative)"},
    )
    note = fields.Str(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _note_not_blank(self, data, **kwargs):
        if "note" in data and not data["note"].strip():
            raise ValidationError("Say why the stock is corrected.", "note")


class LedgerEntry(Schema):
    id = fields.Str()
    lot_id = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    reason = fields.Str(
        metadata={
            "description": "received, administered, wasted, transferred_out, transferred_in, "
            "correction or administration_voided"
        }
    )
    wastage_reason = fields.Str(allow_none=True, metadata={"description": "For wasted entries"})
    delta = fields.Int()
    balance_after = fields.Int()
    recorded_at = fields.DateTime()
    reference_id = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)


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


class Excursion(Schema):
    id = fields.Str()
    location_id = fields.Str()
    storage_unit = fields.Str()
    observed_at = fields.DateTime()
    min_c = fields.Float(allow_none=True)
    max_c = fields.Float(allow_none=True)
    temperature_c = fields.Float(allow_none=True)
    note = fields.Str(allow_none=True)
    reported_at = fields.DateTime()
    quarantined_lots = fields.List(fields.Nested(Lot))


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
