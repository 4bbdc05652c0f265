"""marshmallow schemas for administration's RPC boundary (input) and its answers (output)."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from cvms_platform.codes import CHANNELS, ETHNICITIES, LANGUAGES, RACES, SEXES, US_STATES

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


class RecipientSchema(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    sex = fields.Str(allow_none=True)
    race = fields.Str(allow_none=True)
    ethnicity = fields.Str(allow_none=True)
    address = fields.Method("_address")
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    preferred_language = fields.Str()
    contact_preferences = fields.Method("_channels")
    created_at = fields.DateTime()

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


class RecordAdministrationSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-chosen record id"})
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    dose_number = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)
    override = fields.Nested(OverrideSchema, load_default=None)


class AdministrationSchema(Schema):
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
