"""The marketplace service: a location's surplus doses offered to others, claimed, answered,
and moved (shipped, received) through inventory, which holds the offered doses meanwhile.

Every RPC takes the location the caller acts for (the gateway has checked that) and the caller's
name; what a location may do to an offer or a claim is decided here: the offering location
answers and ships, the claiming location claims and receives."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from nameko.rpc import RpcProxy
from nameko.timer import timer

from cvms_platform import validation
from cvms_platform.config import float_setting
from cvms_platform.consumer import consumes
from cvms_platform.errors import Conflict
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from marketplace import offers
from marketplace.models import ACCEPTED, EXPIRED, RECEIVED, SHIPPED, WITHDRAWN, Offer
from marketplace.schemas import (
    AcceptanceSchema,
    ClaimSchema,
    ClaimStatusSchema,
    DeclineSchema,
    NewClaimSchema,
    NewOfferSchema,
    OfferSchema,
    OfferStatusSchema,
    OfferWithClaimsSchema,
    ReceiptSchema,
    SearchSchema,
    WithdrawalSchema,
)

log = logging.getLogger(__name__)
# How often unanswered claims and offers past their last day are looked for.
SWEEP_S = float_setting("CVMS_MARKETPLACE_SWEEP_SECONDS", 30.0)
# How long the offering location has to answer a claim (default two days).
DEFAULT_CLAIM_TTL_S = 48 * 3600.0

OFFER = OfferSchema()
OFFERS = OfferSchema(many=True)
OFFER_WITH_CLAIMS = OfferWithClaimsSchema()
CLAIM = ClaimSchema()
CLAIMS = ClaimSchema(many=True)


def _actor(name) -> str | None:
    return name[:100] if isinstance(name, str) and name else None


class MarketplaceService(CvmsService):
    name = "marketplace"
    inventory = RpcProxy("inventory")

    def now(self) -> datetime:
        """The clock; tests replace it to drive time."""
        return utcnow()

    def claim_ttl(self) -> timedelta:
        return timedelta(
            seconds=float_setting("CVMS_MARKETPLACE_CLAIM_TTL_SECONDS", DEFAULT_CLAIM_TTL_S)
        )

    # -- offers -----------------------------------------------------------------------------------
    @rpc
    def create_offer(self, location_id: str, data: dict, actor: str | None = None) -> dict:
        """Offer doses of one of the location's lots: {offer_id, lot_id, doses, min_per_claim?,
        available_until, fulfilment, transit_days?, notes?}; idempotent by offer_id. The doses
        are held in inventory first (Unprocessable there when fewer are available), then the
        offer is recorded with `surplus_offered`. Returns the offer and `created`."""
        location_id = validation.location(location_id)
        request = validation.load(NewOfferSchema(), data)
        existing = self.db.session.get(Offer, request["offer_id"])
        if existing is not None:
            offer = offers.same_offer(existing, location_id, request)
            return {**OFFER.dump(offer), "created": False}
        self.db.session.rollback()  # no transaction open across the calls below
        lot = self.inventory.get_lot(request["lot_id"])
        offers.check_offer(request, lot, location_id, self.now().date())
        self.inventory.place_hold(
            location_id,
            request["lot_id"],
            {
                "hold_id": request["offer_id"],
                "doses": request["doses"],
                "note": f"Marketplace offer {request['offer_id']}.",
            },
        )
        offer, created = self.db.idempotent(
            lambda session: offers.record_offer(
                session,
                location_id,
                request,
                lot,
                _actor(actor),
                self.now(),
                self.correlation_id,
            )
        )
        return {**OFFER.dump(offer), "created": created}

    @rpc
    def withdraw_offer(
        self, location_id: str, offer_id: str, data: dict | None = None, actor: str | None = None
    ) -> dict:
        """Withdraw an open offer: its pending claims are declined and the doses no accepted
        claim needs are released in inventory, with `surplus_withdrawn`. Withdrawing it again
        (or an expired one) answers it as it is."""
        location_id = validation.location(location_id)
        offer_id = validation.known_id(offer_id, "offer")
        request = validation.load(WithdrawalSchema(), data or {})
        with self.db.transaction() as session:
            offer = offers.offer_at(session, location_id, offer_id, lock=True)
            if offer.status == offers.OPEN:
                reason = request.get("reason") or f"withdrawn by {_actor(actor) or 'its location'}"
                self._close(session, offer, WITHDRAWN, reason)
            answer = OFFER_WITH_CLAIMS.dump(offer)
        return answer

    def _close(self, session, offer: Offer, status: str, reason: str) -> None:
        def release(offer: Offer, doses: int) -> None:
            # Once per offer: a close repeated after a failure releases nothing twice.
            self.inventory.release_hold(
                offer.location_id,
                offer.id,
                {"release_id": f"{offer.id}:closed", "doses": doses, "reason": f"offer_{status}"},
            )

        offers.close_offer(session, offer, status, reason, self.now(), release, self.correlation_id)

    @consumes("inventory", "lot_quarantined")
    def on_lot_quarantined(self, session, event) -> None:
        """An offered lot was quarantined (a temperature excursion where it is stored): its open
        offers are withdrawn, their unanswered claims declined and what no accepted claim needs
        released. Accepted claims stay held: inventory ships nothing of a quarantined lot, and
        they may go once the lot is released."""
        for offer in offers.open_offers_of_lot(session, str(event.payload["lot_id"])):
            self._close(session, offer, WITHDRAWN, "the lot was quarantined")

    @rpc
    def get_offer(self, location_id: str, offer_id: str) -> dict:
        """The location's own offer, with its claims."""
        location_id = validation.location(location_id)
        offer_id = validation.known_id(offer_id, "offer")
        return OFFER_WITH_CLAIMS.dump(offers.offer_at(self.db.session, location_id, offer_id))

    @rpc
    def location_offers(self, location_id: str, status: str | None = None) -> list[dict]:
        """The location's own offers, newest first (optionally of one status)."""
        location_id = validation.location(location_id)
        query = validation.load(OfferStatusSchema(), {"status": status})
        return OFFERS.dump(offers.offers_of(self.db.session, location_id, query["status"]))

    @rpc
    def all_offers(self, status: str | None = None) -> list[dict]:
        """Every location's offers, newest first (a state admin's view)."""
        query = validation.load(OfferStatusSchema(), {"status": status})
        return OFFERS.dump(offers.offers_of(self.db.session, None, query["status"]))

    @rpc
    def search_offers(
        self, location_id: str, product_id: str | None = None, min_doses: int = 1
    ) -> list[dict]:
        """Open offers of other locations that a claim may still take doses from, soonest
        expiry first: of `product_id`, with at least `min_doses` unclaimed."""
        location_id = validation.location(location_id)
        query = validation.load(SearchSchema(), {"product_id": product_id, "min_doses": min_doses})
        found = offers.search(
            self.db.session, location_id, self.now().date(), query["product_id"], query["min_doses"]
        )
        return OFFERS.dump(found)

    # -- claims -----------------------------------------------------------------------------------
    @rpc
    def request_claim(self, location_id: str, data: dict, actor: str | None = None) -> dict:
        """The location claims doses of another's open offer: {claim_id, offer_id, doses,
        note?}; idempotent by claim_id. Conflict `not_enough_doses` when fewer are unclaimed
        (of concurrent claims for the last doses, one wins), `offer_closed` when it is no longer
        open. Returns the claim and `created`."""
        location_id = validation.location(location_id)
        request = validation.load(NewClaimSchema(), data)
        claim, created = self.db.idempotent(
            lambda session: offers.request_claim(
                session,
                location_id,
                request,
                _actor(actor),
                self.now(),
                self.claim_ttl(),
                self.correlation_id,
            )
        )
        return {**CLAIM.dump(claim), "created": created}

    @rpc
    def accept_claim(
        self, location_id: str, claim_id: str, data: dict | None = None, actor: str | None = None
    ) -> dict:
        """The offering location accepts a claim, all or {doses} of it (the rest goes back on
        offer), with `claim_accepted`. Idempotent; Conflict once declined or expired."""
        location_id = validation.location(location_id)
        claim_id = validation.known_id(claim_id, "claim")
        request = validation.load(AcceptanceSchema(), data or {})
        with self.db.transaction() as session:
            claim = offers.claim_for(session, location_id, claim_id, side="offering", lock=True)
            offers.accept(
                session, claim, request["doses"], _actor(actor), self.now(), self.correlation_id
            )
            answer = CLAIM.dump(claim)
        return answer

    @rpc
    def decline_claim(
        self, location_id: str, claim_id: str, data: dict, actor: str | None = None
    ) -> dict:
        """The offering location declines a claim with a {reason}: its doses go back on offer,
        with `claim_declined`. Idempotent; Conflict once accepted or expired."""
        location_id = validation.location(location_id)
        claim_id = validation.known_id(claim_id, "claim")
        request = validation.load(DeclineSchema(), data)
        with self.db.transaction() as session:
            claim = offers.claim_for(session, location_id, claim_id, side="offering", lock=True)
            offers.decline(
                session, claim, request["reason"], _actor(actor), self.now(), self.correlation_id
            )
            answer = CLAIM.dump(claim)
        return answer

    @rpc
    def ship_claim(self, location_id: str, claim_id: str, actor: str | None = None) -> dict:
        """The offering location ships an accepted claim: inventory moves its doses out of the
        lot into transit (the shipment's id is the claim's), with `transfer_shipped`.
        Idempotent; Conflict unless accepted."""
        location_id = validation.location(location_id)
        claim_id = validation.known_id(claim_id, "claim")
        with self.db.transaction() as session:
            claim = offers.claim_for(session, location_id, claim_id, side="offering", lock=True)
            if claim.status not in (SHIPPED, RECEIVED):
                if claim.status != ACCEPTED:
                    raise Conflict(f"claim {claim.id} is {claim.status}", f"claim_{claim.status}")
                shipment = self.inventory.ship_held(
                    location_id,
                    claim.offer_id,
                    {
                        "shipment_id": claim.id,
                        "to_location_id": claim.location_id,
                        "doses": claim.doses_accepted,
                        "note": f"Marketplace claim {claim.id} to {claim.location_id}.",
                    },
                )
                offers.mark_shipped(
                    session, claim, shipment, _actor(actor), self.now(), self.correlation_id
                )
            answer = CLAIM.dump(claim)
        return answer

    @rpc
    def receive_claim(
        self, location_id: str, claim_id: str, data: dict, actor: str | None = None
    ) -> dict:
        """The claiming location receives a shipped claim: {doses_received,
        arrival_temperature_c, data_logger_id}; inventory adds the doses to its record of the
        same lot (wasted there as cold_chain_failure outside the product's storage range; a
        short count is a discrepancy there), with `transfer_received` and a
        `transfer_problem_reported` per problem. Idempotent; Conflict with another count."""
        location_id = validation.location(location_id)
        claim_id = validation.known_id(claim_id, "claim")
        receipt = validation.load(ReceiptSchema(), data)
        with self.db.transaction() as session:
            claim = offers.claim_for(session, location_id, claim_id, side="claiming", lock=True)
            if claim.status == RECEIVED:
                if not offers.same_receipt(claim, receipt):
                    raise Conflict(f"claim {claim.id} was already received with another count")
            elif claim.status != SHIPPED:
                raise Conflict(f"claim {claim.id} is {claim.status}", f"claim_{claim.status}")
            else:
                shipment = self.inventory.receive_shipment(location_id, claim.id, receipt)
                offers.mark_received(
                    session, claim, shipment, _actor(actor), self.now(), self.correlation_id
                )
            answer = CLAIM.dump(claim)
        return answer

    @rpc
    def get_claim(self, location_id: str, claim_id: str) -> dict:
        """A claim the location made or received."""
        location_id = validation.location(location_id)
        claim_id = validation.known_id(claim_id, "claim")
        return CLAIM.dump(offers.visible_claim(self.db.session, location_id, claim_id))

    @rpc
    def location_claims(self, location_id: str, status: str | None = None) -> list[dict]:
        """Claims the location made and claims on its offers, newest first."""
        location_id = validation.location(location_id)
        query = validation.load(ClaimStatusSchema(), {"status": status})
        return CLAIMS.dump(offers.claims_of(self.db.session, location_id, query["status"]))

    @rpc
    def all_claims(self, status: str | None = None) -> list[dict]:
        """Every claim, newest first (a state admin's view)."""
        query = validation.load(ClaimStatusSchema(), {"status": status})
        return CLAIMS.dump(offers.claims_of(self.db.session, None, query["status"]))

    # -- timers -----------------------------------------------------------------------------------
    @timer(interval=SWEEP_S)
    def sweep(self) -> None:
        """Unanswered claims whose time is up expire; offers past their last day close."""
        outcome = self.run_sweep()
        if any(outcome.values()):
            log.info(
                "marketplace sweep: %(claims)d claims expired, %(offers)d offers expired", outcome
            )

    def run_sweep(self) -> dict:
        """Each due claim and offer in a transaction of its own (a failure leaves the others
        done); safe to run again and on several instances at once (each row is re-checked under
        its offer's lock)."""
        now = self.now()
        with self.db.transaction() as session:
            due_claims = offers.due_claim_ids(session, now)
            due_offers = offers.due_offer_ids(session, now.date())
        expired_claims = 0
        for claim_id in due_claims:
            with self.db.transaction() as session:
                expired_claims += offers.expire_claim(session, claim_id, now, self.correlation_id)
        expired_offers = 0
        for offer_id in due_offers:
            with self.db.transaction() as session:
                offer = offers.locked_offer(session, offer_id)
                if offer.status == offers.OPEN and offer.available_until < now.date():
                    self._close(
                        session, offer, EXPIRED, f"its last day was {offer.available_until}"
                    )
                    expired_offers += 1
        return {"claims": expired_claims, "offers": expired_offers}
