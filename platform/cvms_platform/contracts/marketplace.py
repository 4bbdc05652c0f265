"""The events the marketplace service publishes: surplus offered and withdrawn, claims requested
and answered (accepted, declined, expired), and the transfer of accepted doses (shipped,
received, a problem on receipt). Ids, counts and dates only: notifications (next) tells the
parties, asking identity for a location's managers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.envelope import Contract

_ID = validate.Length(min=1, max=64)


class SurplusOfferedV1(Schema):
    offer_id = fields.Str(required=True, validate=_ID)
    location_id = fields.Str(required=True, validate=_ID)
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    min_per_claim = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    available_until = fields.Date(required=True)
    fulfilment = fields.Str(required=True, validate=validate.OneOf(("pickup", "shipped")))


class SurplusWithdrawnV1(Schema):
    offer_id = fields.Str(required=True, validate=_ID)
    location_id = fields.Str(required=True, validate=_ID)
    product_id = fields.Str(required=True)
    # withdrawn (by its location) or expired (past available_until).
    status = fields.Str(required=True, validate=validate.OneOf(("withdrawn", "expired")))
    # Given back to the lot's available stock; accepted doses stay held until shipped.
    doses_released = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class _ClaimV1(Schema):
    claim_id = fields.Str(required=True, validate=_ID)
    offer_id = fields.Str(required=True, validate=_ID)
    offering_location_id = fields.Str(required=True, validate=_ID)
    claiming_location_id = fields.Str(required=True, validate=_ID)
    product_id = fields.Str(required=True)


class ClaimRequestedV1(_ClaimV1):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    expires_at = fields.AwareDateTime(required=True)


class ClaimAcceptedV1(_ClaimV1):
    doses_requested = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    doses_accepted = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class ClaimDeclinedV1(_ClaimV1):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ClaimExpiredV1(_ClaimV1):
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    expired_at = fields.AwareDateTime(required=True)


class TransferShippedV1(_ClaimV1):
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    shipped_at = fields.AwareDateTime(required=True)


class TransferReceivedV1(_ClaimV1):
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    doses_shipped = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    doses_received = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    to_lot_id = fields.UUID(required=True, allow_none=True)
    arrival_temperature_c = fields.Float(required=True)
    data_logger_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    received_at = fields.AwareDateTime(required=True)


class TransferProblemReportedV1(_ClaimV1):
    # cold_chain_failure (wasted at the destination) or short_shipment (a discrepancy there).
    problem = fields.Str(
        required=True, validate=validate.OneOf(("cold_chain_failure", "short_shipment"))
    )
    doses_affected = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    arrival_temperature_c = fields.Float(required=True)
    data_logger_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))


CONTRACTS = (
    Contract("marketplace", "surplus_offered", 1, SurplusOfferedV1()),
    Contract("marketplace", "surplus_withdrawn", 1, SurplusWithdrawnV1()),
    Contract("marketplace", "claim_requested", 1, ClaimRequestedV1(), ("notifications",)),
    Contract("marketplace", "claim_accepted", 1, ClaimAcceptedV1(), ("notifications",)),
    Contract("marketplace", "claim_declined", 1, ClaimDeclinedV1(), ("notifications",)),
    Contract("marketplace", "claim_expired", 1, ClaimExpiredV1(), ("notifications",)),
    Contract("marketplace", "transfer_shipped", 1, TransferShippedV1(), ("notifications",)),
    Contract("marketplace", "transfer_received", 1, TransferReceivedV1(), ("notifications",)),
    Contract(
        "marketplace",
        "transfer_problem_reported",
        1,
        TransferProblemReportedV1(),
        ("notifications",),
    ),
)
