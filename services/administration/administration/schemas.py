"""marshmallow schemas for administration's RPC boundary (input) and its answers (output). The
answers' shapes are declared once, in cvms_platform.answers.administration (the gateway documents
its HTTP answers with them); here they are only bound to the service's records."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from cvms_platform.answers import administration as answers
from cvms_platform.codes import (
    ADMINISTRATION_ROUTES,
    ADMINISTRATION_SITES,
    CHANNELS,
    ETHNICITIES,
    LANGUAGES,
    RACES,
    SEXES,
    US_STATES,
)

NAME = validate.And(
    validate.Length(min=1, max=100),
    validate.Regexp(r".*\S", error="A name needs at least one letter."),
)


TEXT_100 = validate.Length(min=1, max=100)


def one_of(codes) -> validate.OneOf:
    return validate.OneOf(list(codes), error="Must be one of: {choices}.")


def phone_digits(phone: str | None) -> str:
    """A phone number's digits, without a leading US country code: how numbers are compared."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


class AddressSchema(Schema):
    line1 = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.Str(required=True, validate=TEXT_100)
    state = fields.Str(required=True, validate=one_of(US_STATES))
    postal_code = fields.Str(
        required=True,
        validate=validate.Regexp(r"^\d{5}(-\d{4})?$", error="A ZIP code: 12345 or 12345-6789."),
    )


class ContactPreferencesSchema(Schema):
    email = fields.Bool(load_default=False)
    sms = fields.Bool(load_default=False)
    phone = fields.Bool(load_default=False)
    mail = fields.Bool(load_default=False)


class NewRecipientSchema(Schema):
    given_name = fields.Str(required=True, validate=NAME)
    family_name = fields.Str(required=True, validate=NAME)
    birth_date = fields.Date(required=True)
    sex = fields.Str(validate=one_of(SEXES), load_default=None, allow_none=True)
    race = fields.Str(validate=one_of(RACES), load_default=None, allow_none=True)
    ethnicity = fields.Str(validate=one_of(ETHNICITIES), load_default=None, allow_none=True)
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ().-]{7,32}$", error="Not a valid phone number."),
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(load_default="en", validate=one_of(LANGUAGES))
    contact_preferences = fields.Nested(
        ContactPreferencesSchema, load_default=lambda: ContactPreferencesSchema().load({})
    )

    @validates("birth_date")
    def _not_in_future(self, value: date, **_) -> None:
        if value > date.today():
            raise ValidationError("Date of birth is in the future.")

    @validates("phone")
    def _enough_digits(self, value: str | None, **_) -> None:
        if value is not None and not 10 <= len(phone_digits(value)) <= 15:
            raise ValidationError("A phone number has 10 to 15 digits.")

    @validates_schema
    def _reachable_by_chosen_channels(self, data, **_) -> None:
        chosen = data.get("contact_preferences") or {}
        needs = {"email": "email", "sms": "phone", "phone": "phone", "mail": "address"}
        missing = sorted(
            channel for channel in CHANNELS if chosen.get(channel) and not data.get(needs[channel])
        )
        if missing:
            raise ValidationError(
                [f"Contact by {c} needs the recipient's {needs[c]}." for c in missing],
                "contact_preferences",
            )


class RecipientSearchSchema(Schema):
    """Staff finding a recipient: the family name and birth date (given name optional, a prefix),
    or a phone number. Never a browse of every recipient."""

    family_name = fields.Str(load_default=None, allow_none=True, validate=TEXT_100)
    given_name = fields.Str(load_default=None, allow_none=True, validate=TEXT_100)
    birth_date = fields.Date(load_default=None, allow_none=True)
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ().-]{7,32}$", error="Not a valid phone number."),
    )
    limit = fields.Int(strict=True, load_default=20, validate=validate.Range(min=1, max=20))

    @validates_schema
    def _narrow_enough(self, data, **_) -> None:
        if data.get("phone"):
            if not 10 <= len(phone_digits(data["phone"])) <= 15:
                raise ValidationError("A phone number has 10 to 15 digits.", "phone")
            return
        family = (data.get("family_name") or "").strip()
        if not family or data.get("birth_date") is None:
            raise ValidationError(
                "Give the family name and date of birth, or a phone number.", "_schema"
            )


class RecipientSchema(answers.Recipient):
    address = fields.Method("_address")
    contact_preferences = fields.Method("_channels")

    def _address(self, recipient) -> dict | None:
        if recipient.address_line1 is None:
            return None
        return {
            "line1": recipient.address_line1,
            "line2": recipient.address_line2,
            "city": recipient.city,
            "state": recipient.state,
            "postal_code": recipient.postal_code,
        }

    def _channels(self, recipient) -> dict:
        return {channel: bool(getattr(recipient, f"contact_{channel}")) for channel in CHANNELS}


class OverrideSchema(Schema):
    """Record a dose although clinical checks fail: only for callers the gateway allows."""

    reason = fields.Str(
        required=True,
        validate=validate.And(
            validate.Length(min=1, max=2000),
            validate.Regexp(r".*\S", error="Say why the checks are overridden."),
        ),
    )


REASON = validate.And(
    validate.Length(min=1, max=2000),
    validate.Regexp(r"(?s).*\S", error="Say why."),
)


class DoseDetailsSchema(Schema):
    """How a dose was given: HL7 0163 site, HL7 0162 route, the volume in mL."""

    site = fields.Str(validate=one_of(ADMINISTRATION_SITES), load_default=None, allow_none=True)
    route = fields.Str(validate=one_of(ADMINISTRATION_ROUTES), load_default=None, allow_none=True)
    dose_volume_ml = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.05, max=5.0),
    )


