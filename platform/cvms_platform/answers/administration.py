"""What administration answers over RPC: recipients (with their address and contact
preferences) and the doses recorded, with their corrections and voids.

Administration dumps its records with these classes; a field it computes from its record (a
recipient's `address` and `contact_preferences`, from columns of their own) is declared here as
it is answered, and the service's subclass says how it is computed. The gateway documents its
HTTP answers with the same classes, and subclasses one where the gateway itself adds a field (a
registered recipient's `matched`). A recipient's address and contact preferences are also the
parts of the gateway's registration and contact-change requests."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform import codes


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


class Recipient(Schema):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    sex = fields.Str(allow_none=True)
    race = fields.Str(allow_none=True)
    ethnicity = fields.Str(allow_none=True)
    address = fields.Nested(RecipientAddress, allow_none=True)
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    preferred_language = fields.Str()
    contact_preferences = fields.Nested(ContactPreferences)
    created_at = fields.DateTime()


class AdministrationChange(Schema):
    id = fields.Str()
    action = fields.Str(metadata={"description": "corrected or voided"})
    reason = fields.Str()
    changed_by = fields.Str()
    changed_at = fields.DateTime()
    before = fields.Dict(metadata={"description": "The changed fields before"})
    after = fields.Dict(metadata={"description": "The changed fields after"})


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
        fields.Nested(AdministrationChange),
        metadata={"description": "Corrections and voids, oldest first"},
    )
