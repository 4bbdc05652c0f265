"""The inventory levels report: its numbers are the sums of the ledger, for any date range."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select

from cvms_platform.codes import WASTAGE_REASONS
from cvms_platform.errors import InvalidInput
from cvms_platform.migrate import alembic_config
from inventory import doses, ledger, levels
from inventory.models import LedgerEntry, Lot

CLINIC_1, CLINIC_2 = "clinic-1", "clinic-2"
GRAY, MODERNA = "pfizer-gray-12plus", "moderna-red-18plus"


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def at(self, *args) -> None:
        self.now = datetime(*args, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The time the ledger records entries at."""
    clock = Clock()
    for module in (ledger, doses):
        monkeypatch.setattr(module, "utcnow", lambda: clock.now)
    return clock


@pytest.fixture
def history(service, clock, make_shipment, make_dose) -> dict:
    """A ledger over a week of March 2026 at two clinics, two products, with entries on the
    edges of days."""
    receive = lambda location, **kw: service.receive_lot(location, make_shipment(**kw))["lot"]  # noqa: E731
    clock.at(2026, 3, 1, 9, 0)
    a = receive(CLINIC_1, product_id=GRAY, doses=20, expiration_date="2026-06-30")
    b = receive(CLINIC_1, product_id=MODERNA, doses=10, expiration_date="2026-04-04")
    c = receive(CLINIC_2, product_id=GRAY, doses=15, expiration_date="2026-04-05")
    clock.at(2026, 3, 2, 23, 59, 59, 999999)  # the last instant of 2 March
    for _ in range(3):
        service.on_dose_administered(make_dose(a))
    service.on_dose_administered(make_dose(c))
    clock.at(2026, 3, 3, 0, 0)  # the first instant of 3 March
    service.record_wastage(CLINIC_1, a["id"], {"doses": 2, "reason": "broken_vial"})
    service.record_wastage(CLINIC_1, b["id"], {"doses": 1, "reason": "expired"})
    service.record_wastage(CLINIC_2, c["id"], {"doses": 4, "reason": "temperature_excursion"})
    clock.at(2026, 3, 5, 12, 0)
    service.correct_stock(CLINIC_1, a["id"], {"delta": 1, "note": "Found a vial."})
    service.correct_stock(CLINIC_2, c["id"], {"delta": -2, "note": "Counted."})
    clock.at(2026, 3, 8, 8, 0)
    d = receive(CLINIC_1, product_id=GRAY, doses=6, expiration_date="2026-04-07")
    service.on_dose_administered(make_dose(d))
    return {"a": a, "b": b, "c": c, "d": d}


def report(service, location_id, date_from, date_to, **kwargs) -> dict:
    return service.inventory_levels(
        location_id, date_from.isoformat(), date_to.isoformat(), **kwargs
    )


def from_the_ledger(read, location_id, date_from: date, date_to: date, product_id=None) -> dict:
    """The report's rows summed in Python from every ledger entry: what the report must say."""
    start, end = levels.day_bounds(date_from, date_to)
    expiring_by = date_to + timedelta(days=30)
    expiry = {lot.id: lot.expiration_date for lot in read.all(select(Lot))}
    rows = defaultdict(lambda: dict.fromkeys(levels.COUNT_COLUMNS, 0))
    moved = set()
    for entry in read.all(select(LedgerEntry)):
        key = (entry.location_id, entry.product_id)
        if location_id not in (None, entry.location_id) or product_id not in (None, key[1]):
            continue
        if entry.recorded_at >= end:
            continue
        row = rows[key]
        row["on_hand_end"] += entry.delta
        if date_to <= expiry[entry.lot_id] <= expiring_by:
            row["expiring_within_30_days"] += entry.delta
        if entry.recorded_at < start:
            row["on_hand_start"] += entry.delta
            continue
        moved.add(key)
        column = {
            "received": "received",
            "administered": "administered",
            "wasted": "wasted",
            "correction": "corrections",
        }[entry.reason]
        row[column] += abs(entry.delta) if column != "corrections" else entry.delta
        if entry.reason == "wasted":
            row[f"wasted_{entry.wastage_reason}"] -= entry.delta
    return {
        key: {"location_id": key[0], "product_id": key[1], **row}
        for key, row in sorted(rows.items())
        if key in moved or row["on_hand_end"]
    }


