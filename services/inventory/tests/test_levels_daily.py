"""Stock over time: the daily on-hand series of the inventory levels report agrees with the
ledger, day by day, at one location and summed over every location."""

from datetime import UTC, datetime

import pytest

from cvms_platform.errors import InvalidInput
from inventory import doses, ledger

CLINIC_1, CLINIC_2 = "clinic-1", "clinic-2"
GRAY, MODERNA = "pfizer-gray-12plus", "moderna-red-18plus"


@pytest.fixture
def clock(monkeypatch):
    now = {"at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC)}
    for module in (ledger, doses):
        monkeypatch.setattr(module, "utcnow", lambda: now["at"])
    return now


@pytest.fixture
def history(service, clock, make_shipment, make_dose):
    receive = lambda location, **kw: service.receive_lot(location, make_shipment(**kw))["lot"]  # noqa: E731
    clock["at"] = datetime(2026, 2, 27, 12, 0, tzinfo=UTC)  # before the range: the opening
    a = receive(CLINIC_1, product_id=GRAY, doses=20, expiration_date="2026-06-30")
    clock["at"] = datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)  # last instant of 2 March
    for _ in range(3):
        service.on_dose_administered(make_dose(a))
    clock["at"] = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # first instant of 3 March
    service.record_wastage(CLINIC_1, a["id"], {"doses": 2, "reason": "broken_vial"})
    b = receive(CLINIC_1, product_id=MODERNA, doses=10, expiration_date="2026-04-04")
    c = receive(CLINIC_2, product_id=GRAY, doses=15, expiration_date="2026-04-05")
    clock["at"] = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # after the range: not counted
    service.record_wastage(CLINIC_1, b["id"], {"doses": 1, "reason": "expired"})
    return {"a": a, "b": b, "c": c}


def series(answer: dict) -> dict:
    return {s["product_id"]: [p["on_hand"] for p in s["points"]] for s in answer["products"]}


def test_one_location_day_by_day(service, history):
    answer = service.inventory_levels_daily(CLINIC_1, "2026-03-01", "2026-03-04")

    assert answer["date_from"] == "2026-03-01" and answer["date_to"] == "2026-03-04"
    assert [p["date"] for p in answer["products"][0]["points"]] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    assert series(answer) == {GRAY: [20, 17, 15, 15], MODERNA: [0, 0, 10, 10]}
    gray = next(s for s in answer["products"] if s["product_id"] == GRAY)
    assert gray["on_hand_start"] == 20


def test_every_location_summed_and_a_product_filter(service, history):
    everywhere = service.inventory_levels_daily(None, "2026-03-02", "2026-03-03")
    assert everywhere["location_id"] is None
    assert series(everywhere) == {GRAY: [17, 30], MODERNA: [0, 10]}

    only_gray = service.inventory_levels_daily(None, "2026-03-02", "2026-03-03", GRAY)
    assert series(only_gray) == {GRAY: [17, 30]}


def test_a_product_that_never_held_stock_has_no_series(service, history):
    assert service.inventory_levels_daily(CLINIC_2, "2026-03-01", "2026-03-02")["products"] == []


def test_the_range_is_checked(service):
    with pytest.raises(InvalidInput):
        service.inventory_levels_daily(CLINIC_1, "2026-03-04", "2026-03-01")
    with pytest.raises(InvalidInput):
        service.inventory_levels_daily(CLINIC_1, "2025-01-01", "2026-03-01")
