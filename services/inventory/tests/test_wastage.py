"""Wastage, stock corrections and the lot ledger: every change an entry, never below zero."""

import uuid

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import InvalidInput, NotFound, Unprocessable
from inventory.models import LedgerEntry

from .conftest import on_hand

LOCATION = "clinic-1"


@pytest.fixture
def stocked(service, make_shipment) -> dict:
    """A lot of ten doses at clinic-1."""
    return service.receive_lot(LOCATION, make_shipment(doses=10))["lot"]


# -- wastage --------------------------------------------------------------------------------------
def test_wastage_takes_the_doses_off_and_records_a_wasted_entry(service, stocked, read):
    entry = service.record_wastage(
        LOCATION, stocked["id"], {"doses": 3, "reason": "broken_vial", "note": "Dropped a vial."}
    )

    assert on_hand(service, stocked) == 7
    assert (entry["reason"], entry["wastage_reason"]) == ("wasted", "broken_vial")
    assert (entry["delta"], entry["balance_after"]) == (-3, 7)
    assert entry["note"] == "Dropped a vial."
    assert (entry["lot_id"], entry["location_id"]) == (stocked["id"], LOCATION)
    [stored] = read.all(select(LedgerEntry).where(LedgerEntry.reason == "wasted"))
    assert stored.id == entry["id"]
    assert stored.wastage_reason == "broken_vial"
    assert stored.correlation_id == "corr-test"


def test_wastage_announces_doses_wasted_and_the_adjustment(service, stocked, read):
    entry = service.record_wastage(
        LOCATION, stocked["id"], {"doses": 2, "reason": "drawn_not_administered"}
    )

    [wasted] = read.events("doses_wasted")
    event = contracts.parse(wasted, source="inventory", event_type="doses_wasted")
    assert event.correlation_id == "corr-test"
    assert str(event.payload["ledger_entry_id"]) == entry["id"]
    assert str(event.payload["lot_id"]) == stocked["id"]
    assert (event.payload["location_id"], event.payload["product_id"]) == (
        LOCATION,
        "pfizer-gray-12plus",
    )
    assert (event.payload["doses"], event.payload["reason"]) == (2, "drawn_not_administered")
    assert event.payload["doses_on_hand"] == 8
    [adjusted] = read.events("inventory_adjusted")
    assert adjusted["payload"]["reason"] == "wasted"
    assert (adjusted["payload"]["delta"], adjusted["payload"]["doses_on_hand"]) == (-2, 8)
    assert adjusted["payload"]["ledger_entry_id"] == entry["id"]


def test_wasting_every_dose_left_is_allowed(service, stocked):
    entry = service.record_wastage(
        LOCATION, stocked["id"], {"doses": 10, "reason": "temperature_excursion"}
    )

    assert entry["balance_after"] == 0
    assert on_hand(service, stocked) == 0


def test_wasting_more_than_on_hand_is_refused_and_changes_nothing(service, stocked, read):
    with pytest.raises(Unprocessable) as raised:
        service.record_wastage(LOCATION, stocked["id"], {"doses": 11, "reason": "broken_vial"})

    assert list(raised.value.errors) == ["doses"]
    assert "Only 10 doses" in raised.value.errors["doses"][0]
    assert on_hand(service, stocked) == 10
    assert read.all(select(LedgerEntry).where(LedgerEntry.reason == "wasted")) == []
    assert read.events("doses_wasted") == []


def test_wastage_after_doses_were_given_counts_what_is_left(service, stocked, make_dose):
    for _ in range(8):
        service.on_dose_administered(make_dose(stocked))

    with pytest.raises(Unprocessable):
        service.record_wastage(LOCATION, stocked["id"], {"doses": 3, "reason": "broken_vial"})
    service.record_wastage(LOCATION, stocked["id"], {"doses": 2, "reason": "broken_vial"})

    assert on_hand(service, stocked) == 0


def test_other_needs_a_note(service, stocked):
    with pytest.raises(InvalidInput) as raised:
        service.record_wastage(LOCATION, stocked["id"], {"doses": 1, "reason": "other"})
    assert list(raised.value.errors) == ["note"]
    with pytest.raises(InvalidInput):
        service.record_wastage(
            LOCATION, stocked["id"], {"doses": 1, "reason": "other", "note": "   "}
        )

    entry = service.record_wastage(
        LOCATION, stocked["id"], {"doses": 1, "reason": "other", "note": "Recalled by maker."}
    )
    assert (entry["wastage_reason"], entry["note"]) == ("other", "Recalled by maker.")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"doses": 0, "reason": "broken_vial"}, "doses"),
        ({"doses": -1, "reason": "broken_vial"}, "doses"),
        ({"doses": "2", "reason": "broken_vial"}, "doses"),
        ({"reason": "broken_vial"}, "doses"),
        ({"doses": 1, "reason": "spilled"}, "reason"),
        ({"doses": 1}, "reason"),
        ({"doses": 1, "reason": "broken_vial", "extra": True}, "extra"),
    ],
)
def test_wastage_input_is_validated(service, stocked, data, field):
    with pytest.raises(InvalidInput) as raised:
        service.record_wastage(LOCATION, stocked["id"], data)

    assert field in raised.value.errors
    assert on_hand(service, stocked) == 10


