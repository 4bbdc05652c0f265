"""marshmallow schemas for administration's RPC boundary (input) and its answers (output)."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates

NAME = validate.And(
    validate.Length(min=1, max=100),
    validate.Regexp(r".*\S", error="A name needs at least one letter."),
)


class NewRecipientSchema(Schema):
    given_name = fields.Str(required=True, validate=NAME)
    family_name = fields.Str(required=True, validate=NAME)
    birth_date = fields.Date(required=True)

    @validates("birth_date")
    def _not_in_future(self, value: date, **_) -> None:
        if value > date.today():
            raise ValidationError("Date of birth is in the future.")


class RecipientSchema(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    created_at = fields.DateTime()


class RecordAdministrationSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Client-chosen record id"})
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    dose_number = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)


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
