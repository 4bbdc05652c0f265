import copy
from datetime import date

import pytest
from sqlalchemy import select

from administration.models import KnownLot
from cvms_platform.errors import ContractViolation
from cvms_platform.tables import inbox


def test_a_lot_received_event_makes_the_lot_known(service, make_lot, make_lot_received, read):
    received = make_lot(location_id="clinic-7", lot_number="EW0150", expiration_date="2031-05-31")

    service.on_lot_received(make_lot_received(received))

    [known] = read.all(select(KnownLot))
    assert known.id == received["id"]
    assert known.location_id == "clinic-7"
    assert known.product_id == "pfizer-gray-12plus"
    assert known.lot_number == "EW0150"
    assert known.expiration_date == date(2031, 5, 31)


def test_a_redelivered_lot_received_event_is_applied_once(
    service, make_lot, make_lot_received, read
):
    body = make_lot_received(make_lot())

    service.on_lot_received(body)
    service.on_lot_received(copy.deepcopy(body))

    assert read.count(KnownLot) == 1
    assert read.all(select(inbox.c.event_id)) == [body["id"]]


def test_a_dose_from_an_announced_lot_does_not_ask_inventory(
    service, recipient, make_lot, make_lot_received, make_dose
):
    received = make_lot()
    service.on_lot_received(make_lot_received(received))

    result = service.record_administration(make_dose(recipient, received), "nurse-1")

    assert result["created"] is True
    assert result["administration"]["lot_number"] == received["lot_number"]
    service.inventory.get_lot.assert_not_called()


def test_a_lot_already_learned_over_rpc_is_updated_by_its_event(
    service, recipient, lot, make_dose, make_lot_received, read
):
    service.record_administration(make_dose(recipient, lot), "nurse-1")

    service.on_lot_received(make_lot_received({**lot, "expiration_date": "2031-01-31"}))

    [known] = read.all(select(KnownLot))
    assert known.expiration_date == date(2031, 1, 31)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda body: body["payload"].pop("lot_id"),
        lambda body: body["payload"].update(doses="60"),
        lambda body: body["payload"].update(expiration_date="31/05/2031"),
        lambda body: body.update(source="administration"),
        lambda body: body.update(version=2),
        lambda body: body.update(id="not-a-uuid"),
    ],
    ids=["no-lot-id", "doses-as-text", "bad-date", "wrong-source", "unknown-version", "bad-id"],
)
def test_a_lot_received_body_that_breaks_the_contract_changes_nothing(
    service, make_lot, make_lot_received, read, breakage
):
    body = make_lot_received(make_lot())
    breakage(body)

    with pytest.raises(ContractViolation):
        service.on_lot_received(body)

    assert read.count(KnownLot) == 0
    assert read.all(select(inbox.c.event_id)) == []
