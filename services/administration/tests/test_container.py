"""The service in a real nameko container on RabbitMQ (a vhost of this module's own): lots are
learned from inventory's events, and doses recorded over RPC carry the caller's correlation id."""

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from nameko.testing.utils import get_extension
from sqlalchemy import select

from administration.models import KnownLot
from administration.service import AdministrationService
from cvms_platform.db import Database


@pytest.fixture
def running(container_factory, container_config, catalog):
    """The started container and the MagicMock standing in for its inventory RPC proxy."""
    container = container_factory(AdministrationService, container_config)
    inventory = replace_dependencies(container, "inventory")
    inventory.list_products.return_value = catalog
    container.start()
    yield container, inventory
    container.kill()
    get_extension(container, Database).engine.dispose()


def test_lot_received_from_the_broker_is_remembered_once(
    running, container_config, make_lot, make_lot_received, read
):
    container, _ = running
    body = make_lot_received(make_lot())
    dispatch = event_dispatcher(container_config)

    for _ in range(2):
        with entrypoint_waiter(container, "on_lot_received", timeout=10) as waited:
            dispatch("inventory", "lot_received", body)
        waited.get()  # re-raises if the consumer failed

    [known] = read.all(select(KnownLot))
    assert known.id == body["payload"]["lot_id"]


def test_dose_recorded_over_rpc_uses_the_announced_lot_and_the_callers_correlation_id(
    running, container_config, make_lot, make_lot_received, make_dose, read
):
    container, inventory = running
    lot = make_lot()
    with entrypoint_waiter(container, "on_lot_received", timeout=10):
        event_dispatcher(container_config)("inventory", "lot_received", make_lot_received(lot))
    context = {"correlation_id": "gateway-req-9"}
    with entrypoint_hook(container, "register_recipient") as register_recipient:
        recipient = register_recipient(
            {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}
        )["recipient"]

    with entrypoint_hook(container, "record_administration", context_data=context) as record:
        result = record(make_dose(recipient, lot), "nurse-1")

    assert result["created"] is True
    assert result["administration"]["lot_number"] == lot["lot_number"]
    inventory.get_lot.assert_not_called()
    [event] = read.events("dose_administered")
    assert event["correlation_id"] == "gateway-req-9"
