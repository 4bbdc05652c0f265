"""The HTTP contract of the marketplace: offers of surplus doses, the search for them, claims and
their answers, and the transfer of claimed doses (shipped, received with a cold-chain
attestation). Requests and answers are the platform's (cvms_platform.answers.marketplace)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers import marketplace as answers

NewOffer = answers.NewOffer
NewClaim = answers.NewClaim
Acceptance = answers.Acceptance
Decline = answers.Decline
Withdrawal = answers.Withdrawal
Receipt = answers.Receipt


class Offer(answers.Offer):
    created = fields.Bool(metadata={"description": "false: this offer id was already recorded"})


class Claim(answers.Claim):
    offering_location_id = fields.Str()
    product_id = fields.Str()
    lot_number = fields.Str()
    created = fields.Bool(metadata={"description": "false: this claim id was already recorded"})


class OfferWithClaims(answers.Offer):
    claims = fields.List(fields.Nested(Claim))


class SearchQuery(Schema):
    product_id = fields.Str(validate=validate.Length(min=1, max=64))
    min_doses = fields.Int(
        load_default=1,
        validate=validate.Range(min=1, max=answers.MAX_DOSES),
        metadata={"description": "Offers with at least this many doses unclaimed (default 1)"},
    )


class OfferStatusQuery(Schema):
    status = fields.Str(validate=validate.OneOf(("open", "withdrawn", "expired")))


class ClaimStatusQuery(Schema):
    status = fields.Str(
        validate=validate.OneOf(
            ("requested", "declined", "expired", "accepted", "shipped", "received")
        )
    )
