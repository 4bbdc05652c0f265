"""Help-desk unit-test fixtures: a freshly migrated SQLite database per test, the service built
with nameko's `worker_factory` on it, and a clock the test moves."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from cvms_platform.testing import Clock, Reader, database_fixtures
from helpdesk.business_hours import Calendar
from helpdesk.service import HelpdeskService

# A Tuesday, 10:00 in New York (EST).
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
ANA = {"id": "requester-ana", "role": "requester"}
BEN = {"id": "requester-ben", "role": "requester"}
AGENT = {"id": "agent-1", "role": "helpdesk"}
ADMIN = {"id": "admin-1", "role": "state_admin"}

service_db, database_url, db = database_fixtures("helpdesk")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def service(db, clock) -> HelpdeskService:
    service = worker_factory(HelpdeskService, db=db, correlation_id="corr-test")
    service.now = clock
    service.calendar = lambda: Calendar()
    return service


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


def form(**overrides) -> dict:
    return {
        "requester_type": "vaccine_provider",
        "topic": "inventory_and_ordering",
        "organization_id": "demo-org",
        "location_id": "demo-clinic",
        "summary": "Shipment arrived warm",
        "description": "The data logger shows 12 C for an hour.",
        "language": "en",
        "contact_channel": "email",
        "priority": "normal",
        **overrides,
    }
