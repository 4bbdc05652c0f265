"""Holds for marketplace offers: held doses stay on hand but are not available (not chosen
first-expiring-first, not given, not wasted or transferred away); a hold is released in all or
in part, or shipped out into transit and received at the destination as the same lot, with a
cold-chain attestation. Every step idempotent by its id."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, NoUsableLot, Unprocessable
from inventory.models import Discrepancy, LedgerEntry, Lot

from .conftest import GRAY_CAP, LOCATION, dose_body

DESTINATION = "clinic-2"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def lot(receive) -> dict:
    return receive(10)


def hold(service, lot, doses=6, hold_id=None) -> dict:
    return service.place_hold(
        LOCATION, lot["id"], {"hold_id": hold_id or f"offer-{uuid.uuid4().hex[:8]}", "doses": doses}
    )


def ship(service, held, doses=4, shipment_id=None) -> dict:
    return service.ship_held(
        LOCATION,
        held["hold_id"],
        {
            "shipment_id": shipment_id or f"claim-{uuid.uuid4().hex[:8]}",
            "to_location_id": DESTINATION,
            "doses": doses,
        },
    )


def attestation(**overrides) -> dict:
    return {
        "doses_received": 4,
        "arrival_temperature_c": -75.0,
        "data_logger_id": "LOGGER-17",
        **overrides,
    }


def lots_at(read, location: str) -> list[Lot]:
    return read.all(select(Lot).where(Lot.location_id == location))


# -- placing --------------------------------------------------------------------------------------
def test_a_hold_keeps_doses_on_hand_but_not_available(service, lot, read):
    held = hold(service, lot, doses=6)

    assert (held["created"], held["doses_held"], held["status"]) == (True, 6, "open")
    answer = service.get_lot(lot["id"])
    assert (answer["doses_on_hand"], answer["doses_held"]) == (10, 6)
    [event] = read.events("doses_held")
    parsed = contracts.parse(event, source="inventory", event_type="doses_held")
    assert (parsed.payload["doses"], parsed.payload["lot_doses_held"]) == (6, 6)


def test_the_same_hold_twice_holds_once_and_other_contents_conflict(service, lot, read):
    first = hold(service, lot, doses=6, hold_id="offer-1")
    again = hold(service, lot, doses=6, hold_id="offer-1")

    assert (first["created"], again["created"]) == (True, False)
    assert service.get_lot(lot["id"])["doses_held"] == 6
    assert len(read.events("doses_held")) == 1
    with pytest.raises(Conflict):
        hold(service, lot, doses=5, hold_id="offer-1")


def test_no_more_than_the_available_doses_can_be_held(service, lot):
    hold(service, lot, doses=6)

    with pytest.raises(Unprocessable) as refused:
        hold(service, lot, doses=5)
    assert "doses" in refused.value.errors
    hold(service, lot, doses=4)
    assert service.get_lot(lot["id"])["doses_held"] == 10


def test_a_hold_is_refused_on_a_quarantined_lot_or_another_locations(service, lot, receive):
    service.report_excursion(
        LOCATION, "freezer-A", {"observed_at": datetime.now(UTC).isoformat(), "max_c": -40.0}
    )
    with pytest.raises(Unprocessable):
        hold(service, lot, doses=1)
    elsewhere = receive(5, location=DESTINATION)
    with pytest.raises(NotFound):
        hold(service, elsewhere, doses=1)
    with pytest.raises(InvalidInput):
        service.place_hold(LOCATION, lot["id"], {"hold_id": "x", "doses": 0})


# -- held doses are not usable --------------------------------------------------------------------
def test_a_fully_held_lot_is_not_chosen_first_expiring_first(service, receive):
    soon = receive(10, expiration_date=(TODAY + timedelta(days=20)).isoformat())
    later = receive(10, expiration_date=(TODAY + timedelta(days=80)).isoformat())
    hold(service, soon, doses=10)

    choice = service.choose_lot(LOCATION, GRAY_CAP, datetime.now(UTC).isoformat())

    assert choice["lot_id"] == later["id"]
    hold(service, later, doses=10)
    with pytest.raises(NoUsableLot):
        service.choose_lot(LOCATION, GRAY_CAP, datetime.now(UTC).isoformat())


def test_a_dose_recorded_against_held_doses_only_is_a_discrepancy(service, receive, read):
    lot = receive(2)
    hold(service, lot, doses=1)

    service.on_dose_administered(dose_body(lot))  # the one free dose
    service.on_dose_administered(dose_body(lot))  # only the held one is left

    answer = service.get_lot(lot["id"])
    assert (answer["doses_on_hand"], answer["doses_held"]) == (1, 1)
    [missing] = read.all(select(Discrepancy))
    assert missing.reason == "no_stock"


def test_held_doses_are_neither_wasted_nor_transferred_away(service, lot):
    hold(service, lot, doses=8)

    with pytest.raises(Unprocessable):
        service.record_wastage(LOCATION, lot["id"], {"doses": 3, "reason": "broken_vial"})
    with pytest.raises(Unprocessable):
        service.correct_stock(LOCATION, lot["id"], {"delta": -3, "note": "Counted."})
    with pytest.raises(Unprocessable):
        service.transfer_lot(
            LOCATION, lot["id"], {"transfer_id": "T-1", "to_location_id": DESTINATION, "doses": 3}
        )
    service.record_wastage(LOCATION, lot["id"], {"doses": 2, "reason": "broken_vial"})
    answer = service.get_lot(lot["id"])
    assert (answer["doses_on_hand"], answer["doses_held"]) == (8, 8)


# -- releasing ------------------------------------------------------------------------------------
def test_a_release_in_part_then_in_all_gives_the_doses_back_once_each(service, lot, read):
    held = hold(service, lot, doses=6)

    part = service.release_hold(
        LOCATION, held["hold_id"], {"release_id": "r-1", "doses": 2, "reason": "claim_declined"}
    )
    again = service.release_hold(LOCATION, held["hold_id"], {"release_id": "r-1", "doses": 2})
    rest = service.release_hold(LOCATION, held["hold_id"], {"release_id": "r-2"})

    assert (part["released"], part["doses_held"]) == (True, 4)
    assert (again["released"], again["doses_held"]) == (False, 4)
    assert (rest["released"], rest["doses_held"], rest["status"]) == (True, 0, "closed")
    assert service.get_lot(lot["id"])["doses_held"] == 0
    released = [b["payload"] for b in read.events("doses_hold_released")]
    assert [(r["doses"], r["reason"]) for r in released] == [
        (2, "claim_declined"),
        (4, "released"),
    ]
    with pytest.raises(Unprocessable):
        service.release_hold(LOCATION, held["hold_id"], {"release_id": "r-3", "doses": 1})


def test_an_expired_lots_holds_end_with_it(service, receive, read):
    lot = receive(5, expiration_date=(TODAY + timedelta(days=1)).isoformat())
    held = hold(service, lot, doses=3)

    service.run_expiry(TODAY + timedelta(days=3))

    answer = service.get_lot(lot["id"])
    assert (answer["doses_on_hand"], answer["doses_held"]) == (0, 0)
    assert service.get_hold(LOCATION, held["hold_id"])["status"] == "closed"
    [released] = [b["payload"] for b in read.events("doses_hold_released")]
    assert (released["doses"], released["reason"]) == (3, "lot_expired")


# -- shipping and receiving -----------------------------------------------------------------------
def test_shipped_doses_leave_the_lot_and_arrive_as_the_same_lot(service, lot, read):
    held = hold(service, lot, doses=6)

    shipped = ship(service, held, doses=4, shipment_id="claim-1")

    assert (shipped["status"], shipped["doses"], shipped["created"]) == ("in_transit", 4, True)
    answer = service.get_lot(lot["id"])
    assert (answer["doses_on_hand"], answer["doses_held"]) == (6, 2)
    assert lots_at(read, DESTINATION) == []

    received = service.receive_shipment(DESTINATION, "claim-1", attestation())

    assert (received["status"], received["doses_received"]) == ("received", 4)
    assert received["cold_chain_ok"] is True
    [there] = lots_at(read, DESTINATION)
    assert (there.lot_number, there.product_id, there.expiration_date.isoformat()) == (
        lot["lot_number"],
        lot["product_id"],
        lot["expiration_date"],
    )
    assert (there.id, there.doses_on_hand) == (received["to_lot_id"], 4)
    entries = read.all(select(LedgerEntry).where(LedgerEntry.reason.like("transferred%")))
    assert sorted((e.location_id, e.reason, e.delta) for e in entries) == [
        (LOCATION, "transferred_out", -4),
        (DESTINATION, "transferred_in", 4),
    ]
    assert len({e.reference_id for e in entries}) == 1
    [event] = read.events("shipment_received")
    contracts.parse(event, source="inventory", event_type="shipment_received")
    assert len(read.events("doses_shipped")) == 1


def test_shipping_and_receiving_again_change_nothing(service, lot, read):
    held = hold(service, lot, doses=6)
    ship(service, held, doses=4, shipment_id="claim-1")
    again = ship(service, held, doses=4, shipment_id="claim-1")
    service.receive_shipment(DESTINATION, "claim-1", attestation())
    received_again = service.receive_shipment(DESTINATION, "claim-1", attestation())

    assert again["created"] is False
    assert received_again["created"] is False
    assert service.get_lot(lot["id"])["doses_on_hand"] == 6
    assert [there.doses_on_hand for there in lots_at(read, DESTINATION)] == [4]
    with pytest.raises(Conflict):
        service.receive_shipment(DESTINATION, "claim-1", attestation(doses_received=3))
    with pytest.raises(Conflict):
        ship(service, held, doses=2, shipment_id="claim-1")


def test_no_more_than_the_hold_holds_can_be_shipped(service, lot):
    held = hold(service, lot, doses=3)

    with pytest.raises(Unprocessable):
        ship(service, held, doses=4)
    with pytest.raises(NotFound):
        service.receive_shipment(DESTINATION, "nothing-shipped", attestation())


def test_only_the_destination_receives_a_shipment(service, lot):
    held = hold(service, lot, doses=3)
    ship(service, held, doses=3, shipment_id="claim-1")

    with pytest.raises(NotFound):
        service.receive_shipment("clinic-3", "claim-1", attestation(doses_received=3))
    with pytest.raises(Unprocessable):
        service.receive_shipment(DESTINATION, "claim-1", attestation(doses_received=4))


def test_a_cold_chain_failure_is_wastage_at_the_destination(service, lot, read):
    held = hold(service, lot, doses=4)
    ship(service, held, doses=4, shipment_id="claim-1")

    received = service.receive_shipment(
        DESTINATION, "claim-1", attestation(arrival_temperature_c=6.5)
    )

    assert received["cold_chain_ok"] is False
    [there] = lots_at(read, DESTINATION)
    assert there.doses_on_hand == 0
    [wasted] = [b["payload"] for b in read.events("doses_wasted")]
    assert (wasted["location_id"], wasted["doses"], wasted["reason"]) == (
        DESTINATION,
        4,
        "cold_chain_failure",
    )


def test_a_short_shipment_is_a_discrepancy_to_reconcile(service, lot, read):
    held = hold(service, lot, doses=4)
    ship(service, held, doses=4, shipment_id="claim-1")

    service.receive_shipment(DESTINATION, "claim-1", attestation(doses_received=3))

    [there] = lots_at(read, DESTINATION)
    assert there.doses_on_hand == 3
    [short] = read.all(select(Discrepancy))
    assert (short.location_id, short.reason) == (DESTINATION, "short_shipment")
    assert [d["reason"] for d in service.list_discrepancies(DESTINATION)] == ["short_shipment"]
