"""Transfers: doses out of a lot here and into the same lot there, in one transaction,
idempotent by the transfer id, never below zero."""

import copy
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from inventory.models import LedgerEntry, Lot

from .conftest import dose_body

SOURCE, DESTINATION = "clinic-1", "clinic-2"


@pytest.fixture
def lot(service, make_shipment) -> dict:
    return service.receive_lot(SOURCE, make_shipment(doses=20, storage_unit="freezer-1"))["lot"]


def request(**overrides) -> dict:
    return {
        "transfer_id": f"TR-{uuid.uuid4().hex[:8]}",
        "to_location_id": DESTINATION,
        "doses": 5,
        **overrides,
    }


def lots_at(read, location: str) -> list[Lot]:
    return read.all(select(Lot).where(Lot.location_id == location))


def test_a_transfer_moves_doses_into_the_same_lot_at_the_destination(service, lot, read):
    answer = service.transfer_lot(SOURCE, lot["id"], request(note="Clinic 2 ran out."))

    assert answer["created"] is True
    assert (answer["from_lot_id"], answer["doses"]) == (lot["id"], 5)
    assert service.get_lot(lot["id"])["doses_on_hand"] == 15
    [there] = lots_at(read, DESTINATION)
    assert there.id == answer["to_lot_id"]
    assert (there.lot_number, there.product_id) == (lot["lot_number"], lot["product_id"])
    assert there.expiration_date.isoformat() == lot["expiration_date"]
    assert there.doses_on_hand == 5
    entries = read.all(select(LedgerEntry).where(LedgerEntry.reason.like("transferred%")))
    assert sorted((e.location_id, e.reason, e.delta, e.balance_after) for e in entries) == [
        (SOURCE, "transferred_out", -5, 15),
        (DESTINATION, "transferred_in", 5, 5),
    ]
    adjusted = [b["payload"] for b in read.events("inventory_adjusted")]
    assert {(a["location_id"], a["reason"], a["delta"]) for a in adjusted} == {
        (SOURCE, "transferred_out", -5),
        (DESTINATION, "transferred_in", 5),
    }
    [received] = [
        b for b in read.events("lot_received") if b["payload"]["location_id"] == DESTINATION
    ]
    event = contracts.parse(received, source="inventory", event_type="lot_received")
    assert str(event.payload["lot_id"]) == there.id


def test_a_second_transfer_adds_to_the_destinations_record_of_the_lot(service, lot, read):
    first = service.transfer_lot(SOURCE, lot["id"], request())
    second = service.transfer_lot(SOURCE, lot["id"], request(doses=3))

    assert first["to_lot_id"] == second["to_lot_id"]
    assert [there.doses_on_hand for there in lots_at(read, DESTINATION)] == [8]


def test_the_same_transfer_twice_moves_the_doses_once(service, lot, read):
    same = request()

    service.transfer_lot(SOURCE, lot["id"], same)
    again = service.transfer_lot(SOURCE, lot["id"], copy.deepcopy(same))

    assert again["created"] is False
    assert service.get_lot(lot["id"])["doses_on_hand"] == 15
    assert [there.doses_on_hand for there in lots_at(read, DESTINATION)] == [5]


def test_a_transfer_id_reused_with_other_contents_is_a_conflict(service, lot):
    first = request()
    service.transfer_lot(SOURCE, lot["id"], first)

    with pytest.raises(Conflict):
        service.transfer_lot(SOURCE, lot["id"], {**first, "doses": 6})


def test_more_doses_than_on_hand_are_refused_and_nothing_moves(service, lot, read):
    with pytest.raises(Unprocessable) as raised:
        service.transfer_lot(SOURCE, lot["id"], request(doses=21))

    assert list(raised.value.errors) == ["doses"]
    assert service.get_lot(lot["id"])["doses_on_hand"] == 20
    assert lots_at(read, DESTINATION) == []


def test_doses_in_an_open_vial_stay(service, lot, make_dose):
    service.on_dose_administered(make_dose(lot))  # 19 on hand, 5 of them in an open vial

    with pytest.raises(Unprocessable):
        service.transfer_lot(SOURCE, lot["id"], request(doses=15))
    service.transfer_lot(SOURCE, lot["id"], request(doses=14))

    assert service.get_lot(lot["id"])["doses_on_hand"] == 5


def test_a_quarantined_lot_is_not_transferred(service, lot):
    service.report_excursion(
        SOURCE, "freezer-1", {"observed_at": datetime.now(UTC).isoformat(), "max_c": 9}
    )

    with pytest.raises(Unprocessable):
        service.transfer_lot(SOURCE, lot["id"], request())


def test_a_transfer_to_the_same_location_is_refused(service, lot):
    with pytest.raises(Unprocessable) as raised:
        service.transfer_lot(SOURCE, lot["id"], request(to_location_id=SOURCE))

    assert list(raised.value.errors) == ["to_location_id"]


def test_a_lot_of_another_location_is_not_found(service, lot):
    with pytest.raises(NotFound):
        service.transfer_lot(DESTINATION, lot["id"], request(to_location_id="clinic-3"))


@pytest.mark.parametrize(
    "change, field",
    [
        ({"doses": 0}, "doses"),
        ({"doses": "5"}, "doses"),
        ({"transfer_id": ""}, "transfer_id"),
        ({"transfer_id": "has space"}, "transfer_id"),
        ({"to_location_id": "no/such"}, "to_location_id"),
    ],
)
def test_bad_requests_are_invalid_input(service, lot, change, field):
    with pytest.raises(InvalidInput) as raised:
        service.transfer_lot(SOURCE, lot["id"], request(**change))

    assert field in raised.value.errors


def test_doses_given_at_the_destination_come_from_the_transferred_lot(service, lot):
    answer = service.transfer_lot(SOURCE, lot["id"], request())
    there = service.get_lot(answer["to_lot_id"])
    body = dose_body(there, location_id=DESTINATION, correlation_id="corr")

    service.on_dose_administered(body)

    assert service.get_lot(there["id"])["doses_on_hand"] == 4
    chosen = service.choose_lot(DESTINATION, there["product_id"], datetime.now(UTC).isoformat())
    assert chosen["lot_id"] == there["id"]
