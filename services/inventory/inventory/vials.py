"""Open multi-dose vials and first-expired-first-out: which lot the next dose comes from.

A dose is drawn from its lot's open vial while that vial is within its beyond-use time (the
product's `beyond_use_hours` after the first puncture) and has doses left; otherwise a new vial
is opened. What is left in a vial at its beyond-use time is wasted (`open_vial_time_limit`).
A vial's doses stay part of its lot's on-hand until given or wasted; the lot's balance is the
one the ledger keeps, and the vial only says how many of those doses are already punctured.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from cvms_platform.errors import NoUsableLot
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory import ledger
from inventory.models import USABLE, LedgerEntry, Lot, OpenVial, Product

EMPTIED = "emptied"
TIME_LIMIT = "time_limit"
# Wastage that comes out of punctured vials: a dose drawn and not given, a vial's leftovers.
FROM_OPEN_VIALS = ("drawn_not_administered", "open_vial_time_limit")


def draw(
    session: Session, lot: Row, at: datetime, now: datetime, *, correlation_id: str
) -> OpenVial | None:
    """Account for one dose just taken off `lot` (whose row the caller holds locked), given at
    `at`: from the lot's open vial, else from a vial opened now. None when the dose was given
    so long ago that its vial is past its beyond-use time already: inventory cannot follow that
    vial (a dose recorded late), and must not waste what a vial opened now would hold."""
    vial = session.scalar(
        select(OpenVial)
        .where(
            OpenVial.lot_id == lot.id,
            OpenVial.closed_at.is_(None),
            OpenVial.doses_left > 0,
            OpenVial.beyond_use_at > at,
        )
        .order_by(OpenVial.beyond_use_at, OpenVial.id)
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if vial is not None:
        vial.doses_left -= 1
        if vial.doses_left == 0:
            vial.closed_at, vial.closed_reason = now, EMPTIED
        return vial
    product = session.get(Product, lot.product_id)
    beyond_use_at = at + timedelta(hours=product.beyond_use_hours)
    if beyond_use_at <= now:
        return None
    # The new vial holds at most what the lot holds besides its other open vials (a count or
    # wastage may have left the lot with less than a full vial).
    punctured = session.scalar(
        select(func.coalesce(func.sum(OpenVial.doses_left), 0)).where(
            OpenVial.lot_id == lot.id, OpenVial.closed_at.is_(None)
        )
    )
    # Nor doses held for an offer (they stay in their unopened vials).
    free = lot.doses_on_hand + 1 - punctured - lot.doses_held
    doses_in_vial = max(1, min(product.doses_per_vial, free))
    vial = OpenVial(
        lot_id=lot.id,
        location_id=lot.location_id,
        product_id=lot.product_id,
        doses_in_vial=doses_in_vial,
        doses_left=doses_in_vial - 1,
        opened_at=at,
        beyond_use_at=beyond_use_at,
    )
    if vial.doses_left == 0:
        vial.closed_at, vial.closed_reason = now, EMPTIED
    session.add(vial)
    session.flush()
    record_event(
        session,
        "vial_opened",
        {
            "vial_id": vial.id,
            "lot_id": lot.id,
            "location_id": lot.location_id,
            "product_id": lot.product_id,
            "doses_in_vial": doses_in_vial,
            "opened_at": at,
            "beyond_use_at": beyond_use_at,
        },
        correlation_id=correlation_id,
    )
    return vial


def record_wastage(
    session: Session, location_id: str, lot_id: str, wastage: dict, *, correlation_id: str
) -> LedgerEntry:
    """Wastage recorded by staff. Doses drawn and not given, or an open vial's leftovers, come
    out of the lot's open vials (soonest beyond-use first), so that the vial job later wastes
    only what is really left in them, never doses of unopened vials."""
    entry = ledger.record_wastage(
        session, location_id, lot_id, wastage, correlation_id=correlation_id
    )
    if wastage["reason"] in FROM_OPEN_VIALS:
        left = wastage["doses"]
        now = utcnow()
        for vial in session.scalars(
            select(OpenVial)
            .where(OpenVial.lot_id == lot_id, OpenVial.closed_at.is_(None))
            .order_by(OpenVial.beyond_use_at, OpenVial.id)
            .execution_options(populate_existing=True)
        ):
            taken = min(left, vial.doses_left)
            vial.doses_left -= taken
            left -= taken
            if vial.doses_left == 0:
                vial.closed_at, vial.closed_reason = now, EMPTIED
            if left == 0:
                break
    return entry


def put_back(session: Session, vial_id: str, now: datetime) -> None:
    """A voided dose (never given) is still in its vial, if that vial is still in use."""
    vial = session.get(OpenVial, vial_id)
    if vial is None or vial.beyond_use_at <= now or vial.closed_reason == TIME_LIMIT:
        return
    if vial.doses_left < vial.doses_in_vial:
        vial.doses_left += 1
        vial.closed_at = vial.closed_reason = None


def choose_lot(session: Session, location_id: str, product_id: str, at: datetime) -> dict:
    """First expired, first out: the lot the next dose of `product_id` should come from at
    `at`. A lot with an open vial of the product still within its beyond-use time comes first
    (the soonest to reach it); else the usable lot that expires first. NoUsableLot if none."""
    usable = (
        Lot.location_id == location_id,
        Lot.product_id == product_id,
        Lot.status == USABLE,
        Lot.expiration_date >= at.date(),
        Lot.doses_on_hand > Lot.doses_held,  # held for an offer: not for a dose here
    )
    opened = session.execute(
        select(Lot, OpenVial.id)
        .join(OpenVial, OpenVial.lot_id == Lot.id)
        .where(
            *usable,
            OpenVial.closed_at.is_(None),
            OpenVial.doses_left > 0,
            OpenVial.beyond_use_at > at,
        )
        .order_by(OpenVial.beyond_use_at, Lot.expiration_date, OpenVial.id)
        .limit(1)
    ).first()
    if opened is not None:
        lot, vial_id = opened
        return _choice(lot, vial_id)
    lot = session.scalar(
        select(Lot)
        .where(*usable)
        .order_by(Lot.expiration_date, Lot.received_at, Lot.lot_number, Lot.id)
        .limit(1)
    )
    if lot is None:
        raise NoUsableLot(
            {
                "product_id": [
                    f"No usable lot of {product_id} at {location_id}: none on hand that is "
                    "neither quarantined nor expired."
                ]
            }
        )
    return _choice(lot, None)


def next_lot(session: Session, location_id: str, product_id: str, at: datetime) -> dict | None:
    """choose_lot's answer, or None when no lot of the product is usable."""
    try:
        return choose_lot(session, location_id, product_id, at)
    except NoUsableLot:
        return None


