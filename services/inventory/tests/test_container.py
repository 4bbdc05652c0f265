"""The service in a real nameko container on RabbitMQ (a vhost of this module's own): the RPC
entrypoint carries the caller's correlation id, and events arrive from administration's exchange."""

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from nameko.testing.utils import get_extension
from sqlalchemy import select

from cvms_platform.db import Database
from inventory.models import LedgerEntry
from inventory.service import InventoryService


@pytest.fixture
def container(container_factory, container_config):
    container = container_factory(InventoryService, container_config)
    container.start()
    yield container
    container.kill()
    get_extension(container, Database).engine.dispose()


def test_receive_lot_over_rpc_records_the_callers_correlation_id(container, make_shipment, read):
    context = {"correlation_id": "gateway-req-7"}
    with entrypoint_hook(container, "receive_lot", context_data=context) as receive_lot:
        result = receive_lot("clinic-1", make_shipment(doses=6))

    assert result["created"] is True
    assert result["lot"]["doses_on_hand"] == 6
    [entry] = read.all(select(LedgerEntry))
    assert entry.correlation_id == "gateway-req-7"
    [event] = read.events("lot_received")
    assert event["correlation_id"] == "gateway-req-7"


def test_dose_event_from_the_broker_takes_one_dose_even_when_redelivered(
    container, container_config, make_shipment, make_dose, read
):
    with entrypoint_hook(container, "receive_lot") as receive_lot:
        lot = receive_lot("clinic-1", make_shipment(doses=6))["lot"]
    dispatch = event_dispatcher(container_config)
    body = make_dose(lot)

    for _ in range(2):
        with entrypoint_waiter(container, "on_dose_administered", timeout=10) as waited:
            dispatch("administration", "dose_administered", body)
        waited.get()  # re-raises if the consumer failed

    with entrypoint_hook(container, "get_lot") as get_lot:
        assert get_lot(lot["id"])["doses_on_hand"] == 5
    assert len(read.events("inventory_adjusted")) == 1
