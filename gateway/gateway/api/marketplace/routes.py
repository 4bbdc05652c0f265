"""The Vaccine Marketplace's routes. A location's managers offer its surplus doses (held in
inventory while on offer) and withdraw them; managers of other locations search open offers and
claim doses; the offering location accepts (all or part) or declines, then ships; the claiming
location receives, counting the doses and attesting the cold chain. State admins see every offer
and claim.

Who may act on which side is the path's location (checked here: the caller acts for it) and the
marketplace's answer to it: a claim is answered and shipped only under its offering location's
path, and received only under its claiming location's (403 for the other party, 404 for anyone
else)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for

from gateway import routing
from gateway.access import MANAGERS, allow
from gateway.api.marketplace import schemas
from gateway.docs import doc
from gateway.routing import API_PREFIX, call, created

marketplace = Blueprint("marketplace", __name__, url_prefix=API_PREFIX)

OFFERS = "/locations/<location_id>/marketplace/offers"
CLAIMS = "/locations/<location_id>/marketplace/claims"


def _optional_body() -> dict:
    """routing.body(), no body at all being an empty one (the schemas it serves have only
    optional fields)."""
    return routing.body() if request.get_data() else {}


def _actor() -> str:
    return g.principal.username


# -- offers ---------------------------------------------------------------------------------------
@marketplace.post(OFFERS)
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Offer surplus doses of one of the location's lots to other locations; the doses are held "
    "(not usable here) while on offer. Claimable until available_until, which is at most the "
    "lot's expiry less transit_days. Idempotent by offer_id",
    body=schemas.NewOffer,
    responses={
        201: ("The offer", schemas.Offer),
        200: ("This offer id was already recorded: the offer as it is", schemas.Offer),
        404: "No such lot at this location",
        409: "The offer id was used for another offer",
        422: "Fewer doses available than offered (held, in open vials, quarantined or expired), "
        "or available_until too late",
    },
)
def create_offer(location_id: str):
    offer = call.marketplace.create_offer(location_id, routing.body(), _actor())
    location = url_for(".get_offer", location_id=location_id, offer_id=offer["offer_id"])
    return created(offer, location, new=offer["created"])


@marketplace.get(OFFERS)
@allow(*MANAGERS, location_scoped=True)
@doc(
    "The location's own offers, newest first (?status=open|withdrawn|expired)",
    responses={200: ("Offers", schemas.Offer(many=True))},
)
def location_offers(location_id: str):
    query = routing.query(schemas.OfferStatusQuery())
    return jsonify(call.marketplace.location_offers(location_id, query.get("status")))


@marketplace.get(f"{OFFERS}/<offer_id>")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "One of the location's offers, with its claims",
    responses={200: ("The offer", schemas.OfferWithClaims)},
)
def get_offer(location_id: str, offer_id: str):
    return jsonify(call.marketplace.get_offer(location_id, offer_id))


@marketplace.post(f"{OFFERS}/<offer_id>/withdraw")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Withdraw an offer: its unanswered claims are declined and the doses no accepted claim "
    "needs are released (usable here again); accepted claims may still be shipped. Withdrawing "
    "it again answers it as it is",
    body=schemas.Withdrawal,
    responses={200: ("The offer", schemas.OfferWithClaims)},
)
def withdraw_offer(location_id: str, offer_id: str):
    return jsonify(
        call.marketplace.withdraw_offer(location_id, offer_id, _optional_body(), _actor())
    )


@marketplace.get("/locations/<location_id>/marketplace/search")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Open offers of other locations that may still be claimed, soonest expiry first "
    "(?product_id=, ?min_doses=)",
    responses={200: ("Offers", schemas.Offer(many=True))},
)
def search_offers(location_id: str):
    query = routing.query(schemas.SearchQuery())
    found = call.marketplace.search_offers(location_id, query.get("product_id"), query["min_doses"])
    return jsonify(found)


# -- claims ---------------------------------------------------------------------------------------
@marketplace.post(CLAIMS)
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Claim doses of another location's open offer for this location; idempotent by claim_id. "
    "Unanswered, it expires",
    body=schemas.NewClaim,
    responses={
        201: ("The claim", schemas.Claim),
        200: ("This claim id was already recorded: the claim as it is", schemas.Claim),
        404: "No such offer",
        409: "Fewer doses unclaimed (not_enough_doses), the offer closed (offer_closed), or "
        "the claim id used for another claim",
        422: "Fewer than the offer's minimum per claim, or the location's own offer",
    },
)
def request_claim(location_id: str):
    claim = call.marketplace.request_claim(location_id, routing.body(), _actor())
    location = url_for(".get_claim", location_id=location_id, claim_id=claim["claim_id"])
    return created(claim, location, new=claim["created"])


@marketplace.get(CLAIMS)
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Claims the location made and claims on its offers, newest first (?status=)",
    responses={200: ("Claims", schemas.Claim(many=True))},
)
def location_claims(location_id: str):
    query = routing.query(schemas.ClaimStatusQuery())
    return jsonify(call.marketplace.location_claims(location_id, query.get("status")))


@marketplace.get(f"{CLAIMS}/<claim_id>")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "A claim the location made or received",
    responses={200: ("The claim", schemas.Claim)},
)
def get_claim(location_id: str, claim_id: str):
    return jsonify(call.marketplace.get_claim(location_id, claim_id))


@marketplace.post(f"{CLAIMS}/<claim_id>/accept")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Accept a claim on the location's offer, all of it or `doses` of it (the rest goes back on "
    "offer). Idempotent",
    body=schemas.Acceptance,
    responses={
        200: ("The claim", schemas.Claim),
        403: "The claim is this location's own: only the offering location answers it",
        409: "The claim was declined or has expired, or was accepted for another number",
        422: "More doses than the claim asks for",
    },
)
def accept_claim(location_id: str, claim_id: str):
    return jsonify(call.marketplace.accept_claim(location_id, claim_id, _optional_body(), _actor()))


@marketplace.post(f"{CLAIMS}/<claim_id>/decline")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Decline a claim on the location's offer, with a reason: its doses go back on offer",
    body=schemas.Decline,
    responses={
        200: ("The claim", schemas.Claim),
        403: "The claim is this location's own: only the offering location answers it",
        409: "The claim was accepted or has expired",
    },
)
def decline_claim(location_id: str, claim_id: str):
    return jsonify(call.marketplace.decline_claim(location_id, claim_id, routing.body(), _actor()))


@marketplace.post(f"{CLAIMS}/<claim_id>/ship")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Ship an accepted claim: its doses leave the offered lot (in transit until received). "
    "Idempotent",
    responses={
        200: ("The claim", schemas.Claim),
        403: "The claim is this location's own: the offering location ships it",
        409: "The claim is not accepted",
        422: "The lot was quarantined or has expired",
    },
)
def ship_claim(location_id: str, claim_id: str):
    return jsonify(call.marketplace.ship_claim(location_id, claim_id, _actor()))


@marketplace.post(f"{CLAIMS}/<claim_id>/receive")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Receive a shipped claim at the claiming location: the doses counted become usable here as "
    "the same lot (number, expiry). An arrival temperature outside the product's storage range "
    "makes them wastage here (cold_chain_failure); fewer than shipped is a discrepancy to "
    "reconcile. Idempotent",
    body=schemas.Receipt,
    responses={
        200: ("The claim", schemas.Claim),
        403: "The claim is on this location's offer: the claiming location receives it",
        409: "The claim is not shipped, or was received with another count",
        422: "More doses than were shipped",
    },
)
def receive_claim(location_id: str, claim_id: str):
    return jsonify(call.marketplace.receive_claim(location_id, claim_id, routing.body(), _actor()))


# -- the state's view -----------------------------------------------------------------------------
@marketplace.get("/marketplace/offers")
@allow("state_admin")
@doc(
    "Every location's offers, newest first (?status=)",
    responses={200: ("Offers", schemas.Offer(many=True))},
)
def all_offers():
    query = routing.query(schemas.OfferStatusQuery())
    return jsonify(call.marketplace.all_offers(query.get("status")))


@marketplace.get("/marketplace/claims")
@allow("state_admin")
@doc(
    "Every claim, newest first (?status=)",
    responses={200: ("Claims", schemas.Claim(many=True))},
)
def all_claims():
    query = routing.query(schemas.ClaimStatusQuery())
    return jsonify(call.marketplace.all_claims(query.get("status")))
