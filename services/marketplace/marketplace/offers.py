"""Offers, claims and the transfer of claimed doses: the marketplace's rules.

Inventory owns the doses. An offer holds them there (`place_hold`, the hold's id is the offer's);
withdrawing or expiring it releases what no accepted claim still needs (`release_hold`); shipping
an accepted claim moves its doses out of the lot into transit (`ship_held`, the shipment's id is
the claim's), and the claiming location receives them as the same lot (`receive_shipment`).
Each of those calls is idempotent by its id, and each marketplace step records its state and its
event in one transaction after the call: a step repeated after a failure calls inventory again
(which changes nothing the second time) and then records what it had not.

Concurrency: every change of an offer or of its claims locks the offer's row first (SELECT ...
FOR UPDATE; on SQLite the database lock does it), then the claim's. Concurrent claims for the
last doses therefore take turns on the offer's `doses_unclaimed`: one gets them, the others a
Conflict (409, `not_enough_doses`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager

from cvms_platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from marketplace.models import (
    ACCEPTED,
    CLAIM_EXPIRED,
    DECLINED,
    OPEN,
    RECEIVED,
    REQUESTED,
    SHIPPED,
    Claim,
    Offer,
)

COLD_CHAIN_FAILURE, SHORT_SHIPMENT = "cold_chain_failure", "short_shipment"
LIST_LIMIT = 200


# -- reading --------------------------------------------------------------------------------------
def locked_offer(session: Session, offer_id: str) -> Offer:
    offer = session.scalar(
        select(Offer)
        .where(Offer.id == offer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if offer is None:
        raise NotFound(f"offer {offer_id} not found")
    return offer


def offer_at(session: Session, location_id: str, offer_id: str, *, lock: bool = False) -> Offer:
    """The location's own offer (anyone else's is as unknown as a missing one)."""
    offer = locked_offer(session, offer_id) if lock else session.get(Offer, offer_id)
    if offer is None or offer.location_id != location_id:
        raise NotFound(f"offer {offer_id} not found at location {location_id}")
    return offer


def claim_for(
    session: Session, location_id: str, claim_id: str, *, side: str, lock: bool = False
) -> Claim:
    """A claim the location is a party to, on `side` ("offering" or "claiming"); its offer's
    row locked first, then its own, with `lock`. Forbidden for the other party, NotFound for
    anyone else."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id} not found")
    offering, claiming = claim.offer.location_id, claim.location_id
    party = offering if side == "offering" else claiming
    if location_id != party:
        if location_id in (offering, claiming):
            who = "the offering" if side == "offering" else "the claiming"
            raise Forbidden(f"Only {who} location may do this to claim {claim_id}.")
        raise NotFound(f"claim {claim_id} not found")
    if lock:
        locked_offer(session, claim.offer_id)
        claim = session.scalar(
            select(Claim)
            .where(Claim.id == claim_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    return claim


def visible_claim(session: Session, location_id: str, claim_id: str) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None or location_id not in (claim.location_id, claim.offer.location_id):
        raise NotFound(f"claim {claim_id} not found")
    return claim


def search(
    session: Session, location_id: str, today: date, product_id: str | None, min_doses: int
) -> list[Offer]:
    """Open offers of other locations with at least `min_doses` unclaimed, soonest expiry
    first (distance from the location comes with the suggestions, next)."""
    query = select(Offer).where(
        Offer.status == OPEN,
        Offer.location_id != location_id,
        Offer.doses_unclaimed >= max(min_doses, 1),
        Offer.available_until >= today,
    )
    if product_id is not None:
        query = query.where(Offer.product_id == product_id)
    return list(
        session.scalars(
            query.order_by(Offer.expiration_date, Offer.created_at, Offer.id).limit(LIST_LIMIT)
        )
    )


def offers_of(session: Session, location_id: str | None, status: str | None) -> list[Offer]:
    query = select(Offer)
    if location_id is not None:
        query = query.where(Offer.location_id == location_id)
    if status is not None:
        query = query.where(Offer.status == status)
    return list(
        session.scalars(query.order_by(Offer.created_at.desc(), Offer.id).limit(LIST_LIMIT))
    )


def claims_of(session: Session, location_id: str | None, status: str | None) -> list[Claim]:
    """Claims made by the location and claims on its offers (every claim: None), newest first."""
    query = select(Claim).join(Offer, Offer.id == Claim.offer_id)
    if location_id is not None:
        query = query.where(or_(Claim.location_id == location_id, Offer.location_id == location_id))
    if status is not None:
        query = query.where(Claim.status == status)
    query = query.options(contains_eager(Claim.offer))
    return list(
        session.scalars(query.order_by(Claim.requested_at.desc(), Claim.id).limit(LIST_LIMIT))
    )


# -- offers ---------------------------------------------------------------------------------------
def check_offer(request: dict, lot: dict, location_id: str, today: date) -> None:
    """What the offer must respect about its lot: here, and claimable only while it can still
    arrive before it expires."""
    if lot["location_id"] != location_id:
        raise NotFound(f"lot {request['lot_id']} not found at location {location_id}")
    expiry = date.fromisoformat(lot["expiration_date"])
    latest = expiry - timedelta(days=request["transit_days"])
    if request["available_until"] > latest:
        raise Unprocessable(
            {
                "available_until": [
                    f"At most {latest.isoformat()}: lot {lot['lot_number']} expires on "
                    f"{expiry.isoformat()}, less {request['transit_days']} days in transit."
                ]
            }
        )
    if request["available_until"] < today:
        raise Unprocessable({"available_until": ["A day in the past."]})


def same_offer(offer: Offer, location_id: str, request: dict) -> Offer:
    if (offer.location_id, offer.lot_id, offer.doses_offered) != (
        location_id,
        request["lot_id"],
        request["doses"],
    ):
        raise Conflict(f"offer {offer.id} was already made with other contents")
    return offer


def record_offer(
    session: Session,
    location_id: str,
    request: dict,
    lot: dict,
    actor: str | None,
    now: datetime,
    correlation_id: str,
) -> tuple[Offer, bool]:
    """The offer, once its doses are held in inventory, with `surplus_offered`."""
    existing = session.get(Offer, request["offer_id"])
    if existing is not None:
        return same_offer(existing, location_id, request), False
    offer = Offer(
        id=request["offer_id"],
        location_id=location_id,
        lot_id=request["lot_id"],
        product_id=lot["product_id"],
        lot_number=lot["lot_number"],
        expiration_date=date.fromisoformat(lot["expiration_date"]),
        doses_offered=request["doses"],
        doses_unclaimed=request["doses"],
        min_per_claim=request["min_per_claim"],
        available_until=request["available_until"],
        fulfilment=request["fulfilment"],
        transit_days=request["transit_days"],
        notes=request.get("notes"),
        status=OPEN,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(offer)
    session.flush()
    record_event(
        session,
        "surplus_offered",
        {
            "offer_id": offer.id,
            "location_id": location_id,
            "lot_id": offer.lot_id,
            "product_id": offer.product_id,
            "lot_number": offer.lot_number,
            "expiration_date": offer.expiration_date,
            "doses": offer.doses_offered,
            "min_per_claim": offer.min_per_claim,
            "available_until": offer.available_until,
            "fulfilment": offer.fulfilment,
        },
        correlation_id=correlation_id,
    )
    return offer, True


def close_offer(
    session: Session,
    offer: Offer,
    status: str,
    reason: str,
    now: datetime,
    release: Callable[[Offer, int], None],
    correlation_id: str,
) -> Offer:
    """Withdraw (or expire) a locked open offer: its pending claims are declined, and what no
    accepted claim still needs is released in inventory (`release(offer, doses)`), with
    `surplus_withdrawn`. Accepted claims keep their doses held until shipped."""
    for claim in pending_claims(session, offer):
        _decline(
            session, offer, claim, f"The offer was {status}: {reason}", None, now, correlation_id
        )
    doses = offer.doses_unclaimed
    if doses:
        release(offer, doses)
    offer.status, offer.closed_reason = status, reason
    offer.closed_at = offer.updated_at = now
    offer.doses_released, offer.doses_unclaimed = doses, 0
    record_event(
        session,
        "surplus_withdrawn",
        {
            "offer_id": offer.id,
            "location_id": offer.location_id,
            "product_id": offer.product_id,
            "status": status,
            "doses_released": doses,
        },
        correlation_id=correlation_id,
    )
    return offer


def pending_claims(session: Session, offer: Offer) -> list[Claim]:
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.offer_id == offer.id, Claim.status == REQUESTED)
            .order_by(Claim.requested_at, Claim.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def open_offers_of_lot(session: Session, lot_id: str) -> list[Offer]:
    """The lot's open offers, locked, in id order (the order every closer takes them in)."""
    return list(
        session.scalars(
            select(Offer)
            .where(Offer.lot_id == lot_id, Offer.status == OPEN)
            .order_by(Offer.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def due_offer_ids(session: Session, today: date) -> list[str]:
    """Open offers past their last day."""
    return list(
        session.scalars(
            select(Offer.id)
            .where(Offer.status == OPEN, Offer.available_until < today)
            .order_by(Offer.available_until, Offer.id)
            .limit(LIST_LIMIT)
        )
    )


# -- claims ---------------------------------------------------------------------------------------
def request_claim(
    session: Session,
    location_id: str,
    request: dict,
    actor: str | None,
    now: datetime,
    ttl: timedelta,
    correlation_id: str,
) -> tuple[Claim, bool]:
    existing = session.get(Claim, request["claim_id"])
    if existing is not None:
        if (existing.location_id, existing.offer_id, existing.doses_requested) != (
            location_id,
            request["offer_id"],
            request["doses"],
        ):
            raise Conflict(f"claim {existing.id} was already made with other contents")
        return existing, False
    offer = locked_offer(session, request["offer_id"])
    if offer.location_id == location_id:
        raise Unprocessable({"offer_id": ["An offer of your own location."]})
    if offer.status != OPEN or offer.available_until < now.date():
        raise Conflict(f"offer {offer.id} is no longer open", "offer_closed")
    doses = request["doses"]
    if doses > offer.doses_unclaimed:
        raise Conflict(
            f"Only {offer.doses_unclaimed} doses of offer {offer.id} are still unclaimed.",
            "not_enough_doses",
            {"doses": [f"At most {offer.doses_unclaimed}."]},
        )
    # The minimum per claim, unless what is left is less than that and the claim takes it all.
    if doses < offer.min_per_claim and doses != offer.doses_unclaimed:
        raise Unprocessable({"doses": [f"At least {offer.min_per_claim} per claim."]})
    offer.doses_unclaimed -= doses
    offer.updated_at = now
    claim = Claim(
        id=request["claim_id"],
        offer_id=offer.id,
        location_id=location_id,
        doses_requested=doses,
        status=REQUESTED,
        note=request.get("note"),
        requested_by=actor,
        requested_at=now,
        expires_at=now + ttl,
    )
    claim.offer = offer
    session.add(claim)
    session.flush()
    _claim_event(
        session, "claim_requested", claim, correlation_id, doses=doses, expires_at=claim.expires_at
    )
    return claim, True


def accept(
    session: Session, claim: Claim, doses: int | None, actor, now: datetime, correlation_id: str
) -> Claim:
    """Accept a locked claim, all or `doses` of it; the rest goes back on offer."""
    wanted = claim.doses_requested if doses is None else doses
    if claim.status in (ACCEPTED, SHIPPED, RECEIVED):
        if doses is not None and claim.doses_accepted != doses:
            raise Conflict(f"claim {claim.id} was already accepted for {claim.doses_accepted}")
        return claim
    _still_requested(claim, now)
    if wanted > claim.doses_requested:
        raise Unprocessable({"doses": [f"The claim asks for {claim.doses_requested}."]})
    _give_back(claim.offer, claim.doses_requested - wanted, now)
    claim.status, claim.doses_accepted = ACCEPTED, wanted
    claim.answered_by, claim.answered_at = actor, now
    _claim_event(
        session,
        "claim_accepted",
        claim,
        correlation_id,
        doses_requested=claim.doses_requested,
        doses_accepted=wanted,
    )
    return claim


def decline(
    session: Session, claim: Claim, reason: str, actor, now: datetime, correlation_id: str
) -> Claim:
    if claim.status == DECLINED:
        return claim
    _still_requested(claim, now)
    return _decline(session, claim.offer, claim, reason, actor, now, correlation_id)


def _decline(session, offer: Offer, claim: Claim, reason: str, actor, now, correlation_id):
    _give_back(offer, claim.doses_requested, now)
    claim.status, claim.decline_reason = DECLINED, reason[:2000]
    claim.answered_by, claim.answered_at = actor, now
    _claim_event(
        session,
        "claim_declined",
        claim,
        correlation_id,
        doses=claim.doses_requested,
        reason=claim.decline_reason,
    )
    return claim


def _give_back(offer: Offer, doses: int, now: datetime) -> None:
    """`doses` of a claim back on `offer`."""
    offer.doses_unclaimed += doses
    offer.updated_at = now


def _claim_event(session, name: str, claim: Claim, correlation_id: str, **fields) -> None:
    """Event `name` about `claim`: its parties, then `fields`."""
    record_event(session, name, {**_parties(claim), **fields}, correlation_id=correlation_id)


def _still_requested(claim: Claim, now: datetime) -> None:
    if claim.status != REQUESTED:
        raise Conflict(f"claim {claim.id} is {claim.status}", f"claim_{claim.status}")
    if claim.expires_at <= now:
        raise Conflict(f"claim {claim.id} has expired unanswered", "claim_expired")


def due_claim_ids(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Claim.id)
            .where(Claim.status == REQUESTED, Claim.expires_at <= now)
            .order_by(Claim.expires_at, Claim.id)
            .limit(LIST_LIMIT)
        )
    )


def expire_claim(session: Session, claim_id: str, now: datetime, correlation_id: str) -> bool:
    """Expire one unanswered claim whose time is up (its doses go back on offer), with
    `claim_expired`. False when it was answered or expired meanwhile: running again is safe."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        return False
    locked_offer(session, claim.offer_id)
    claim = session.scalar(
        select(Claim)
        .where(Claim.id == claim_id, Claim.status == REQUESTED, Claim.expires_at <= now)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if claim is None:
        return False
    if claim.offer.status == OPEN:
        _give_back(claim.offer, claim.doses_requested, now)
    claim.status, claim.answered_at = CLAIM_EXPIRED, now
    _claim_event(
        session, "claim_expired", claim, correlation_id, doses=claim.doses_requested, expired_at=now
    )
    return True


# -- the transfer ---------------------------------------------------------------------------------
def mark_shipped(
    session: Session, claim: Claim, shipment: dict, actor, now: datetime, correlation_id: str
) -> Claim:
    claim.status, claim.shipped_by, claim.shipped_at = SHIPPED, actor, now
    _claim_event(
        session,
        "transfer_shipped",
        claim,
        correlation_id,
        lot_number=claim.offer.lot_number,
        doses=shipment["doses"],
        shipped_at=now,
    )
    return claim


def same_receipt(claim: Claim, receipt: dict) -> bool:
    return (
        claim.doses_received,
        float(claim.arrival_temperature_c),
        claim.data_logger_id,
    ) == (
        receipt["doses_received"],
        float(receipt["arrival_temperature_c"]),
        receipt["data_logger_id"],
    )


def mark_received(
    session: Session, claim: Claim, shipment: dict, actor, now: datetime, correlation_id: str
) -> Claim:
    """Record inventory's receipt of the claim's shipment, with `transfer_received` and a
    `transfer_problem_reported` for each problem found (cold chain, short)."""
    problems = []
    if shipment["doses_received"] and not shipment["cold_chain_ok"]:
        problems.append((COLD_CHAIN_FAILURE, shipment["doses_received"]))
    if shipment["doses_received"] < shipment["doses"]:
        problems.append((SHORT_SHIPMENT, shipment["doses"] - shipment["doses_received"]))
    claim.status, claim.received_by, claim.received_at = RECEIVED, actor, now
    claim.doses_received = shipment["doses_received"]
    claim.arrival_temperature_c = shipment["arrival_temperature_c"]
    claim.data_logger_id = shipment["data_logger_id"]
    claim.to_lot_id = shipment["to_lot_id"]
    claim.problem = ",".join(problem for problem, _ in problems) or None
    parties = _parties(claim)
    attestation = {
        "arrival_temperature_c": shipment["arrival_temperature_c"],
        "data_logger_id": shipment["data_logger_id"],
    }
    record_event(
        session,
        "transfer_received",
        {
            **parties,
            **attestation,
            "lot_number": claim.offer.lot_number,
            "doses_shipped": shipment["doses"],
            "doses_received": shipment["doses_received"],
            "to_lot_id": shipment["to_lot_id"],
            "received_at": now,
        },
        correlation_id=correlation_id,
    )
    for problem, doses in problems:
        record_event(
            session,
            "transfer_problem_reported",
            {**parties, **attestation, "problem": problem, "doses_affected": doses},
            correlation_id=correlation_id,
        )
    return claim


def _parties(claim: Claim) -> dict:
    return {
        "claim_id": claim.id,
        "offer_id": claim.offer_id,
        "offering_location_id": claim.offer.location_id,
        "claiming_location_id": claim.location_id,
        "product_id": claim.offer.product_id,
    }
