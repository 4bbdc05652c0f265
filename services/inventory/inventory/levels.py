"""The inventory levels report: per location and product, what the ledger says about a date
range. Computed by the database in one GROUP BY over `ledger_entries` (joined to each entry's
lot for its expiration date); no ledger row is ever loaded into Python.

One location's report reads that location's entries through the covering index
`ix_ledger_report` (migration 0003): an index-only scan, not a scan of the table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from cvms_platform.codes import WASTAGE_REASONS
from inventory.ledger import EXPIRING_WITHIN_DAYS
from inventory.models import LedgerEntry, Lot

# The columns of a report row, in order (the CSV download has the same ones).
WASTED_COLUMNS = tuple(f"wasted_{reason}" for reason in WASTAGE_REASONS)
COUNT_COLUMNS = (
    "on_hand_start",
    "received",
    "administered",
    "administrations_voided",
    "wasted",
    *WASTED_COLUMNS,
    "transferred_in",
    "transferred_out",
    "corrections",
    "on_hand_end",
    "expiring_within_30_days",
)
COLUMNS = ("location_id", "product_id", *COUNT_COLUMNS)


def day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC: from the start of `date_from` to the end of `date_to` (inclusive)."""
    start = datetime.combine(date_from, time.min, tzinfo=UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end


def _counts(start: datetime, date_to: date) -> list:
    """The aggregate columns (labelled as COUNT_COLUMNS) of the entries a query selects (those
    recorded before the end of the range)."""
    e = LedgerEntry
    in_range = e.recorded_at >= start

    def total(*conditions, sign: int = 1):
        summed = func.sum(case((in_range & _all(*conditions), e.delta), else_=0))
        return func.coalesce(-summed if sign < 0 else summed, 0)

    wastage_reason = func.coalesce(e.wastage_reason, literal("other"))
    expiring = Lot.expiration_date.between(date_to, date_to + timedelta(days=EXPIRING_WITHIN_DAYS))
    return [
        func.coalesce(func.sum(case((e.recorded_at < start, e.delta), else_=0)), 0).label(
            "on_hand_start"
        ),
        total(e.reason == "received").label("received"),
        total(e.reason == "administered", sign=-1).label("administered"),
        total(e.reason == "administration_voided").label("administrations_voided"),
        total(e.reason == "wasted", sign=-1).label("wasted"),
        *(
            total(e.reason == "wasted", wastage_reason == reason, sign=-1).label(f"wasted_{reason}")
            for reason in WASTAGE_REASONS
        ),
        total(e.reason == "transferred_in").label("transferred_in"),
        total(e.reason == "transferred_out", sign=-1).label("transferred_out"),
        total(e.reason == "correction").label("corrections"),
        func.coalesce(func.sum(e.delta), 0).label("on_hand_end"),
        func.coalesce(func.sum(case((expiring, e.delta), else_=0)), 0).label(
            "expiring_within_30_days"
        ),
    ]


def _all(*conditions):
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _grouped(
    keys: list,
    start: datetime,
    end: datetime,
    date_to: date,
    location_id: str | None,
    product_id: str | None,
):
    e = LedgerEntry
    query = (
        select(*keys, *_counts(start, date_to))
        .select_from(e)
        .join(Lot, Lot.id == e.lot_id)
        .where(e.recorded_at < end)
        .group_by(*keys)
        # A product that held nothing and did not move in the range is not a row.
        .having(
            (func.sum(e.delta) != 0) | (func.sum(case((e.recorded_at >= start, 1), else_=0)) > 0)
        )
    )
    if location_id is not None:
        query = query.where(e.location_id == location_id)
    if product_id is not None:
        query = query.where(e.product_id == product_id)
    return query


def _row(row) -> dict:
    mapping = row._mapping
    return {
        **{key: mapping[key] for key in ("location_id", "product_id") if key in mapping},
        **{column: int(mapping[column]) for column in COUNT_COLUMNS},
    }


def page_query(
    location_id: str | None,
    date_from: date,
    date_to: date,
    product_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
):
    """The SELECT of a page of report rows (the benchmark EXPLAINs it)."""
    start, end = day_bounds(date_from, date_to)
    e = LedgerEntry
    keys = [e.location_id, e.product_id]
    return (
        _grouped(keys, start, end, date_to, location_id, product_id)
        .order_by(*keys)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )


def inventory_levels(
    session: Session,
    location_id: str | None,
    date_from: date,
    date_to: date,
    *,
    product_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> dict:
    """The report for one location (or every location when `location_id` is None, with
    state-wide `totals` per product and a `grand_total`), a page of rows ordered by location
    then product."""
    start, end = day_bounds(date_from, date_to)
    e = LedgerEntry
    grouped = _grouped([e.location_id, e.product_id], start, end, date_to, location_id, product_id)
    rows = [
        _row(row)
        for row in session.execute(
            page_query(location_id, date_from, date_to, product_id, page, page_size)
        )
    ]
    if page == 1 and len(rows) < page_size:
        total_rows = len(rows)
    else:
        total_rows = session.scalar(select(func.count()).select_from(grouped.subquery()))
    report = {
        "location_id": location_id,
        "product_id": product_id,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "columns": list(COLUMNS),
        "rows": rows,
        "page": page,
        "page_size": page_size,
        "total_rows": total_rows,
        "totals": None,
        "grand_total": None,
    }
    if location_id is None:
        by_product = _grouped([e.product_id], start, end, date_to, None, product_id)
        totals = [
            {"location_id": None, **_row(row)}
            for row in session.execute(by_product.order_by(e.product_id))
        ]
        report["totals"] = totals
        report["grand_total"] = {
            "location_id": None,
            "product_id": None,
            **{column: sum(t[column] for t in totals) for column in COUNT_COLUMNS},
        }
    return report


# -- stock over time ------------------------------------------------------------------------------
def _day_of(session: Session, column):
    """The UTC calendar day of a timestamp column, as the database groups it."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS...' text.
    return func.substr(column, 1, 10)


def daily_on_hand(
    session: Session,
    location_id: str | None,
    date_from: date,
    date_to: date,
    *,
    product_id: str | None = None,
) -> dict:
    """Doses on hand per product at the end of each day of [date_from, date_to] (UTC), at one
    location or (location_id None) summed over every location: the opening balance and each
    day's net change are summed by the database (one GROUP BY each), the running total here.
    A product that held nothing and did not move in the range has no series."""
    start, end = day_bounds(date_from, date_to)
    e = LedgerEntry
    scope = []
    if location_id is not None:
        scope.append(e.location_id == location_id)
    if product_id is not None:
        scope.append(e.product_id == product_id)
    opening = dict(
        session.execute(
            select(e.product_id, func.coalesce(func.sum(e.delta), 0))
            .where(e.recorded_at < start, *scope)
            .group_by(e.product_id)
        ).all()
    )
    day = _day_of(session, e.recorded_at)
    changes: dict[str, dict[str, int]] = {}
    for product, on_day, delta in session.execute(
        select(e.product_id, day, func.sum(e.delta))
        .where(e.recorded_at >= start, e.recorded_at < end, *scope)
        .group_by(e.product_id, day)
    ):
        changes.setdefault(product, {})[str(on_day)[:10]] = int(delta or 0)
    days = [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]
    series = []
    for product in sorted(set(opening) | set(changes)):
        balance = int(opening.get(product) or 0)
        moved = changes.get(product, {})
        if not balance and not moved:
            continue
        points = []
        for each in days:
            balance += moved.get(each.isoformat(), 0)
            points.append({"date": each.isoformat(), "on_hand": balance})
        series.append(
            {
                "product_id": product,
                "on_hand_start": int(opening.get(product) or 0),
                "points": points,
            }
        )
    return {
        "location_id": location_id,
        "product_id": product_id,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "products": series,
    }
