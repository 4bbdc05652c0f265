"""Marketplace unit-test fixtures: a freshly migrated SQLite database per test, the service built
with nameko's `worker_factory` on it, and inventory answered in process by inventory's own
service class on a database of its own (its answers and errors as over RPC), with a clock the
test moves."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from cvms_platform.db import DatabaseAccess
from cvms_platform.testing import Clock, Reader, database_fixtures, service_database
from inventory.service import InventoryService
from marketplace.service import MarketplaceService

OFFERING, CLAIMING, OTHER = "clinic-a", "clinic-b", "clinic-c"
GRAY_CAP = "pfizer-gray-12plus"
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
EXPIRES = TODAY + timedelta(days=60)

service_db, database_url, db = database_fixtures("marketplace")


class LocalInventory:
    """Inventory's service class on its own database, called as the RPC proxy would call it:
    arguments and answers through JSON, the worker's session closed after each call (nameko's
    worker teardown), its errors raised as themselves."""

    def __init__(self, access: DatabaseAccess):
        self.db = access
        self.service = worker_factory(InventoryService, db=access, correlation_id="corr-inv")
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        method = getattr(self.service, name)

        def call(*args):
            self.calls.append(name)
            try:
                return json.loads(json.dumps(method(*json.loads(json.dumps(args)))))
            finally:
                self.db.close()

        return call


@pytest.fixture
def inventory(tmp_path) -> Iterator[LocalInventory]:
    with service_database("inventory", tmp_path) as database:
        yield LocalInventory(database.access)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def service(db, inventory, clock) -> MarketplaceService:
    service = worker_factory(
        MarketplaceService, db=db, inventory=inventory, correlation_id="corr-test"
    )
    service.now = clock
    return service


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


@pytest.fixture
def lot(inventory) -> dict:
    """20 doses of a lot expiring in 60 days, at the offering location."""
    return receive(inventory, OFFERING, 20)


def receive(inventory, location: str, doses: int, expires: date = EXPIRES) -> dict:
    return inventory.receive_lot(
        location,
        {
            "shipment_id": f"SHIP-{uuid.uuid4().hex[:8]}",
            "product_id": GRAY_CAP,
            "lot_number": "FK5127",
            "expiration_date": expires.isoformat(),
            "doses": doses,
            "storage_unit": "freezer-A",
        },
    )["lot"]


def offer_request(lot: dict, **overrides) -> dict:
    return {
        "offer_id": f"offer-{uuid.uuid4().hex[:8]}",
        "lot_id": lot["id"],
        "doses": 10,
        "min_per_claim": 2,
        "available_until": (TODAY + timedelta(days=30)).isoformat(),
        "fulfilment": "shipped",
        "transit_days": 2,
        "notes": "Gray cap, full vials.",
        **overrides,
    }


def claim_request(offer: dict, doses: int = 4, **overrides) -> dict:
    return {
        "claim_id": f"claim-{uuid.uuid4().hex[:8]}",
        "offer_id": offer["offer_id"],
        "doses": doses,
        **overrides,
    }


@pytest.fixture
def offer(service, lot) -> dict:
    """10 of the lot's 20 doses offered by OFFERING, at least 2 a claim."""
    return service.create_offer(OFFERING, offer_request(lot), "manager.a")


def receipt(**overrides) -> dict:
    return {
        "doses_received": 4,
        "arrival_temperature_c": -72.5,
        "data_logger_id": "LOG-0042",
        **overrides,
    }