def test_wastage_of_a_lot_of_another_location_is_not_found(service, stocked, read):
    with pytest.raises(NotFound):
        service.record_wastage("clinic-2", stocked["id"], {"doses": 1, "reason": "broken_vial"})
    with pytest.raises(NotFound):
        service.record_wastage(LOCATION, str(uuid.uuid4()), {"doses": 1, "reason": "expired"})

    assert on_hand(service, stocked) == 10
    assert read.events("doses_wasted") == []


# -- corrections ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("delta", "after"), [(-4, 6), (5, 15), (-10, 0)])
def test_a_correction_changes_stock_with_a_correction_entry(service, stocked, read, delta, after):
    entry = service.correct_stock(
        LOCATION, stocked["id"], {"delta": delta, "note": "  Counted the fridge.  "}
    )

    assert on_hand(service, stocked) == after
    assert (entry["reason"], entry["delta"], entry["balance_after"]) == ("correction", delta, after)
    assert entry["note"] == "Counted the fridge."
    assert entry["wastage_reason"] is None
    [adjusted] = read.events("inventory_adjusted")
    assert adjusted["payload"]["reason"] == "correction"
    assert (adjusted["payload"]["delta"], adjusted["payload"]["doses_on_hand"]) == (delta, after)
    assert read.events("doses_wasted") == []


def test_a_correction_below_zero_is_refused(service, stocked, read):
    with pytest.raises(Unprocessable) as raised:
        service.correct_stock(LOCATION, stocked["id"], {"delta": -11, "note": "Counted."})

    assert list(raised.value.errors) == ["delta"]
    assert on_hand(service, stocked) == 10
    assert read.events("inventory_adjusted") == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"delta": 0, "note": "Nothing."}, "delta"),
        ({"delta": 1.5, "note": "Half."}, "delta"),
        ({"delta": 2}, "note"),
        ({"delta": 2, "note": ""}, "note"),
        ({"delta": 2, "note": "   "}, "note"),
    ],
)
def test_correction_input_is_validated(service, stocked, data, field):
    with pytest.raises(InvalidInput) as raised:
        service.correct_stock(LOCATION, stocked["id"], data)

    assert field in raised.value.errors
    assert on_hand(service, stocked) == 10


def test_a_correction_of_a_lot_of_another_location_is_not_found(service, stocked):
    with pytest.raises(NotFound):
        service.correct_stock("clinic-2", stocked["id"], {"delta": 1, "note": "Counted."})
    assert on_hand(service, stocked) == 10


# -- the lot ledger -------------------------------------------------------------------------------
def test_the_ledger_lists_every_change_newest_first(service, stocked, make_dose):
    service.on_dose_administered(make_dose(stocked))
    service.record_wastage(LOCATION, stocked["id"], {"doses": 2, "reason": "broken_vial"})
    service.correct_stock(LOCATION, stocked["id"], {"delta": 1, "note": "Found a vial."})

    page = service.lot_ledger(LOCATION, stocked["id"])

    assert [(e["reason"], e["delta"], e["balance_after"]) for e in page["entries"]] == [
        ("correction", 1, 8),
        ("wasted", -2, 7),
        ("administered", -1, 9),
        ("received", 10, 10),
    ]
    assert page["next_before"] is None
    assert page["entries"][1]["wastage_reason"] == "broken_vial"


def test_the_ledger_pages_without_gaps_or_repeats(service, stocked):
    for _ in range(4):
        service.correct_stock(LOCATION, stocked["id"], {"delta": 1, "note": "Found one."})
    seen, before = [], None
    pages = 0
    while True:
        page = service.lot_ledger(LOCATION, stocked["id"], 2, before)
        pages += 1
        assert len(page["entries"]) <= 2
        seen += page["entries"]
        before = page["next_before"]
        if before is None:
            break
        assert before == page["entries"][-1]["id"]

    assert pages == 3
    assert [e["balance_after"] for e in seen] == [14, 13, 12, 11, 10]
    assert len({e["id"] for e in seen}) == 5


def test_the_ledger_shows_only_that_lots_entries(service, stocked, make_shipment):
    other = service.receive_lot(LOCATION, make_shipment(doses=3))["lot"]
    service.correct_stock(LOCATION, other["id"], {"delta": 1, "note": "Counted."})

    page = service.lot_ledger(LOCATION, stocked["id"])

    assert [e["lot_id"] for e in page["entries"]] == [stocked["id"]]


def test_the_ledger_of_a_lot_of_another_location_is_not_found(service, stocked):
    with pytest.raises(NotFound):
        service.lot_ledger("clinic-2", stocked["id"])
    with pytest.raises(NotFound):
        service.lot_ledger(LOCATION, str(uuid.uuid4()))


@pytest.mark.parametrize("limit", [0, 201, -1, "10", True, None])
def test_the_ledger_page_size_is_bounded(service, stocked, limit):
    with pytest.raises(InvalidInput) as raised:
        service.lot_ledger(LOCATION, stocked["id"], limit)
    assert list(raised.value.errors) == ["limit"]


def test_a_ledger_cursor_of_another_lot_is_invalid(service, stocked, make_shipment):
    other = service.receive_lot(LOCATION, make_shipment(doses=3))["lot"]
    [entry] = service.lot_ledger(LOCATION, other["id"])["entries"]

    for before in (entry["id"], str(uuid.uuid4()), 42):
        with pytest.raises(InvalidInput) as raised:
            service.lot_ledger(LOCATION, stocked["id"], 10, before)
        assert list(raised.value.errors) == ["before"]


def test_the_largest_page_is_200(service, stocked):
    page = service.lot_ledger(LOCATION, stocked["id"], 200)
    assert len(page["entries"]) == 1
