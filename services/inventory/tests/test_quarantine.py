"""Temperature excursions quarantine a storage unit's lots until they are released."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound
from inventory.models import Discrepancy, Excursion, LedgerEntry

LOCATION = "clinic-1"
READING = {"observed_at": "2026-01-10T03:15:00+00:00", "max_c": 14.5, "note": "Door left open."}


@pytest.fixture
def freezer_a(service, make_shipment) -> list[dict]:
    """Two lots in freezer-A at clinic-1 (5 and 3 doses)."""
    return [
        service.receive_lot(LOCATION, make_shipment(doses=5, storage_unit="freezer-A"))["lot"],
        service.receive_lot(LOCATION, make_shipment(doses=3, storage_unit="freezer-A"))["lot"],
    ]


def statuses(service) -> dict[str, str]:
    return {lot["id"]: lot["status"] for lot in service.location_inventory(LOCATION)}


def test_a_received_lot_is_usable(service, freezer_a):
    assert set(statuses(service).values()) == {"usable"}
    assert freezer_a[0]["status"] == "usable"
    assert freezer_a[0]["excursion_id"] is None


def test_an_excursion_quarantines_every_usable_lot_in_that_unit_only(
    service, freezer_a, make_shipment
):
    fridge = service.receive_lot(LOCATION, make_shipment(storage_unit="fridge-1"))["lot"]
    elsewhere = service.receive_lot("clinic-2", make_shipment(storage_unit="freezer-A"))["lot"]

    answer = service.report_excursion(LOCATION, "freezer-A", READING)

    assert answer["storage_unit"] == "freezer-A"
    assert answer["location_id"] == LOCATION
    assert answer["max_c"] == 14.5
    assert answer["min_c"] is None
    assert answer["note"] == "Door left open."
    assert {lot["id"] for lot in answer["quarantined_lots"]} == {lot["id"] for lot in freezer_a}
    assert all(lot["status"] == "quarantined" for lot in answer["quarantined_lots"])
    assert all(lot["excursion_id"] == answer["id"] for lot in answer["quarantined_lots"])
    assert statuses(service) == {
        freezer_a[0]["id"]: "quarantined",
        freezer_a[1]["id"]: "quarantined",
        fridge["id"]: "usable",
    }
    assert service.get_lot(elsewhere["id"])["status"] == "usable"


def test_quarantine_keeps_the_doses_on_hand_and_writes_no_ledger_entry(service, freezer_a, read):
    service.report_excursion(LOCATION, "freezer-A", READING)

    assert [service.get_lot(lot["id"])["doses_on_hand"] for lot in freezer_a] == [5, 3]
    assert {e.reason for e in read.all(select(LedgerEntry))} == {"received"}


def test_an_excursion_announces_each_quarantined_lot(service, freezer_a, read):
    answer = service.report_excursion(LOCATION, "freezer-A", READING)

    bodies = read.events("lot_quarantined")
    events = [contracts.parse(b, source="inventory", event_type="lot_quarantined") for b in bodies]
    assert {str(e.payload["lot_id"]) for e in events} == {lot["id"] for lot in freezer_a}
    for event in events:
        assert str(event.payload["excursion_id"]) == answer["id"]
        assert event.payload["storage_unit"] == "freezer-A"
        assert event.payload["observed_at"] == datetime(2026, 1, 10, 3, 15, tzinfo=UTC)
        assert event.correlation_id == "corr-test"
    assert sorted(e.payload["doses_on_hand"] for e in events) == [3, 5]


def test_the_excursion_is_recorded(service, freezer_a, read):
    answer = service.report_excursion(
        LOCATION, "freezer-A", {"observed_at": "2026-01-10T03:15:00Z", "temperature_c": -12}
    )

    [stored] = read.all(select(Excursion))
    assert stored.id == answer["id"]
    assert (stored.location_id, stored.storage_unit) == (LOCATION, "freezer-A")
    assert float(stored.temperature_c) == -12.0
    assert stored.reported_at is not None


def test_a_second_excursion_does_not_announce_lots_already_quarantined(service, freezer_a, read):
    service.report_excursion(LOCATION, "freezer-A", READING)

    second = service.report_excursion(LOCATION, "freezer-A", READING)

    assert second["quarantined_lots"] == []
    assert len(read.events("lot_quarantined")) == 2


def test_an_excursion_in_an_empty_unit_is_recorded_and_quarantines_nothing(service, read):
    answer = service.report_excursion(LOCATION, "freezer-Z", READING)

    assert answer["quarantined_lots"] == []
    assert read.count(Excursion) == 1
    assert read.events("lot_quarantined") == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_c": 12}, "observed_at"),
        ({"observed_at": "2026-01-10T03:15:00", "max_c": 12}, "observed_at"),  # naive
        ({"observed_at": "2026-01-10T03:15:00Z"}, "temperature_c"),
        ({"observed_at": "2026-01-10T03:15:00Z", "min_c": 9, "max_c": 2}, "min_c"),
        ({"observed_at": "2026-01-10T03:15:00Z", "temperature_c": "warm"}, "temperature_c"),
        ({"observed_at": "2026-01-10T03:15:00Z", "temperature_c": 500}, "temperature_c"),
    ],
)
def test_excursion_input_is_validated(service, freezer_a, read, data, field):
    with pytest.raises(InvalidInput) as raised:
        service.report_excursion(LOCATION, "freezer-A", data)

    assert field in raised.value.errors
    assert set(statuses(service).values()) == {"usable"}
    assert read.count(Excursion) == 0


@pytest.mark.parametrize("unit", ["", None, "x" * 101])
def test_an_excursion_needs_a_storage_unit(service, unit):
    with pytest.raises(InvalidInput) as raised:
        service.report_excursion(LOCATION, unit, READING)
    assert list(raised.value.errors) == ["storage_unit"]


# -- doses from a quarantined lot -----------------------------------------------------------------
def test_a_dose_from_a_quarantined_lot_is_taken_and_kept_for_review(
    service, freezer_a, make_dose, read
):
    service.report_excursion(LOCATION, "freezer-A", READING)
    dose = make_dose(freezer_a[0], correlation_id="req-q")

    service.on_dose_administered(dose)

    assert service.get_lot(freezer_a[0]["id"])["doses_on_hand"] == 4
    [discrepancy] = read.all(select(Discrepancy))
    assert discrepancy.reason == "quarantined_lot"
    assert (discrepancy.lot_id, discrepancy.location_id) == (freezer_a[0]["id"], LOCATION)
    assert discrepancy.administration_id == dose["payload"]["administration_id"]
    assert discrepancy.source_event_id == dose["id"]
    [recorded] = read.events("inventory_discrepancy_recorded")
    assert recorded["payload"]["reason"] == "quarantined_lot"
    assert recorded["correlation_id"] == "req-q"
    [adjusted] = read.events("inventory_adjusted")
    assert adjusted["payload"]["reason"] == "administered"
    assert [d["reason"] for d in service.list_discrepancies(LOCATION)] == ["quarantined_lot"]


def test_a_redelivered_dose_from_a_quarantined_lot_is_kept_once(
    service, freezer_a, make_dose, read
):
    service.report_excursion(LOCATION, "freezer-A", READING)
    dose = make_dose(freezer_a[0])

    service.on_dose_administered(dose)
    service.on_dose_administered(dose)

    assert service.get_lot(freezer_a[0]["id"])["doses_on_hand"] == 4
    assert read.count(Discrepancy) == 1


def test_a_dose_from_an_empty_quarantined_lot_is_a_no_stock_discrepancy(
    service, freezer_a, make_dose, read
):
    service.record_wastage(LOCATION, freezer_a[1]["id"], {"doses": 3, "reason": "expired"})
    service.report_excursion(LOCATION, "freezer-A", READING)

    service.on_dose_administered(make_dose(freezer_a[1]))

    assert [d.reason for d in read.all(select(Discrepancy))] == ["no_stock"]


def test_a_quarantined_lots_doses_may_be_wasted(service, freezer_a):
    service.report_excursion(LOCATION, "freezer-A", READING)

    entry = service.record_wastage(
        LOCATION, freezer_a[0]["id"], {"doses": 5, "reason": "temperature_excursion"}
    )

    assert entry["balance_after"] == 0
    assert service.get_lot(freezer_a[0]["id"])["status"] == "quarantined"


# -- release --------------------------------------------------------------------------------------
def test_releasing_puts_the_lot_back_in_use_and_announces_it(service, freezer_a, make_dose, read):
    service.report_excursion(LOCATION, "freezer-A", READING)

    released = service.release_lot(LOCATION, freezer_a[0]["id"], "  Maker says stable.  ")

    assert released["status"] == "usable"
    assert released["excursion_id"] is None
    assert released["quarantined_at"] is None
    assert statuses(service)[freezer_a[1]["id"]] == "quarantined"
    [body] = read.events("lot_released")
    event = contracts.parse(body, source="inventory", event_type="lot_released")
    assert str(event.payload["lot_id"]) == freezer_a[0]["id"]
    assert event.payload["note"] == "Maker says stable."
    assert event.payload["doses_on_hand"] == 5
    # Doses after the release are ordinary doses again.
    service.on_dose_administered(make_dose(freezer_a[0]))
    assert read.count(Discrepancy) == 0


def test_releasing_a_lot_that_is_not_quarantined_is_a_conflict(service, freezer_a, read):
    with pytest.raises(Conflict):
        service.release_lot(LOCATION, freezer_a[0]["id"], "Fine.")
    assert read.events("lot_released") == []


def test_releasing_a_lot_of_another_location_is_not_found(service, freezer_a):
    service.report_excursion(LOCATION, "freezer-A", READING)

    with pytest.raises(NotFound):
        service.release_lot("clinic-2", freezer_a[0]["id"], "Fine.")
    with pytest.raises(NotFound):
        service.release_lot(LOCATION, str(uuid.uuid4()), "Fine.")
    assert service.get_lot(freezer_a[0]["id"])["status"] == "quarantined"


@pytest.mark.parametrize("note", ["", "  ", None, 7, "x" * 2001])
def test_releasing_needs_a_note(service, freezer_a, note):
    service.report_excursion(LOCATION, "freezer-A", READING)

    with pytest.raises(InvalidInput) as raised:
        service.release_lot(LOCATION, freezer_a[0]["id"], note)

    assert list(raised.value.errors) == ["note"]
    assert service.get_lot(freezer_a[0]["id"])["status"] == "quarantined"


def test_a_released_lot_is_quarantined_again_by_a_later_excursion(service, freezer_a):
    service.report_excursion(LOCATION, "freezer-A", READING)
    service.release_lot(LOCATION, freezer_a[0]["id"], "Fine.")

    again = service.report_excursion(LOCATION, "freezer-A", READING)

    assert [lot["id"] for lot in again["quarantined_lots"]] == [freezer_a[0]["id"]]
