"""The public HTTP contract: request bodies are validated with these, and the OpenAPI document
is generated from them."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform import codes
from cvms_platform.codes import WASTAGE_REASONS

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
    active = fields.Bool(metadata={"description": "Inactive products take no new shipments"})


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
    """The paper Recipient Registration form; only the name and date of birth are required."""

    given_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)
    sex = fields.Str(allow_none=True, validate=validate.OneOf(list(codes.SEXES)))
    race = fields.Str(
        allow_none=True,
        validate=validate.OneOf(list(codes.RACES)),
        metadata={"description": "CDC race code: " + codes.describe(codes.RACES)},
    )
    ethnicity = fields.Str(
        allow_none=True,
        validate=validate.OneOf(list(codes.ETHNICITIES)),
        metadata={"description": "CDC ethnicity code: " + codes.describe(codes.ETHNICITIES)},
    )
    address = fields.Nested("RecipientAddress", allow_none=True)
    phone = fields.Str(allow_none=True, validate=validate.Length(min=7, max=32))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=validate.OneOf(list(codes.LANGUAGES)))
    contact_preferences = fields.Nested("ContactPreferences")


class Recipient(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    sex = fields.Str(allow_none=True)
    race = fields.Str(allow_none=True)
    ethnicity = fields.Str(allow_none=True)
    address = fields.Nested("RecipientAddress", allow_none=True)
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    preferred_language = fields.Str()
    contact_preferences = fields.Nested("ContactPreferences")
    created_at = fields.DateTime()
    matched = fields.Bool(
        metadata={"description": "On registration: an existing recipient (likely duplicate)"}
    )


class RecordAdministrationRequest(Schema):
    id = fields.UUID(
        required=True,
        metadata={"description": "Client-chosen record id: resubmitting it records nothing new"},
    )
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=LOCATION_ID)
    lot_id = fields.UUID(
        allow_none=True,
        metadata={"description": "The lot the dose came from; or give product_id alone"},
    )
    product_id = fields.Str(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "Without lot_id: inventory chooses the lot of this product (first "
            "expiring first); 422 on product_id when none is usable"
        },
    )
    dose_number = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)
    override = fields.Nested(
        "ClinicalOverride",
        metadata={
            "description": "Record the dose although clinical checks fail (location managers "
            "and state admins only)"
        },
    )
    site = fields.Str(
        allow_none=True,
        validate=validate.OneOf(list(codes.ADMINISTRATION_SITES)),
        metadata={
            "description": "HL7 table 0163: " + codes.describe_labels(codes.ADMINISTRATION_SITES)
        },
    )
    route = fields.Str(
        allow_none=True,
        validate=validate.OneOf(list(codes.ADMINISTRATION_ROUTES)),
        metadata={
            "description": "HL7 table 0162: " + codes.describe_labels(codes.ADMINISTRATION_ROUTES)
        },
    )
    dose_volume_ml = fields.Float(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.05, max=5.0),
        metadata={"description": "Volume given, in mL"},
    )
    performer_name = fields.Str(
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Who gave the dose, when not the user recording it"},
    )

    @validates_schema(skip_on_field_errors=False)
    def _a_lot_or_a_product(self, data, **kwargs):
        if data.get("lot_id") is None and not data.get("product_id"):
            raise ValidationError("Name the lot, or the product to take a lot of.", "lot_id")


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
    overridden_rules = fields.List(fields.Str(), allow_none=True)
    override_reason = fields.Str(allow_none=True)
    flags = fields.List(fields.Str(), allow_none=True)
    site = fields.Str(allow_none=True, metadata={"description": "HL7 table 0163 code"})
    route = fields.Str(allow_none=True, metadata={"description": "HL7 table 0162 code"})
    dose_volume_ml = fields.Float(allow_none=True)
    recorded_by_user_id = fields.Str(allow_none=True)
    performer_name = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "completed, or voided (entered in error)"})
    history = fields.List(
        fields.Nested("AdministrationChange"),
        metadata={"description": "Corrections and voids, oldest first"},
    )


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


# -- the inventory levels report ------------------------------------------------------------------
LEVELS_MAX_DAYS = 366


class InventoryLevelsQuery(Schema):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (inclusive, UTC; at most 366 days), optional
    `product_id`, `page` and `limit` (rows per page, 1-200), `format=json|csv`."""

    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    product_id = fields.Str(validate=validate.Length(min=1, max=64))
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    format = fields.Str(validate=validate.OneOf(["json", "csv"]))

    @validates_schema
    def _a_range(self, data, **kwargs):
        if "date_from" not in data or "date_to" not in data:
            return
        if data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts (from is after to).", "to")
        if (data["date_to"] - data["date_from"]).days + 1 > LEVELS_MAX_DAYS:
            raise ValidationError(f"At most {LEVELS_MAX_DAYS} days from `from`.", "to")


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


# -- recipients: the registration form's parts, clinical overrides, the FHIR export -------------
class RecipientAddress(Schema):
    line1 = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.Str(allow_none=True, validate=validate.Length(max=200))
    city = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    state = fields.Str(required=True, validate=validate.OneOf(codes.US_STATES))
    postal_code = fields.Str(
        required=True,
        validate=validate.Regexp(r"^\d{5}(-\d{4})?$", error="A ZIP code: 12345 or 12345-6789."),
    )


class ContactPreferences(Schema):
    email = fields.Bool()
    sms = fields.Bool()
    phone = fields.Bool()
    mail = fields.Bool()


class ClinicalOverride(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class FhirBundle(Schema):
    resourceType = fields.Str(metadata={"example": "Bundle"})
    type = fields.Str(metadata={"example": "collection"})
    entry = fields.List(
        fields.Dict(), metadata={"description": "A Patient, then one Immunization per dose"}
    )
