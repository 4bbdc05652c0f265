"""The HTTP contract of administration: recipients and the doses recorded, corrections and
voids, registry exports, recipient accounts and the portal, paper forms and offline imports."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform import codes
from cvms_platform.answers import administration as answers
from gateway.schemas import LOCATION_ID

RecipientAddress = answers.RecipientAddress
ContactPreferences = answers.ContactPreferences


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
    address = fields.Nested(RecipientAddress, allow_none=True)
    phone = fields.Str(allow_none=True, validate=validate.Length(min=7, max=32))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=validate.OneOf(list(codes.LANGUAGES)))
    contact_preferences = fields.Nested(ContactPreferences)


class Recipient(answers.Recipient):
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


Administration = answers.Administration
AdministrationChange = answers.AdministrationChange


# -- recipients: clinical overrides, the FHIR export ---------------------------------------------
class ClinicalOverride(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class FhirBundle(Schema):
    resourceType = fields.Str(metadata={"example": "Bundle"})
    type = fields.Str(metadata={"example": "collection"})
    entry = fields.List(
        fields.Dict(), metadata={"description": "A Patient, then one Immunization per dose"}
    )


REASON = validate.And(
    validate.Length(min=1, max=2000),
    validate.Regexp(r"(?s).*\S", error="Say why."),
)
CORRECTABLE = ("lot_id", "dose_number", "site", "route", "dose_volume_ml", "administered_at")


class DoseCorrectionRequest(Schema):
    id = fields.UUID(
        metadata={"description": "Client-chosen correction id: resubmitting it changes nothing"}
    )
    lot_id = fields.UUID()
    dose_number = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    site = fields.Str(allow_none=True, validate=validate.OneOf(list(codes.ADMINISTRATION_SITES)))
    route = fields.Str(allow_none=True, validate=validate.OneOf(list(codes.ADMINISTRATION_ROUTES)))
    dose_volume_ml = fields.Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=0.05, max=5.0)
    )
    administered_at = fields.AwareDateTime()
    reason = fields.Str(required=True, validate=REASON)
    override = fields.Nested(
        ClinicalOverride,
        metadata={
            "description": "Correct the dose although it fails a clinical check, and why "
            "(state and location managers only)"
        },
    )

    @validates_schema
    def _something_to_correct(self, data, **kwargs):
        if not set(data) & set(CORRECTABLE):
            raise ValidationError(
                f"Give at least one field to correct: {', '.join(CORRECTABLE)}.", "_schema"
            )


class DoseVoidRequest(Schema):
    id = fields.UUID(
        metadata={"description": "Client-chosen void id: resubmitting it changes nothing"}
    )
    reason = fields.Str(required=True, validate=REASON)


EXPORT_MAX_DAYS = 366


class HL7RangeQuery(Schema):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`: inclusive UTC days, at most 366."""

    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")

    @validates_schema
    def _a_range(self, data, **kwargs):
        if data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts (from is after to).", "to")
        if (data["date_to"] - data["date_from"]).days + 1 > EXPORT_MAX_DAYS:
            raise ValidationError(f"At most {EXPORT_MAX_DAYS} days from `from`.", "to")


# -- staff finding a recipient --------------------------------------------------------------------
SEARCH_LIMIT = 20


class RecipientSearchQuery(Schema):
    """`?family_name=&birth_date=` (and `given_name=`, a prefix), or `?phone=`: never a browse."""

    family_name = fields.Str(validate=validate.Length(min=1, max=100))
    given_name = fields.Str(validate=validate.Length(min=1, max=100))
    birth_date = fields.Date()
    phone = fields.Str(validate=validate.Length(min=7, max=32))
    limit = fields.Int(load_default=SEARCH_LIMIT, validate=validate.Range(min=1, max=SEARCH_LIMIT))

    @validates_schema
    def _narrow_enough(self, data, **kwargs):
        if data.get("phone"):
            return
        if not (data.get("family_name") or "").strip() or data.get("birth_date") is None:
            raise ValidationError(
                "Give the family name and date of birth, or a phone number.", "_schema"
            )