class RecordAdministrationSchema(DoseDetailsSchema):
    id = fields.UUID(required=True, metadata={"description": "Client-chosen record id"})
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(load_default=None, allow_none=True)
    # A product alone: inventory chooses the lot (first expiring first).
    product_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_100)
    dose_number = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)
    override = fields.Nested(OverrideSchema, load_default=None)
    performer_name = fields.Str(load_default=None, allow_none=True, validate=NAME)

    @validates_schema(skip_on_field_errors=False)
    def _a_lot_or_a_product(self, data, **_) -> None:
        if data.get("lot_id") is None and not data.get("product_id"):
            raise ValidationError("Name the lot, or the product to take a lot of.", "lot_id")


class CorrectionSchema(Schema):
    """A correction of a recorded dose: the fields that change, and why."""

    id = fields.UUID(load_default=None, metadata={"description": "Client-chosen correction id"})
    lot_id = fields.UUID()
    dose_number = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    site = fields.Str(validate=one_of(ADMINISTRATION_SITES), allow_none=True)
    route = fields.Str(validate=one_of(ADMINISTRATION_ROUTES), allow_none=True)
    dose_volume_ml = fields.Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=0.05, max=5.0)
    )
    administered_at = fields.AwareDateTime()
    reason = fields.Str(required=True, validate=REASON)
    # The corrected dose breaks a clinical check: correct it anyway (callers allowed to).
    override = fields.Nested(OverrideSchema, load_default=None)

    @validates_schema
    def _something_to_correct(self, data, **_) -> None:
        if not set(data) & set(CORRECTABLE):
            raise ValidationError(
                f"Give at least one field to correct: {', '.join(CORRECTABLE)}.", "_schema"
            )


CORRECTABLE = ("lot_id", "dose_number", "site", "route", "dose_volume_ml", "administered_at")


class VoidSchema(Schema):
    id = fields.UUID(load_default=None, metadata={"description": "Client-chosen void id"})
    reason = fields.Str(required=True, validate=REASON)


ChangeSchema = answers.AdministrationChange
AdministrationSchema = answers.Administration


EXPORT_MAX_DAYS = 366


class ExportRangeSchema(Schema):
    """A location and an inclusive range of days (UTC), at most EXPORT_MAX_DAYS long."""

    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)

    @validates_schema
    def _a_range(self, data, **_) -> None:
        if data["date_from"] > data["date_to"]:
            raise ValidationError("The range ends before it starts.", "date_to")
        if (data["date_to"] - data["date_from"]).days + 1 > EXPORT_MAX_DAYS:
            raise ValidationError(f"At most {EXPORT_MAX_DAYS} days.", "date_to")


class ClaimSchema(Schema):
    """What a recipient proves from their vaccination card to claim an account."""

    family_name = fields.Str(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    administered_on = fields.Date(required=True)


class ContactUpdateSchema(Schema):
    """A recipient's own change of contact details; only the fields given change."""

    address = fields.Nested(AddressSchema, allow_none=True)
    phone = fields.Str(
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ().-]{7,32}$", error="Not a valid phone number."),
    )
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=one_of(LANGUAGES))
    contact_preferences = fields.Nested(ContactPreferencesSchema)

    @validates("phone")
    def _enough_digits(self, value: str | None, **_) -> None:
        if value is not None and not 10 <= len(phone_digits(value)) <= 15:
            raise ValidationError("A phone number has 10 to 15 digits.")


def unreachable_channels(recipient) -> list[str]:
    """Messages for contact channels chosen without the detail they need."""
    needs = {"email": "email", "sms": "phone", "phone": "phone", "mail": "address_line1"}
    return [
        f"Contact by {channel} needs the recipient's {needs[channel].replace('_line1', '')}."
        for channel in CHANNELS
        if getattr(recipient, f"contact_{channel}") and not getattr(recipient, needs[channel])
    ]


class ImportChunkSchema(Schema):
    """A chunk of an offline import: CSV rows as {column: text}."""

    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    import_id = fields.UUID(load_default=None, allow_none=True)
    first_row = fields.Int(strict=True, load_default=2, validate=validate.Range(min=1))
    rows = fields.List(
        fields.Raw(), required=True, metadata={"description": "imports.checked_rows"}
    )


# -- documents ------------------------------------------------------------------------------------
PAPER_FORMS = ("recipient-registration", "vaccine-administration")
MAX_LOCATION_NAMES = 1000


class RecordPdfSchema(Schema):
    """A recipient's record as a PDF: in `language` (None: their preferred language), with the
    names of the locations of their doses as the gateway, which owns locations, knows them."""

    recipient_id = fields.Str(required=True, validate=validate.Length(min=1, max=36))
    language = fields.Str(load_default=None, allow_none=True, validate=one_of(LANGUAGES))
    location_names = fields.Dict(
        keys=fields.Str(validate=validate.Length(min=1, max=64)),
        values=fields.Str(validate=validate.Length(max=200)),
        load_default=dict,
        validate=validate.Length(max=MAX_LOCATION_NAMES),
    )


class PaperFormSchema(Schema):
    """One of the printable forms of offline operations, in a language."""

    kind = fields.Str(required=True, validate=one_of(PAPER_FORMS))
    language = fields.Str(load_default="en", validate=one_of(LANGUAGES))
