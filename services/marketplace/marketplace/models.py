"""Marketplace's own tables: offers of surplus doses and the claims on them, each claim carrying
its transfer (accepted → shipped → received) once accepted. The doses themselves are inventory's:
an offer's doses are held there (the hold's id is the offer's), a claim's shipment is shipped and
received there (the shipment's id is the claim's). Nothing here reads inventory's tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


# An offer's states: open (claims taken while doses are unclaimed and it is not past its date),
# withdrawn by its location, expired (past available_until); either way what was still held for
# it and not accepted is released.
OPEN, WITHDRAWN, EXPIRED = "open", "withdrawn", "expired"
OFFER_STATES = (OPEN, WITHDRAWN, EXPIRED)

# A claim's states: requested (awaiting the offering location), declined, expired (unanswered in
# time), accepted (all or part), then the transfer: shipped, received (or received with a
# problem: cold-chain failure, short shipment).
REQUESTED, DECLINED, CLAIM_EXPIRED, ACCEPTED = "requested", "declined", "expired", "accepted"
SHIPPED, RECEIVED = "shipped", "received"
CLAIM_STATES = (REQUESTED, DECLINED, CLAIM_EXPIRED, ACCEPTED, SHIPPED, RECEIVED)


class Offer(Base):
    """A location's surplus doses of one lot, held in inventory for as long as they are on
    offer. `doses_unclaimed` is what a new claim may still ask for: the offered doses less those
    requested by pending claims and those accepted."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("doses_offered > 0", name="ck_offers_doses"),
        CheckConstraint(
            "doses_unclaimed >= 0 AND doses_unclaimed <= doses_offered",
            name="ck_offers_unclaimed_within_offered",
        ),
        CheckConstraint("min_per_claim >= 1", name="ck_offers_min_per_claim"),
        CheckConstraint("status IN ('open', 'withdrawn', 'expired')", name="ck_offers_status"),
        CheckConstraint("fulfilment IN ('pickup', 'shipped')", name="ck_offers_fulfilment"),
        # The search: open offers of a product with doses left, soonest expiry first.
        Index("ix_offers_search", "status", "product_id", "expiration_date"),
        Index("ix_offers_location", "location_id", "created_at"),
        Index("ix_offers_until", "status", "available_until"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's offer id
    location_id: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiration_date: Mapped[date] = mapped_column(Date)
    doses_offered: Mapped[int] = mapped_column(Integer)
    doses_unclaimed: Mapped[int] = mapped_column(Integer)
    min_per_claim: Mapped[int] = mapped_column(Integer)
    available_until: Mapped[date] = mapped_column(Date)
    fulfilment: Mapped[str] = mapped_column(String(10))
    transit_days: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    # Doses given back to the lot's available stock in inventory when it closed.
    doses_released: Mapped[int | None] = mapped_column(Integer)

    claims: Mapped[list[Claim]] = relationship(
        back_populates="offer", order_by="Claim.requested_at"
    )


class Claim(Base):
    """Another location's request for doses of an offer, and, once accepted, their transfer."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("doses_requested > 0", name="ck_claims_requested"),
        CheckConstraint(
            "doses_accepted IS NULL OR (doses_accepted > 0 AND doses_accepted <= doses_requested)",
            name="ck_claims_accepted_within_requested",
        ),
        CheckConstraint(
            "status IN ('requested', 'declined', 'expired', 'accepted', 'shipped', 'received')",
            name="ck_claims_status",
        ),
        Index("ix_claims_offer", "offer_id", "status"),
        Index("ix_claims_location", "location_id", "requested_at"),
        Index("ix_claims_due", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's claim id
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    location_id: Mapped[str] = mapped_column(String(64))  # the claiming location
    doses_requested: Mapped[int] = mapped_column(Integer)
    doses_accepted: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=REQUESTED)
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    shipped_by: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    doses_received: Mapped[int | None] = mapped_column(Integer)
    arrival_temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 1))
    data_logger_id: Mapped[str | None] = mapped_column(String(100))
    # What inventory found on receipt: cold_chain_failure and/or short_shipment (comma-separated).
    problem: Mapped[str | None] = mapped_column(String(60))
    # The destination's record of the lot (inventory's lot id there), once received.
    to_lot_id: Mapped[str | None] = mapped_column(String(36))

    offer: Mapped[Offer] = relationship(back_populates="claims")
