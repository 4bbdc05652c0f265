import copy
import uuid

import pytest
from sqlalchemy import select

from cvms_platform import contracts
from cvms_platform.errors import ContractViolation
from cvms_platform.tables import inbox
from inventory.models import Discrepancy, LedgerEntry


def administered_entries(read):
    return read.all(select(LedgerEntry).where(LedgerEntry.reason == "administered"))


def test_a_dose_takes_exactly_one_dose_off_its_lot(service, lot, make_dose):
    service.on_dose_administered(make_dose(lot))

    assert service.get_lot(lot["id"])["doses_on_hand"] == 1


def test_a_dose_writes_an_administered_ledger_entry(service, lot, make_dose, read):
    body = make_dose(lot, correlation_id="req-42")

    service.on_dose_administered(body)

    [entry] = administered_entries(read)
    assert entry.lot_id == lot["id"]
    assert entry.location_id == "clinic-1"
    assert (entry.delta, entry.balance_after) == (-1, 1)
    assert entry.source_event_id == body["id"]
    assert entry.reference_id == body["payload"]["administration_id"]
    assert entry.correlation_id == "req-42"


def test_a_dose_announces_the_adjustment_with_the_events_correlation_id(
    service, lot, make_dose, read
):
    service.on_dose_administered(make_dose(lot, correlation_id="req-42"))

    [entry] = administered_entries(read)
    [body] = read.events("inventory_adjusted")
    event = contracts.parse(body, source="inventory", event_type="inventory_adjusted")
    assert event.correlation_id == "req-42"
    assert str(event.payload["ledger_entry_id"]) == entry.id
    assert str(event.payload["lot_id"]) == lot["id"]
    assert event.payload["location_id"] == "clinic-1"
    assert event.payload["product_id"] == "pfizer-gray-12plus"
    assert (event.payload["reason"], event.payload["delta"]) == ("administered", -1)
    assert event.payload["doses_on_hand"] == 1


def test_the_same_event_delivered_twice_takes_one_dose(service, lot, make_dose, read):
    body = make_dose(lot)

    service.on_dose_administered(body)
    service.on_dose_administered(copy.deepcopy(body))

    assert service.get_lot(lot["id"])["doses_on_hand"] == 1
    assert len(administered_entries(read)) == 1
    assert len(read.events("inventory_adjusted")) == 1
    assert read.all(select(inbox.c.event_id)) == [body["id"]]


def test_two_different_doses_take_two_doses(service, lot, make_dose, read):
    service.on_dose_administered(make_dose(lot))
    service.on_dose_administered(make_dose(lot))

    assert service.get_lot(lot["id"])["doses_on_hand"] == 0
    assert [e.balance_after for e in administered_entries(read)] == [1, 0]
    assert read.count(Discrepancy) == 0


def test_a_dose_from_an_empty_lot_records_a_no_stock_discrepancy(service, lot, make_dose, read):
    service.on_dose_administered(make_dose(lot))
    service.on_dose_administered(make_dose(lot))
    third = make_dose(lot, correlation_id="req-3")

    service.on_dose_administered(third)

    assert service.get_lot(lot["id"])["doses_on_hand"] == 0
    assert len(administered_entries(read)) == 2
    [discrepancy] = read.all(select(Discrepancy))
    assert discrepancy.reason == "no_stock"
    assert discrepancy.location_id == "clinic-1"
    assert discrepancy.lot_id == lot["id"]
    assert discrepancy.administration_id == third["payload"]["administration_id"]
    assert discrepancy.source_event_id == third["id"]
    assert discrepancy.resolved_at is None
    [body] = read.events("inventory_discrepancy_recorded")
    event = contracts.parse(body, source="inventory", event_type="inventory_discrepancy_recorded")
    assert event.correlation_id == "req-3"
    assert str(event.payload["discrepancy_id"]) == discrepancy.id
    assert event.payload["reason"] == "no_stock"
    assert str(event.payload["source_event_id"]) == third["id"]


def test_a_redelivered_dose_from_an_empty_lot_records_one_discrepancy(
    service, make_shipment, make_dose, read
):
    lot = service.receive_lot("clinic-1", make_shipment(doses=1))["lot"]
    service.on_dose_administered(make_dose(lot))
    extra = make_dose(lot)

    service.on_dose_administered(extra)
    service.on_dose_administered(extra)

    assert read.count(Discrepancy) == 1
    assert len(read.events("inventory_discrepancy_recorded")) == 1


def test_a_dose_for_a_lot_of_another_location_is_an_unknown_lot_discrepancy(
    service, lot, make_dose, read
):
    body = make_dose(lot, location_id="clinic-2")

    service.on_dose_administered(body)

    assert service.get_lot(lot["id"])["doses_on_hand"] == 2
    assert administered_entries(read) == []
    [discrepancy] = read.all(select(Discrepancy))
    assert (discrepancy.reason, discrepancy.location_id) == ("unknown_lot", "clinic-2")
    [event] = read.events("inventory_discrepancy_recorded")
    assert event["payload"]["reason"] == "unknown_lot"
    assert read.events("inventory_adjusted") == []


def test_a_dose_for_a_lot_that_does_not_exist_is_an_unknown_lot_discrepancy(
    service, lot, make_dose, read
):
    ghost = {**lot, "id": str(uuid.uuid4())}

    service.on_dose_administered(make_dose(ghost))

    [discrepancy] = read.all(select(Discrepancy))
    assert (discrepancy.reason, discrepancy.lot_id) == ("unknown_lot", ghost["id"])
    assert service.get_lot(lot["id"])["doses_on_hand"] == 2


def _without_lot_id(body):
    del body["payload"]["lot_id"]


def _dose_number_as_text(body):
    body["payload"]["dose_number"] = "1"


def _naive_administered_at(body):
    body["payload"]["administered_at"] = "2024-01-01T10:00:00"


def _from_another_source(body):
    body["source"] = "inventory"


def _another_event_type(body):
    body["type"] = "dose_voided"


def _unknown_version(body):
    body["version"] = 99


def _without_correlation_id(body):
    del body["correlation_id"]


@pytest.mark.parametrize(
    "breakage",
    [
        _without_lot_id,
        _dose_number_as_text,
        _naive_administered_at,
        _from_another_source,
        _another_event_type,
        _unknown_version,
        _without_correlation_id,
    ],
)
def test_a_body_that_breaks_the_contract_is_rejected_and_changes_nothing(
    service, lot, make_dose, read, breakage
):
    body = make_dose(lot)
    breakage(body)

    with pytest.raises(ContractViolation):
        service.on_dose_administered(body)

    assert service.get_lot(lot["id"])["doses_on_hand"] == 2
    assert administered_entries(read) == []
    assert read.count(Discrepancy) == 0
    assert read.all(select(inbox.c.event_id)) == []
    assert [b["type"] for b in read.events()] == ["lot_received"]


@pytest.mark.parametrize("body", [None, "a dose", ["a", "dose"]])
def test_a_body_that_is_not_an_object_is_a_contract_violation(service, lot, body):
    with pytest.raises(ContractViolation):
        service.on_dose_administered(body)

    assert service.get_lot(lot["id"])["doses_on_hand"] == 2
