from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from inventory.models import LedgerEntry, Lot


def test_receive_lot_creates_a_lot_with_every_dose_on_hand(service, make_shipment):
    sent = make_shipment(doses=60)

    result = service.receive_lot("clinic-1", sent)

    assert result["created"] is True
    lot = result["lot"]
    assert lot["location_id"] == "clinic-1"
    assert lot["shipment_id"] == sent["shipment_id"]
    assert lot["product_name"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    assert lot["lot_number"] == "FK5127"
    assert lot["expiration_date"] == sent["expiration_date"]
    assert lot["storage_unit"] == "freezer-A"
    assert (lot["doses_received"], lot["doses_on_hand"]) == (60, 60)
    assert service.get_lot(lot["id"]) == lot


def test_receive_lot_writes_a_received_ledger_entry(service, make_shipment, read):
    lot = service.receive_lot("clinic-1", make_shipment(doses=60))["lot"]

    [entry] = read.all(select(LedgerEntry))
    assert entry.lot_id == lot["id"]
    assert entry.location_id == "clinic-1"
    assert entry.product_id == "pfizer-gray-12plus"
    assert (entry.reason, entry.delta, entry.balance_after) == ("received", 60, 60)
    assert entry.correlation_id == "corr-test"


def test_receive_lot_puts_a_lot_received_event_in_the_outbox(service, make_shipment, read):
    sent = make_shipment(doses=60)
    lot = service.receive_lot("clinic-1", sent)["lot"]

    [body] = read.events()
    event = contracts.parse(body, source="inventory", event_type="lot_received")
    assert event.correlation_id == "corr-test"
    assert str(event.payload["lot_id"]) == lot["id"]
    assert event.payload["shipment_id"] == sent["shipment_id"]
    assert event.payload["location_id"] == "clinic-1"
    assert event.payload["product_id"] == "pfizer-gray-12plus"
    assert event.payload["lot_number"] == "FK5127"
    assert event.payload["expiration_date"].isoformat() == sent["expiration_date"]
    assert (event.payload["doses"], event.payload["doses_on_hand"]) == (60, 60)


def test_the_same_shipment_received_twice_is_recorded_once(service, make_shipment, read):
    sent = make_shipment()
    first = service.receive_lot("clinic-1", sent)

    again = service.receive_lot("clinic-1", sent)

    assert again["created"] is False
    assert again["lot"]["id"] == first["lot"]["id"]
    assert read.count(Lot) == 1
    assert read.count(LedgerEntry) == 1
    assert len(read.events("lot_received")) == 1


def test_the_same_shipment_id_at_another_location_is_another_lot(service, make_shipment, read):
    sent = make_shipment()
    first = service.receive_lot("clinic-1", sent)

    second = service.receive_lot("clinic-2", sent)

    assert second["created"] is True
    assert second["lot"]["id"] != first["lot"]["id"]
    assert read.count(Lot) == 2


def test_receive_lot_reports_every_missing_field(service, read):
    with pytest.raises(InvalidInput) as raised:
        service.receive_lot("clinic-1", {})

    assert set(raised.value.errors) == {
        "shipment_id",
        "product_id",
        "lot_number",
        "expiration_date",
        "doses",
    }
    assert read.count(Lot) == 0


@pytest.mark.parametrize("doses", ["10", 2.5, None, 0, -1])
def test_receive_lot_needs_a_positive_integer_number_of_doses(service, make_shipment, doses):
    with pytest.raises(InvalidInput) as raised:
        service.receive_lot("clinic-1", make_shipment(doses=doses))

    assert list(raised.value.errors) == ["doses"]


@pytest.mark.parametrize("lot_number", ["", "FK 5127", "FK5127;DROP", "X" * 51])
def test_receive_lot_rejects_a_malformed_lot_number(service, make_shipment, lot_number):
    with pytest.raises(InvalidInput) as raised:
        service.receive_lot("clinic-1", make_shipment(lot_number=lot_number))

    assert list(raised.value.errors) == ["lot_number"]


@pytest.mark.parametrize("location_id", ["", "clinic 1", "-clinic", "c" * 65, None, 7])
def test_receive_lot_rejects_a_malformed_location_id(service, make_shipment, location_id, read):
    with pytest.raises(InvalidInput) as raised:
        service.receive_lot(location_id, make_shipment())

    assert list(raised.value.errors) == ["location_id"]
    assert read.count(Lot) == 0


def test_receive_lot_rejects_a_shipment_that_is_not_an_object(service):
    with pytest.raises(InvalidInput) as raised:
        service.receive_lot("clinic-1", ["not", "a", "shipment"])

    assert "_schema" in raised.value.errors


def test_receive_lot_of_an_unknown_product_is_unprocessable(service, make_shipment, read):
    with pytest.raises(Unprocessable) as raised:
        service.receive_lot("clinic-1", make_shipment(product_id="sputnik-v"))

    assert list(raised.value.errors) == ["product_id"]
    assert read.count(Lot) == 0
    assert read.events() == []


def test_receive_lot_that_already_expired_is_unprocessable(service, make_shipment, read):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)

    with pytest.raises(Unprocessable) as raised:
        service.receive_lot("clinic-1", make_shipment(expiration_date=yesterday.isoformat()))

    assert list(raised.value.errors) == ["expiration_date"]
    assert read.count(Lot) == 0
    assert read.events() == []


def test_receive_lot_expiring_today_is_still_accepted(service, make_shipment):
    today = datetime.now(UTC).date()

    result = service.receive_lot("clinic-1", make_shipment(expiration_date=today.isoformat()))

    assert result["created"] is True


@pytest.mark.parametrize("lot_id", ["00000000-0000-0000-0000-000000000000", None, 42])
def test_get_lot_of_an_unknown_id_is_not_found(service, lot, lot_id):
    with pytest.raises(NotFound):
        service.get_lot(lot_id)


def test_location_inventory_lists_the_soonest_expiring_lot_first(service, make_shipment):
    today = datetime.now(UTC).date()
    for days, lot_number in [(60, "LATE"), (10, "SOON-B"), (10, "SOON-A"), (30, "MIDDLE")]:
        expires = (today + timedelta(days=days)).isoformat()
        service.receive_lot(
            "clinic-1", make_shipment(lot_number=lot_number, expiration_date=expires)
        )
    service.receive_lot("clinic-2", make_shipment(lot_number="ELSEWHERE"))

    lots = service.location_inventory("clinic-1")

    assert [lot["lot_number"] for lot in lots] == ["SOON-A", "SOON-B", "MIDDLE", "LATE"]
    assert {lot["location_id"] for lot in lots} == {"clinic-1"}


def test_location_inventory_of_a_location_without_stock_is_empty(service, lot):
    assert service.location_inventory("clinic-9") == []


def test_location_inventory_rejects_a_malformed_location_id(service):
    with pytest.raises(InvalidInput) as raised:
        service.location_inventory("../clinic")

    assert list(raised.value.errors) == ["location_id"]


@pytest.mark.parametrize(
    "change", [{"doses": 61}, {"lot_number": "OTHER1"}, {"product_id": "moderna-red-18plus"}]
)
def test_a_shipment_id_reused_with_other_contents_is_a_conflict(
    service, make_shipment, read, change
):
    sent = make_shipment(doses=60)
    service.receive_lot("clinic-1", sent)

    with pytest.raises(Conflict):
        service.receive_lot("clinic-1", {**sent, **change})

    assert len(read.all(select(Lot))) == 1
