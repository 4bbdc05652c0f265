"""The events the inventory service publishes: lots received, quarantined, released and
expiring, stock changes and wastage, vials opened, stock low, catalog edits."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.codes import LEDGER_REASONS, WASTAGE_REASONS
from cvms_platform.envelope import Contract


class LotReceivedV1(Schema):
    lot_id = fields.UUID(required=True)
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


# One adjustment may stand for several ledger entries of a lot written together (a chunk of
# imported doses): delta is their sum, ledger_entry_id the last of them, doses_on_hand after it.
class InventoryAdjustedV1(Schema):
    ledger_entry_id = fields.UUID(required=True)
    location_id = fields.Str(required=True)
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    reason = fields.Str(required=True, validate=validate.OneOf(LEDGER_REASONS))
    delta = fields.Int(required=True, strict=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class InventoryDiscrepancyRecordedV1(Schema):
    discrepancy_id = fields.UUID(required=True)
    location_id = fields.Str(required=True)
    lot_id = fields.UUID(required=True)
    reason = fields.Str(required=True)
    source_event_id = fields.UUID(required=True)


class DosesWastedV1(Schema):
    ledger_entry_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.Str(required=True, validate=validate.OneOf(WASTAGE_REASONS))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotQuarantinedV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    storage_unit = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    excursion_id = fields.UUID(required=True)
    observed_at = fields.AwareDateTime(required=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotReleasedV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    note = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotExpiringV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    days_left = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class VialOpenedV1(Schema):
    """A multi-dose vial was punctured for a dose: its doses must be given by beyond_use_at."""

    vial_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses_in_vial = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    opened_at = fields.AwareDateTime(required=True)
    beyond_use_at = fields.AwareDateTime(required=True)


class StockLowV1(Schema):
    """A location's usable stock of a product lasts fewer days than its threshold, at the
    average daily use of the last 7 days (announced once per location, product and day)."""

    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    average_daily_use = fields.Float(required=True, validate=validate.Range(min=0))
    days_of_supply = fields.Float(required=True, validate=validate.Range(min=0))
    threshold_days = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class ProductUpdatedV1(Schema):
    """A state admin edited the product catalog: the whole product as it is now."""

    id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True)
    cap_color = fields.Str(required=True)
    manufacturer = fields.Str(required=True)
    mvx_code = fields.Str(required=True)
    cvx_code = fields.Str(required=True)
    ndc_unit_of_sale = fields.Str(required=True)
    ndc_unit_of_use = fields.Str(required=True)
    doses_per_vial = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    dose_volume_ml = fields.Float(required=True)
    min_age_years = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    series_doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    min_interval_days = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    storage_min_c = fields.Int(required=True, strict=True)
    storage_max_c = fields.Int(required=True, strict=True)
    beyond_use_hours = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    active = fields.Bool(required=True)


# Holds (doses of a lot set aside for a marketplace offer) and shipments of held doses.
class DosesHeldV1(Schema):
    hold_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    lot_doses_held = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class DosesHoldReleasedV1(Schema):
    hold_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    # Why: `released` (or the client's reason, e.g. `offer_withdrawn`), `lot_expired`.
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=30))
    hold_doses_left = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    lot_doses_held = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class DosesShippedV1(Schema):
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    hold_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    from_location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    from_lot_id = fields.UUID(required=True)
    to_location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    shipped_at = fields.AwareDateTime(required=True)


class ShipmentReceivedV1(Schema):
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    hold_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    from_location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    to_location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    to_lot_id = fields.UUID(required=True, allow_none=True)  # None: nothing arrived
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    doses_shipped = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    doses_received = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    arrival_temperature_c = fields.Float(required=True)
    data_logger_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    # False: arrived outside the product's storage range, wasted (cold_chain_failure).
    cold_chain_ok = fields.Bool(required=True)
    received_at = fields.AwareDateTime(required=True)


CONTRACTS = (
    Contract("inventory", "lot_received", 1, LotReceivedV1(), ("administration", "scheduling")),
    Contract("inventory", "inventory_adjusted", 1, InventoryAdjustedV1(), ("scheduling",)),
    Contract("inventory", "inventory_discrepancy_recorded", 1, InventoryDiscrepancyRecordedV1()),
    Contract("inventory", "doses_wasted", 1, DosesWastedV1(), ("scheduling",)),
    Contract(
        "inventory",
        "lot_quarantined",
        1,
        LotQuarantinedV1(),
        ("scheduling", "administration", "marketplace"),
    ),
    Contract("inventory", "lot_released", 1, LotReleasedV1(), ("scheduling", "administration")),
    Contract("inventory", "lot_expiring", 1, LotExpiringV1()),
    Contract("inventory", "vial_opened", 1, VialOpenedV1()),
    Contract("inventory", "stock_low", 1, StockLowV1()),
    Contract("inventory", "product_updated", 1, ProductUpdatedV1(), ("administration",)),
    Contract("inventory", "doses_held", 1, DosesHeldV1()),
    Contract("inventory", "doses_hold_released", 1, DosesHoldReleasedV1()),
    Contract("inventory", "doses_shipped", 1, DosesShippedV1()),
    Contract("inventory", "shipment_received", 1, ShipmentReceivedV1()),
)
