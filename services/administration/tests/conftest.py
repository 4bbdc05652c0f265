"""Administration unit-test fixtures: a freshly migrated SQLite database per test, the service
built with nameko's `worker_factory` on top of it (its `inventory` RPC proxy is a MagicMock), and
(for the few container tests) a RabbitMQ vhost of the test module's own."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from administration.service import AdministrationService
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.testing import Reader, container_fixtures, database_fixtures

# -- database and service -------------------------------------------------------------------------
service_db, database_url, db = database_fixtures("administration")


# The products of inventory's catalog, as its `list_products` RPC answers (the facts used here).
CATALOG = [
    {
        "id": "pfizer-gray-12plus",
        "name": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
        "manufacturer": "Pfizer, Inc",
        "mvx_code": "PFR",
        "cvx_code": "217",
        "dose_volume_ml": 0.3,
        "min_age_years": 12,
        "series_doses": 2,
        "min_interval_days": 21,
    },
    {
        "id": "moderna-red-18plus",
        "name": "Moderna COVID-19 Vaccine (Red Cap)",
        "manufacturer": "Moderna US, Inc.",
        "mvx_code": "MOD",
        "cvx_code": "207",
        "dose_volume_ml": 0.5,
        "min_age_years": 18,
        "series_doses": 2,
        "min_interval_days": 28,
    },
    {
        "id": "janssen-18plus",
        "name": "Janssen COVID-19 Vaccine",
        "manufacturer": "Janssen Products, LP",
        "mvx_code": "JSN",
        "cvx_code": "212",
        "dose_volume_ml": 0.5,
        "min_age_years": 18,
        "series_doses": 1,
        "min_interval_days": 0,
    },
]


@pytest.fixture
def catalog() -> list[dict]:
    return [dict(product) for product in CATALOG]


@pytest.fixture
def service(db) -> AdministrationService:
    """The service with a real database; `service.inventory` is a MagicMock RPC proxy whose
    `list_products` answers CATALOG."""
    service = worker_factory(AdministrationService, db=db, correlation_id="corr-test")
    service.inventory.list_products.return_value = [dict(p) for p in CATALOG]
    return service


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


# -- builders -------------------------------------------------------------------------------------
def inventory_lot(**overrides) -> dict:
    """A lot as inventory's `get_lot` RPC returns it."""
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "location_id": "clinic-1",
        "shipment_id": "SHIP-1",
        "product_id": "pfizer-gray-12plus",
        "product_name": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
        "lot_number": "FK5127",
        "expiration_date": (now.date() + timedelta(days=90)).isoformat(),
        "storage_unit": None,
        "doses_received": 60,
        "doses_on_hand": 60,
        "received_at": now.isoformat(),
        "updated_at": now.isoformat(),
        **overrides,
    }


@pytest.fixture
def make_lot():
    return inventory_lot


@pytest.fixture
def lot(service) -> dict:
    """A lot inventory holds at clinic-1: the mocked `inventory.get_lot` returns it."""
    found = inventory_lot()
    service.inventory.get_lot.return_value = found
    return found


ADDRESS = {
    "line1": "12 Analytical Way",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}


def registration_form(**overrides) -> dict:
    """A fully filled Recipient Registration form."""
    return {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "birth_date": "1990-12-10",
        "sex": "F",
        "race": "2106-3",
        "ethnicity": "2186-5",
        "address": {**ADDRESS, "line2": "Apt 3"},
        "phone": "(217) 555-0134",
        "email": "ada@example.org",
        "preferred_language": "es",
        "contact_preferences": {"email": True, "sms": True, "phone": False, "mail": False},
        **overrides,
    }


@pytest.fixture
def recipient(service) -> dict:
    return service.register_recipient(
        {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}
    )["recipient"]


def dose(recipient: dict, lot: dict, *, days_ago: int = 0, **overrides) -> dict:
    """A record_administration request: a dose given an hour (and `days_ago` days) ago, under a
    new record id."""
    return {
        "id": str(uuid.uuid4()),
        "recipient_id": recipient["id"],
        "location_id": lot["location_id"],
        "lot_id": lot["id"],
        "administered_at": (datetime.now(UTC) - timedelta(days=days_ago, hours=1)).isoformat(),
        **overrides,
    }


@pytest.fixture
def make_dose():
    return dose


def lot_received_body(lot: dict, correlation_id: str = "corr-lot") -> dict:
    """The wire body inventory's relay publishes when `lot` is received."""
    event = new_event(
        "lot_received",
        {
            "lot_id": lot["id"],
            "shipment_id": lot["shipment_id"],
            "location_id": lot["location_id"],
            "product_id": lot["product_id"],
            "lot_number": lot["lot_number"],
            "expiration_date": datetime.fromisoformat(lot["expiration_date"]).date(),
            "doses": lot["doses_received"],
            "doses_on_hand": lot["doses_on_hand"],
        },
        correlation_id=correlation_id,
    )
    return to_wire(event)


@pytest.fixture
def make_lot_received():
    return lot_received_body


# -- RabbitMQ (container tests only) --------------------------------------------------------------
amqp_uri, container_config = container_fixtures("administration")
