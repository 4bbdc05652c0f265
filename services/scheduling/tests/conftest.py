"""Scheduling unit-test fixtures: a freshly migrated SQLite database per test, the service built
with nameko's `worker_factory` on it, a clock the test moves, and inventory's catalog faked."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
import uuid
from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from cvms_platform.contracts import new_event, to_wire
from cvms_platform.testing import Clock, Reader, database_fixtures
from scheduling import catalog
from scheduling.service import SchedulingService

LOCATION = "clinic-1"
PFIZER = "pfizer-gray-12plus"
MODERNA = "moderna-red-18plus"
# 2030-03-04 is a Monday; the clinic is in New York (UTC-5 in March before DST).
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DAY = "2030-03-04"


def products() -> list[dict]:
    """What inventory.list_products answers (the fields scheduling reads)."""
    return [
        {
            "id": PFIZER,
            "name": "Pfizer (Gray Cap)",
            "series_doses": 2,
            "min_interval_days": 21,
            "min_age_years": 12,
        },
        {
            "id": MODERNA,
            "name": "Moderna (Red Cap)",
            "series_doses": 2,
            "min_interval_days": 28,
            "min_age_years": 18,
        },
        {
            "id": "janssen-18plus",
            "name": "Janssen",
            "series_doses": 1,
            "min_interval_days": 0,
            "min_age_years": 18,
        },
    ]


service_db, database_url, db = database_fixtures("scheduling")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def service(db, clock) -> SchedulingService:
    catalog.forget()
    worker = worker_factory(SchedulingService, db=db, correlation_id="corr-test")
    worker.inventory.list_products.return_value = products()
    worker.now = clock
    yield worker
    catalog.forget()


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


def settings(**overrides) -> dict:
    return {
        "name": "Clinic One",
        "address": {"line1": "1 Main St", "city": "New York", "state": "NY", "zip": "10001"},
        "phone": "212-555-0100",
        "products": [PFIZER, MODERNA],
        "accepting_appointments": True,
        "published": True,
        **overrides,
    }


def clinic_days(*dates: str, **overrides) -> dict:
    """A create_clinic_days request: each date 9:00-10:00 every 15 minutes, 2 seats a slot,
    Pfizer."""
    return {
        "dates": list(dates),
        "product_id": PFIZER,
        "opens": "09:00",
        "closes": "10:00",
        "every_minutes": 15,
        "capacity": 2,
        **overrides,
    }


@pytest.fixture
def location(service) -> str:
    service.save_location_settings(LOCATION, settings(), "manager")
    return LOCATION


@pytest.fixture
def day(service, location) -> dict:
    """A clinic day 9:00-10:00 every 15 minutes, 2 seats a slot, Pfizer."""
    [created] = service.create_clinic_days(
        location,
        clinic_days(DAY),
        "manager",
    )
    return service.get_clinic_day(location, created["id"])


def person(**overrides) -> dict:
    return {
        "given_name": "Ana",
        "family_name": f"Garcia-{uuid.uuid4().hex[:6]}",
        "birth_date": "1960-02-01",
        "email": "ana@example.org",
        "preferred_language": "es",
        **overrides,
    }


@pytest.fixture
def make_person():
    return person


def event_body(event_type: str, payload: dict, *, occurred_at: datetime | None = None) -> dict:
    event = new_event(event_type, payload, correlation_id="corr-event")
    body = to_wire(event)
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    return body


@pytest.fixture
def make_event():
    return event_body
