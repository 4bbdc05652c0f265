"""Inventory unit-test fixtures: a freshly migrated SQLite database per test, the service built
with nameko's `worker_factory` on top of it, and (for the few container tests) a RabbitMQ vhost
of the test module's own."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from cvms_platform.contracts import new_event, to_wire
from cvms_platform.testing import Reader, container_fixtures, database_fixtures
from inventory.service import InventoryService

LOCATION = "clinic-1"
GRAY_CAP = "pfizer-gray-12plus"


# -- database and service -------------------------------------------------------------------------
service_db, database_url, db = database_fixtures("inventory")


@pytest.fixture
def service(db) -> InventoryService:
    return worker_factory(InventoryService, db=db, correlation_id="corr-test")


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


# -- builders -------------------------------------------------------------------------------------
def shipment(**overrides) -> dict:
    return {
        "shipment_id": f"SHIP-{uuid.uuid4().hex[:8]}",
        "product_id": GRAY_CAP,
        "lot_number": "FK5127",
        "expiration_date": (datetime.now(UTC).date() + timedelta(days=90)).isoformat(),
        "doses": 2,
        "storage_unit": "freezer-A",
        **overrides,
    }


@pytest.fixture
def make_shipment():
    return shipment


@pytest.fixture
def receive(service):
    """Receive a lot of `doses` (a shipment of its own) at `location`."""

    def receive(doses: int = 10, location: str = LOCATION, **overrides) -> dict:
        return service.receive_lot(location, shipment(doses=doses, **overrides))["lot"]

    return receive


def on_hand(service, lot: dict) -> int:
    return service.get_lot(lot["id"])["doses_on_hand"]


@pytest.fixture
def lot(service) -> dict:
    """A lot of two doses received at LOCATION."""
    return service.receive_lot(LOCATION, shipment())["lot"]


def dose_body(
    lot: dict,
    *,
    location_id: str | None = None,
    administration_id: str | None = None,
    administered_at: datetime | None = None,
    correlation_id: str = "corr-dose",
) -> dict:
    """The wire body administration's relay publishes for one dose given from `lot` (a new
    administration, given now, at the lot's location, unless told otherwise)."""
    event = new_event(
        "dose_administered",
        {
            "administration_id": administration_id or str(uuid.uuid4()),
            "recipient_id": str(uuid.uuid4()),
            "location_id": location_id or lot["location_id"],
            "lot_id": lot["id"],
            "product_id": lot["product_id"],
            "lot_number": lot["lot_number"],
            "dose_number": 1,
            "administered_at": administered_at or datetime.now(UTC),
        },
        correlation_id=correlation_id,
    )
    return to_wire(event)


@pytest.fixture
def make_dose():
    return dose_body


# -- RabbitMQ (container tests only) --------------------------------------------------------------
amqp_uri, container_config = container_fixtures("inventory")
