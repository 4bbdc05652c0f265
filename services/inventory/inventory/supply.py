"""Days of supply and `stock_low`: how long a location's usable stock of a product lasts at the
pace of the last 7 days, announced when that is shorter than the location's threshold."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory.models import USABLE, LedgerEntry, Lot, StockLowNotice, StockThreshold

DEFAULT_THRESHOLD_DAYS = 7
USE_WINDOW_DAYS = 7


def threshold(session: Session, location_id: str) -> int:
    row = session.get(StockThreshold, location_id)
    return row.threshold_days if row is not None else DEFAULT_THRESHOLD_DAYS


def set_threshold(session: Session, location_id: str, days: int, set_by: str | None) -> dict:
    row = session.get(StockThreshold, location_id)
    if row is None:
        row = StockThreshold(location_id=location_id)
        session.add(row)
    row.threshold_days, row.updated_at, row.updated_by = days, utcnow(), set_by
    session.flush()
    return {"location_id": location_id, "threshold_days": days}


def days_of_supply(session: Session, today: date, location_id: str | None = None) -> list[dict]:
    """Per location and product: usable doses on hand (neither quarantined nor expired), the
    average administered a day over the 7 days before `today` (net of voids), and the days of
    supply that makes (None when nothing was used: the stock is not running down)."""
    start = datetime.combine(today - timedelta(days=USE_WINDOW_DAYS), time.min, tzinfo=UTC)
    end = datetime.combine(today, time.min, tzinfo=UTC)
    on_hand_query = (
        # Doses held for an offer are leaving: they supply nobody here.
        select(Lot.location_id, Lot.product_id, func.sum(Lot.doses_on_hand - Lot.doses_held))
        .where(Lot.status == USABLE, Lot.expiration_date >= today)
        .group_by(Lot.location_id, Lot.product_id)
    )
    e = LedgerEntry
    used = func.sum(
        case((e.reason == "administered", -e.delta), else_=0)
        - case((e.reason == "administration_voided", e.delta), else_=0)
    )
    use_query = (
        select(e.location_id, e.product_id, used)
        .where(
            e.recorded_at >= start,
            e.recorded_at < end,
            e.reason.in_(("administered", "administration_voided")),
        )
        .group_by(e.location_id, e.product_id)
    )
    if location_id is not None:
        on_hand_query = on_hand_query.where(Lot.location_id == location_id)
        use_query = use_query.where(e.location_id == location_id)
    on_hand = {(loc, product): int(n) for loc, product, n in session.execute(on_hand_query)}
    use = {(loc, product): max(int(n), 0) for loc, product, n in session.execute(use_query)}
    rows = []
    for key in sorted(on_hand.keys() | use.keys()):
        doses, average = on_hand.get(key, 0), use.get(key, 0) / USE_WINDOW_DAYS
        rows.append(
            {
                "location_id": key[0],
                "product_id": key[1],
                "doses_on_hand": doses,
                "average_daily_use": round(average, 2),
                "days_of_supply": round(doses / average, 2) if average else None,
            }
        )
    return rows


def announce_stock_low(session: Session, today: date, *, correlation_id: str) -> list[dict]:
    """Announce `stock_low` for each location and product under its threshold today, once a
    day (a notice row per location, product and day; a concurrent run loses on its key).
    Returns what was announced now."""
    thresholds = {
        row.location_id: row.threshold_days for row in session.scalars(select(StockThreshold))
    }
    announced = []
    for row in days_of_supply(session, today):
        limit = thresholds.get(row["location_id"], DEFAULT_THRESHOLD_DAYS)
        if row["days_of_supply"] is None or row["days_of_supply"] >= limit:
            continue
        key = (row["location_id"], row["product_id"], today)
        if session.get(StockLowNotice, key) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    StockLowNotice(
                        location_id=row["location_id"],
                        product_id=row["product_id"],
                        day=today,
                        days_of_supply=row["days_of_supply"],
                        announced_at=utcnow(),
                    )
                )
        except IntegrityError:  # another run announced it first
            continue
        notice = {**row, "threshold_days": limit}
        record_event(session, "stock_low", notice, correlation_id=correlation_id)
        announced.append(notice)
    return announced