def _choice(lot: Lot, vial_id: str | None) -> dict:
    return {
        "lot_id": lot.id,
        "lot_number": lot.lot_number,
        "product_id": lot.product_id,
        "expiration_date": lot.expiration_date.isoformat(),
        "open_vial_id": vial_id,
    }


def open_vials(session: Session, location_id: str, now: datetime) -> list[dict]:
    """The location's open vials with doses that may still be given (within beyond-use time,
    from lots neither quarantined nor expired), the soonest to be wasted first."""
    rows = session.execute(
        select(OpenVial, Lot.lot_number)
        .join(Lot, Lot.id == OpenVial.lot_id)
        .where(
            OpenVial.location_id == location_id,
            OpenVial.closed_at.is_(None),
            OpenVial.doses_left > 0,
            OpenVial.beyond_use_at > now,
            Lot.status == USABLE,
            Lot.expiration_date >= now.date(),
            Lot.doses_on_hand > 0,
        )
        .order_by(OpenVial.beyond_use_at, OpenVial.id)
    ).all()
    return [
        {
            "vial_id": vial.id,
            "lot_id": vial.lot_id,
            "lot_number": lot_number,
            "product_id": vial.product_id,
            "doses_left": vial.doses_left,
            "opened_at": vial.opened_at.isoformat(),
            "beyond_use_at": vial.beyond_use_at.isoformat(),
            "seconds_left": int((vial.beyond_use_at - now).total_seconds()),
        }
        for vial, lot_number in rows
    ]


def due_vial_ids(session: Session, now: datetime) -> list[str]:
    """Open vials past their beyond-use time at `now`."""
    return list(
        session.scalars(
            select(OpenVial.id)
            .where(OpenVial.closed_at.is_(None), OpenVial.beyond_use_at <= now)
            .order_by(OpenVial.beyond_use_at, OpenVial.id)
        )
    )


def waste_open_vial(
    session: Session, vial_id: str, now: datetime, *, correlation_id: str
) -> LedgerEntry | None:
    """Waste what is left in a vial past its beyond-use time and close it. None (the vial only
    closed) when nothing is left to waste; nothing at all when it is not due, so running it
    again is harmless."""
    lot_id = session.scalar(select(OpenVial.lot_id).where(OpenVial.id == vial_id))
    if lot_id is None:
        return None
    # The lot first, then the vial: the order a dose locks them in, so the two cannot deadlock.
    lot = session.scalar(
        select(Lot)
        .where(Lot.id == lot_id)
        .with_for_update(of=Lot)
        .execution_options(populate_existing=True)
    )
    vial = session.scalar(
        select(OpenVial)
        .where(
            OpenVial.id == vial_id,
            OpenVial.closed_at.is_(None),
            OpenVial.beyond_use_at <= now,
        )
        .with_for_update(of=OpenVial)
        .execution_options(populate_existing=True)
    )
    if vial is None:
        return None
    # Never more than the lot holds (a count, an expiry or other wastage may have taken some),
    # nor any of the doses held for an offer (those are in unopened vials).
    doses = min(vial.doses_left, lot.doses_on_hand - lot.doses_held)
    vial.doses_left = 0
    vial.closed_at, vial.closed_reason = utcnow(), TIME_LIMIT
    if doses == 0:
        return None
    recorded_at = utcnow()
    taken = ledger._take(session, lot.location_id, lot.id, -doses, recorded_at, field="doses")
    entry = ledger._add_entry(
        session,
        taken,
        "wasted",
        -doses,
        recorded_at,
        correlation_id=correlation_id,
        note=(
            f"Open vial {vial.id} reached its beyond-use time "
            f"({vial.beyond_use_at.isoformat()}) with {doses} doses left."
        ),
        wastage_reason="open_vial_time_limit",
        vial_id=vial.id,
    )
    ledger._announce_wastage(session, taken, entry, correlation_id)
    return entry