class RecipientMatch(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    phone = fields.Str(
        allow_none=True, metadata={"description": "Masked: the last four digits only"}
    )
    email = fields.Str(
        allow_none=True, metadata={"description": "Masked: the first letter and the domain"}
    )


class RecipientMatches(Schema):
    recipients = fields.List(fields.Nested(RecipientMatch))
    more = fields.Bool(metadata={"description": "More matched than were answered: narrow it"})


# -- recipient accounts and the portal ------------------------------------------------------------
MIN_PASSWORD = 12


class RecipientAccountRequest(Schema):
    """Claim an account: the recipient proves details printed on their vaccination card."""

    username = fields.Str(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9._@+-]{3,100}$",
            error="3 to 100 letters, digits or . _ @ + -",
        ),
    )
    password = fields.Str(
        required=True,
        load_only=True,
        validate=validate.Length(
            min=MIN_PASSWORD, max=200, error=f"At least {MIN_PASSWORD} characters."
        ),
    )
    date_of_birth = fields.Date(required=True)
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    lot_number = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "The lot number on the vaccination card"},
    )
    administered_on = fields.Date(
        required=True, metadata={"description": "The day of that dose, as on the card"}
    )


class RecipientAccount(Schema):
    username = fields.Str()
    role = fields.Str(metadata={"example": "recipient"})


class ContactChangeRequest(Schema):
    """A recipient's own contact details; only the fields given change."""

    address = fields.Nested(RecipientAddress, allow_none=True)
    phone = fields.Str(allow_none=True, validate=validate.Length(min=7, max=32))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=validate.OneOf(list(codes.LANGUAGES)))
    contact_preferences = fields.Nested(ContactPreferences)

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one detail to change.", "_schema")


class Vaccination(Schema):
    id = fields.Str()
    administered_at = fields.DateTime()
    dose_number = fields.Int()
    product_id = fields.Str()
    product_name = fields.Str()
    cap_color = fields.Str(allow_none=True)
    labels = fields.Dict(
        keys=fields.Str(),
        values=fields.Str(),
        metadata={"description": "The product named for a person, per language (cap colour once)"},
    )
    manufacturer = fields.Str(allow_none=True)
    lot_number = fields.Str()
    location_id = fields.Str()
    location_name = fields.Str()
    site = fields.Str(allow_none=True)
    route = fields.Str(allow_none=True)


class RecordPdfQuery(Schema):
    lang = fields.Str(validate=validate.OneOf(list(codes.LANGUAGES)))


# -- paper forms and offline imports --------------------------------------------------------------
class FormQuery(Schema):
    lang = fields.Str(load_default="en", validate=validate.OneOf(list(codes.LANGUAGES)))


class ImportQuery(Schema):
    import_id = fields.UUID(
        metadata={"description": "Add these rows to an import begun earlier (chunked uploads)"}
    )
    first_row = fields.Int(
        load_default=2,
        validate=validate.Range(min=2),
        metadata={"description": "The file line number of the first row sent (header is line 1)"},
    )


class ImportRowOutcome(Schema):
    row = fields.Int(metadata={"description": "The line of the file (the header is line 1)"})
    record_id = fields.Str()
    status = fields.Str(metadata={"description": "accepted, duplicate or rejected"})
    administration_id = fields.Str(allow_none=True)
    recipient_id = fields.Str(allow_none=True)
    errors = fields.Dict(allow_none=True, metadata={"description": "Why, per column"})


class ImportReport(Schema):
    import_id = fields.Str()
    location_id = fields.Str()
    accepted = fields.Int()
    duplicate = fields.Int()
    rejected = fields.Int()
    rows = fields.List(fields.Nested(ImportRowOutcome))
