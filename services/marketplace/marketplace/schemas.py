"""marshmallow schemas at the marketplace's RPC boundary. The requests' and answers' shapes are
declared once, in cvms_platform.answers.marketplace (the gateway documents its HTTP bodies with
them); here the answers are bound to the service's records and the queries are read."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers import marketplace as answers
from marketplace.models import CLAIM_STATES, OFFER_STATES

NewOfferSchema = answers.NewOffer
NewClaimSchema = answers.NewClaim
AcceptanceSchema = answers.Acceptance
DeclineSchema = answers.Decline
WithdrawalSchema = answers.Withdrawal
ReceiptSchema = answers.Receipt


class OfferSchema(answers.Offer):
    pass


class OfferWithClaimsSchema(answers.Offer):
    claims = fields.Function(lambda offer: ClaimSchema(many=True).dump(offer.claims))


class ClaimSchema(answers.Claim):
    pass


class SearchSchema(Schema):
    product_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    min_doses = fields.Int(
        load_default=1, strict=True, validate=validate.Range(min=1, max=answers.MAX_DOSES)
    )


class OfferStatusSchema(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(OFFER_STATES))


class ClaimStatusSchema(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(CLAIM_STATES))
