"""The marketplace's requests and answers, declared once: the gateway checks and documents its
HTTP bodies with them, the marketplace service loads its RPC input and dumps its answers."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MAX_DOSES = 1_000_000
# The longest a shipment may be said to take; offers last until the lot's expiry less this.
MAX_TRANSIT_DAYS = 30
CLIENT_ID = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", error="Letters, digits, '_.:-'; 1 to 64."
)
DOSES = validate.Range(min=1, max=MAX_DOSES)
TEXT = validate.Length(min=1, max=2000)
FULFILMENTS = ("pickup", "shipped")


# -- requests -------------------------------------------------------------------------------------
class NewOffer(Schema):
    offer_id = fields.Str(
        required=True,
        validate=CLIENT_ID,
        metadata={"description": "Chosen by the client: the same id again changes nothing"},
    )
    lot_id = fields.Str(required=True, validate=validate.Length(min=1, max=36))
    doses = fields.Int(required=True, strict=True, validate=DOSES)
    min_per_claim = fields.Int(
        load_default=1,
        strict=True,
        validate=DOSES,
        metadata={"description": "The fewest doses a claim may ask for (default 1)"},
    )
    available_until = fields.Date(
        required=True,
        metadata={
            "description": "The last day it may be claimed: at most the lot's expiry "
            "less transit_days"
        },
    )
    fulfilment = fields.Str(
        required=True,
        validate=validate.OneOf(FULFILMENTS),
        metadata={"description": "pickup (the claimant collects) or shipped"},
    )
    transit_days = fields.Int(
        load_default=1,
        strict=True,
        validate=validate.Range(min=0, max=MAX_TRANSIT_DAYS),
        metadata={"description": "Days the doses take to reach the claimant (default 1)"},
    )
    notes = fields.Str(load_default=None, validate=TEXT)

    @validates_schema
    def _minimum_within_doses(self, data, **kwargs):
        if data.get("min_per_claim", 1) > data.get("doses", MAX_DOSES):
            raise ValidationError("More than the doses offered.", "min_per_claim")


class NewClaim(Schema):
    claim_id = fields.Str(
        required=True,
        validate=CLIENT_ID,
        metadata={"description": "Chosen by the client: the same id again changes nothing"},
    )
    offer_id = fields.Str(required=True, validate=CLIENT_ID)
    doses = fields.Int(required=True, strict=True, validate=DOSES)
    note = fields.Str(load_default=None, validate=TEXT)


class Acceptance(Schema):
    doses = fields.Int(
        load_default=None,
        strict=True,
        validate=DOSES,
        metadata={
            "description": "Accept only this many (default: all requested); the rest stays on offer"
        },
    )


class Decline(Schema):
    reason = fields.Str(required=True, validate=TEXT)


class Withdrawal(Schema):
    reason = fields.Str(load_default=None, validate=TEXT)


class Receipt(Schema):
    doses_received = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=MAX_DOSES),
        metadata={
            "description": "Doses counted on arrival (fewer than shipped: a short "
            "shipment, a discrepancy to reconcile)"
        },
    )
    arrival_temperature_c = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(min=-100, max=100),
        metadata={
            "description": "Outside the product's storage range: the doses are wasted "
            "(cold_chain_failure)"
        },
    )
    data_logger_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))


# -- answers --------------------------------------------------------------------------------------
class Offer(Schema):
    offer_id = fields.Str(attribute="id")
    location_id = fields.Str()
    lot_id = fields.Str()
    product_id = fields.Str()
    lot_number = fields.Str()
    expiration_date = fields.Date()
    doses_offered = fields.Int()
    doses_unclaimed = fields.Int(metadata={"description": "What a new claim may still ask for"})
    min_per_claim = fields.Int()
    available_until = fields.Date()
    fulfilment = fields.Str()
    transit_days = fields.Int()
    notes = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "open, withdrawn or expired"})
    created_by = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_reason = fields.Str(allow_none=True)
    doses_released = fields.Int(
        allow_none=True, metadata={"description": "Given back to the lot's stock when it closed"}
    )


class Claim(Schema):
    claim_id = fields.Str(attribute="id")
    offer_id = fields.Str()
    location_id = fields.Str(metadata={"description": "The claiming location"})
    offering_location_id = fields.Function(lambda claim: claim.offer.location_id)
    product_id = fields.Function(lambda claim: claim.offer.product_id)
    lot_number = fields.Function(lambda claim: claim.offer.lot_number)
    doses_requested = fields.Int()
    doses_accepted = fields.Int(allow_none=True)
    status = fields.Str(
        metadata={"description": "requested, declined, expired, accepted, shipped or received"}
    )
    note = fields.Str(allow_none=True)
    requested_by = fields.Str(allow_none=True)
    requested_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(metadata={"description": "Unanswered by then: expired"})
    answered_by = fields.Str(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    decline_reason = fields.Str(allow_none=True)
    shipped_by = fields.Str(allow_none=True)
    shipped_at = fields.AwareDateTime(allow_none=True)
    received_by = fields.Str(allow_none=True)
    received_at = fields.AwareDateTime(allow_none=True)
    doses_received = fields.Int(allow_none=True)
    arrival_temperature_c = fields.Float(allow_none=True)
    data_logger_id = fields.Str(allow_none=True)
    problem = fields.Str(
        allow_none=True, metadata={"description": "On receipt: cold_chain_failure, short_shipment"}
    )
    to_lot_id = fields.Str(
        allow_none=True, metadata={"description": "The lot's record at the claiming location"}
    )
