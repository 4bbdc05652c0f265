"""What inventory answers over RPC: the catalog's products, lots, ledger entries, temperature
excursions and discrepancies.

Inventory dumps its records with these classes; where one of its answers adds keys to a record
(an excursion's `quarantined_lots`), the class declares them too and the service dumps the record
without them (`exclude`). The gateway documents its HTTP answers with the same classes, and
subclasses one where the gateway itself adds a field (a product's `labels`)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.codes import WASTAGE_REASONS

MAX_DOSES = 1_000_000
NOTE = validate.Length(min=1, max=2000)
# Plausible readings of a vaccine storage unit, from ultra-cold freezers to a failed fridge.
TEMPERATURE = validate.Range(min=-100, max=100)
CORRECTION_DELTA = [
    validate.Range(min=-MAX_DOSES, max=MAX_DOSES),
    validate.NoneOf([0], error="A correction changes stock: not 0."),
]


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
    active = fields.Bool(metadata={"description": "Inactive products take no new shipments"})


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
    doses_held = fields.Int(
        metadata={"description": "Of doses_on_hand, held for a marketplace offer: not usable here"}
    )
    received_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    status = fields.Str(
        metadata={"description": "usable, or quarantined after a temperature excursion"}
    )
    excursion_id = fields.Str(
        allow_none=True, metadata={"description": "The excursion that quarantined the lot"}
    )
    quarantined_at = fields.AwareDateTime(allow_none=True)


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
    recorded_at = fields.AwareDateTime()
    reference_id = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)


class Excursion(Schema):
    """A temperature excursion as reported, with the lots it quarantined (the service adds
    those to the record it dumps)."""

    id = fields.Str()
    location_id = fields.Str()
    storage_unit = fields.Str()
    observed_at = fields.AwareDateTime()
    min_c = fields.Float(allow_none=True)
    max_c = fields.Float(allow_none=True)
    temperature_c = fields.Float(allow_none=True)
    note = fields.Str(allow_none=True)
    reported_at = fields.AwareDateTime()
    quarantined_lots = fields.List(fields.Nested(Lot))


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
    detected_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.Str(allow_none=True)


# -- what inventory is asked to record: the gateway's HTTP request bodies and inventory's RPC input
# declare the fields both check alike once, here; each side adds what it documents or defaults.
class ReceiveLot(Schema):
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_number = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,50}$", error="Letters, digits and '-' only."),
    )
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DOSES))


class Wastage(Schema):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DOSES))
    reason = fields.Str(required=True, validate=validate.OneOf(WASTAGE_REASONS))
    note = fields.Str(load_default=None, validate=NOTE)

    @validates_schema
    def _other_needs_a_note(self, data, **kwargs):
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            raise ValidationError("Say what happened when the reason is other.", "note")


class Correction(Schema):
    delta = fields.Int(required=True, strict=True, validate=CORRECTION_DELTA)
    note = fields.Str(required=True, validate=NOTE)

    @validates_schema
    def _note_not_blank(self, data, **kwargs):
        if "note" in data and not data["note"].strip():
            raise ValidationError("Say why the stock is corrected.", "note")


class ProductChanges(Schema):
    """What a state admin may change in a product (at least one field)."""

    name = fields.Str(validate=validate.Length(min=1, max=200))
    cap_color = fields.Str(validate=validate.Length(min=1, max=30))
    manufacturer = fields.Str(validate=validate.Length(min=1, max=100))
    doses_per_vial = fields.Int(strict=True, validate=validate.Range(min=1, max=50))
    dose_volume_ml = fields.Float(allow_nan=False, validate=validate.Range(min=0.05, max=5))
    beyond_use_hours = fields.Int(strict=True, validate=validate.Range(min=1, max=720))
    min_age_years = fields.Int(strict=True, validate=validate.Range(min=0, max=120))
    series_doses = fields.Int(strict=True, validate=validate.Range(min=1, max=10))
    min_interval_days = fields.Int(strict=True, validate=validate.Range(min=0, max=3650))
    storage_min_c = fields.Int(strict=True, validate=TEMPERATURE)
    storage_max_c = fields.Int(strict=True, validate=TEMPERATURE)
    active = fields.Bool(truthy={True}, falsy={False})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Change at least one field.", "_schema")
