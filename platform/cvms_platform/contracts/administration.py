"""The events the administration service publishes: doses recorded (one by one or an import's
chunk), corrected and voided, and recipients registered."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.codes import CHANNELS
from cvms_platform.envelope import Contract

# The columns of an offline import's CSV: the gateway's template and header checks, and the rows
# administration validates.
IMPORT_RECIPIENT_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "race",
    "ethnicity",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "preferred_language",
    "contact_email",
    "contact_sms",
    "contact_phone",
    "contact_mail",
)
IMPORT_DOSE_COLUMNS = (
    "administered_at",
    "lot_number",
    "dose_number",
    "site",
    "route",
    "dose_volume_ml",
    "performer_name",
)
IMPORT_COLUMNS = ("record_id", *IMPORT_RECIPIENT_COLUMNS, *IMPORT_DOSE_COLUMNS)
REQUIRED_IMPORT_COLUMNS = (
    "record_id",
    "given_name",
    "family_name",
    "birth_date",
    "administered_at",
    "lot_number",
)


class DoseAdministeredV1(Schema):
    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)


# Doses recorded in bulk (an offline import): one event per chunk of at most this many.
MAX_IMPORTED_DOSES = 1000


class AdministrationsImportedV1(Schema):
    """The doses one import chunk recorded, in the chunk's order (each as dose_administered
    would carry it); the API's single doses keep dose_administered."""

    import_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    doses = fields.List(
        fields.Nested(DoseAdministeredV1),
        required=True,
        validate=validate.Length(min=1, max=MAX_IMPORTED_DOSES),
    )


class RecipientRegisteredV1(Schema):
    """A new recipient (not a registration matched to an existing one).

    Deliberately without personal data: no name, birth date, address, phone or e-mail travel
    on the bus. A consumer (notifications) gets the id, the language to write in and the
    channels the recipient agreed to, and asks administration for contact details it needs."""

    recipient_id = fields.UUID(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), required=True)


class AdministrationVoidedV1(Schema):
    """A recorded dose was voided (entered in error, never given): its dose goes back to the lot
    it was taken from."""

    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    voided_by = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    voided_at = fields.AwareDateTime(required=True)


class AdministrationCorrectedV1(Schema):
    """A recorded dose was corrected. `previous_lot_id` differs from `lot_id` when the lot was
    corrected: inventory then puts the dose back to the previous lot and takes it from the new
    one. `changed` names the corrected fields (e.g. lot_id, dose_number, site)."""

    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    previous_lot_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    previous_product_id = fields.Str(required=True)
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)
    changed = fields.List(fields.Str(), required=True, validate=validate.Length(min=1))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    corrected_by = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    corrected_at = fields.AwareDateTime(required=True)


CONTRACTS = (
    Contract(
        "administration", "dose_administered", 1, DoseAdministeredV1(), ("inventory", "scheduling")
    ),
    Contract(
        "administration",
        "administrations_imported",
        1,
        AdministrationsImportedV1(),
        ("inventory", "scheduling"),
    ),
    Contract("administration", "recipient_registered", 1, RecipientRegisteredV1()),
    Contract(
        "administration",
        "administration_voided",
        1,
        AdministrationVoidedV1(),
        ("inventory", "scheduling"),
    ),
    Contract(
        "administration",
        "administration_corrected",
        1,
        AdministrationCorrectedV1(),
        ("inventory",),
    ),
)