def by_key(rows) -> dict:
    return {(row["location_id"], row["product_id"]): row for row in rows}


RANGES = [
    (date(2026, 3, 1), date(2026, 3, 1)),
    (date(2026, 3, 2), date(2026, 3, 2)),  # doses at 23:59:59.999999 are in
    (date(2026, 3, 3), date(2026, 3, 3)),  # wastage at 00:00 is in; the doses before it not
    (date(2026, 3, 1), date(2026, 3, 8)),
    (date(2026, 3, 3), date(2026, 3, 5)),
    (date(2026, 3, 6), date(2026, 3, 7)),  # nothing moved: stock on hand only
    (date(2026, 2, 1), date(2026, 2, 28)),  # before anything: no rows
    (date(2025, 3, 9), date(2026, 3, 9)),
]


@pytest.mark.parametrize(("date_from", "date_to"), RANGES)
@pytest.mark.parametrize("location_id", [CLINIC_1, CLINIC_2])
def test_a_locations_report_is_the_sum_of_its_ledger(
    service, history, read, location_id, date_from, date_to
):
    answer = report(service, location_id, date_from, date_to)

    expected = from_the_ledger(read, location_id, date_from, date_to)
    assert by_key(answer["rows"]) == expected
    assert answer["total_rows"] == len(expected)
    assert answer["totals"] is None


def test_the_numbers_of_one_range_by_hand(service, history):
    answer = report(service, CLINIC_1, date(2026, 3, 2), date(2026, 3, 5))

    moderna, gray = answer["rows"]  # ordered by product id
    assert (gray["product_id"], moderna["product_id"]) == (GRAY, MODERNA)
    assert gray["on_hand_start"] == 20
    assert (gray["received"], gray["administered"], gray["wasted"]) == (0, 3, 2)
    assert gray["wasted_broken_vial"] == 2
    assert (gray["corrections"], gray["on_hand_end"]) == (1, 16)
    assert (gray["transferred_in"], gray["transferred_out"]) == (0, 0)
    assert gray["expiring_within_30_days"] == 0  # lot a expires in June
    assert (moderna["wasted"], moderna["wasted_expired"], moderna["on_hand_end"]) == (1, 1, 9)
    assert moderna["expiring_within_30_days"] == 9  # lot b expires 4 April, 30 days after 5 March
    for row in answer["rows"]:
        changes = (
            row["received"]
            - row["administered"]
            + row["administrations_voided"]
            - row["wasted"]
            + row["transferred_in"]
            - row["transferred_out"]
            + row["corrections"]
        )
        assert row["on_hand_start"] + changes == row["on_hand_end"]
        assert row["wasted"] == sum(row[f"wasted_{reason}"] for reason in WASTAGE_REASONS)
    assert tuple(gray) == levels.COLUMNS


def test_expiring_within_30_days_of_the_end_counts_lots_from_that_day_to_30_days_on(
    service, history
):
    def expiring(date_to):
        rows = report(service, CLINIC_1, date_to, date_to)["rows"]
        return {row["product_id"]: row["expiring_within_30_days"] for row in rows}

    # Lot b (moderna, 9 left) expires 4 April; lot d (gray, 5 left) 7 April.
    assert expiring(date(2026, 3, 4)) == {GRAY: 0, MODERNA: 0}  # 4 April is 31 days on
    assert expiring(date(2026, 3, 5)) == {GRAY: 0, MODERNA: 9}  # exactly 30 days on
    assert expiring(date(2026, 3, 8)) == {GRAY: 5, MODERNA: 9}
    assert expiring(date(2026, 4, 4)) == {GRAY: 5, MODERNA: 9}  # expires that day: still in
    assert expiring(date(2026, 4, 5)) == {GRAY: 5, MODERNA: 0}  # already expired: not expiring


def test_the_product_filter_keeps_that_products_rows(service, history, read):
    first, last = date(2026, 3, 1), date(2026, 3, 8)

    answer = report(service, CLINIC_1, first, last, product_id=MODERNA)

    assert [row["product_id"] for row in answer["rows"]] == [MODERNA]
    assert by_key(answer["rows"]) == from_the_ledger(read, CLINIC_1, first, last, MODERNA)
    assert report(service, CLINIC_1, first, last, product_id="janssen-18plus")["rows"] == []


@pytest.mark.parametrize(("date_from", "date_to"), RANGES)
def test_every_locations_totals_are_the_sums_of_its_rows(
    service, history, read, date_from, date_to
):
    answer = report(service, None, date_from, date_to)

    expected = from_the_ledger(read, None, date_from, date_to)
    assert by_key(answer["rows"]) == expected
    per_product = defaultdict(lambda: dict.fromkeys(levels.COUNT_COLUMNS, 0))
    for row in answer["rows"]:
        for column in levels.COUNT_COLUMNS:
            per_product[row["product_id"]][column] += row[column]
    assert {t["product_id"]: {c: t[c] for c in levels.COUNT_COLUMNS} for t in answer["totals"]} == {
        product: dict(sums) for product, sums in per_product.items()
    }
    assert all(t["location_id"] is None for t in answer["totals"])
    for column in levels.COUNT_COLUMNS:
        assert answer["grand_total"][column] == sum(row[column] for row in answer["rows"])


def test_every_locations_report_is_paged_in_location_then_product_order(service, history):
    whole = report(service, None, date(2026, 3, 1), date(2026, 3, 8))
    assert [(r["location_id"], r["product_id"]) for r in whole["rows"]] == [
        (CLINIC_1, MODERNA),
        (CLINIC_1, GRAY),
        (CLINIC_2, GRAY),
    ]

    pages = [
        report(service, None, date(2026, 3, 1), date(2026, 3, 8), page=n, page_size=2)
        for n in (1, 2, 3)
    ]

    assert [len(p["rows"]) for p in pages] == [2, 1, 0]
    assert {p["total_rows"] for p in pages} == {3}
    assert pages[0]["rows"] + pages[1]["rows"] == whole["rows"]
    assert pages[2]["totals"] == whole["totals"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("2026-03-05", "2026-03-04"), "date_to"),
        (("2025-01-01", "2026-01-02"), "date_to"),  # 367 days
        (("yesterday", "2026-03-04"), "date_from"),
        (("2026-03-01", "2026-03-04", None, 1, 201), "page_size"),
        (("2026-03-01", "2026-03-04", None, 0), "page"),
    ],
)
def test_a_bad_query_is_invalid_input(service, arguments, field):
    with pytest.raises(InvalidInput) as raised:
        service.inventory_levels(CLINIC_1, *arguments)

    assert field in raised.value.errors


def test_a_full_year_of_366_days_is_allowed(service, history):
    answer = report(service, CLINIC_1, date(2025, 3, 9), date(2026, 3, 9))
    assert answer["total_rows"] == 2


def test_a_bad_location_id_is_invalid_input(service):
    with pytest.raises(InvalidInput):
        service.inventory_levels("no such/location", "2026-03-01", "2026-03-02")


def test_0003_adds_the_report_index_and_takes_it_away_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'levels.db'}"
    config = alembic_config("inventory", url)
    engine = create_engine(url)

    def indexes() -> set[str]:
        return {index["name"] for index in inspect(engine).get_indexes("ledger_entries")}

    command.upgrade(config, "head")
    assert "ix_ledger_report" in indexes()

    command.downgrade(config, "0002")
    assert "ix_ledger_report" not in indexes()
    assert "ix_ledger_location_recorded" in indexes()
    engine.dispose()
