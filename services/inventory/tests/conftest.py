"""Inventory unit-test fixtures: a freshly migrated SQLite database per test, the service built
with nameko's `worker_factory` on top of it, and (for the few container tests) a RabbitMQ vhost
of the test module's own."""

# nameko's containers need green sockets, as under `cvms-service` (nameko recommends doing this
# in conftest.py when pytest is run directly); it must happen before anything opens a socket,
# and psycopg, if a test session uses it, must then wait with select() to yield to the hub.
import os
import warnings

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # as cvms_platform does
import eventlet  # noqa: E402

eventlet.monkey_patch()

import shutil  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import pytest  # noqa: E402
from nameko.testing.services import worker_factory  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from cvms_platform.contracts import new_event, to_wire  # noqa: E402
from cvms_platform.db import DatabaseAccess, make_engine  # noqa: E402
from cvms_platform.migrate import upgrade  # noqa: E402
from cvms_platform.tables import outbox  # noqa: E402
from inventory.service import InventoryService  # noqa: E402

LOCATION = "clinic-1"
GRAY_CAP = "pfizer-gray-12plus"


# -- database and service -------------------------------------------------------------------------
@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    upgrade("inventory", url=url)
    return url


@pytest.fixture
def db(database_url) -> Iterator[DatabaseAccess]:
    engine = make_engine(database_url)
    access = DatabaseAccess(engine, sessionmaker(bind=engine, expire_on_commit=False))
    yield access
    access.close()
    engine.dispose()


@pytest.fixture
def service(db) -> InventoryService:
    return worker_factory(InventoryService, db=db, correlation_id="corr-test")


class Reader:
    """Looks at the database the way a test should: in a session of its own, after closing the
    service's session as nameko's worker teardown would (SQLite has a single connection)."""

    def __init__(self, db: DatabaseAccess):
        self.db = db

    def all(self, statement) -> list:
        self.db.close()
        with Session(self.db.engine) as session:
            return list(session.scalars(statement).all())

    def count(self, model) -> int:
        self.db.close()
        with Session(self.db.engine) as session:
            return session.scalar(select(func.count()).select_from(model))

    def events(self, event_type: str | None = None) -> list[dict]:
        """Wire bodies of the outbox rows, oldest first."""
        query = select(outbox.c.body).order_by(outbox.c.seq)
        if event_type is not None:
            query = query.where(outbox.c.event_type == event_type)
        return self.all(query)


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
def lot(service) -> dict:
    """A lot of two doses received at LOCATION."""
    return service.receive_lot(LOCATION, shipment())["lot"]


def dose_body(lot: dict, *, location_id: str | None = None, correlation_id="corr-dose") -> dict:
    """The wire body administration's relay publishes for one dose given from `lot`."""
    event = new_event(
        "dose_administered",
        {
            "administration_id": str(uuid.uuid4()),
            "recipient_id": str(uuid.uuid4()),
            "location_id": location_id or lot["location_id"],
            "lot_id": lot["id"],
            "product_id": lot["product_id"],
            "lot_number": lot["lot_number"],
            "dose_number": 1,
            "administered_at": datetime.now(UTC),
        },
        correlation_id=correlation_id,
    )
    return to_wire(event)


@pytest.fixture
def make_dose():
    return dose_body


# -- RabbitMQ (container tests only) --------------------------------------------------------------
def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def amqp_uri() -> Iterator[str]:
    """A RabbitMQ vhost for this test module alone, deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available")
    vhost = f"cvms-test-inventory-{uuid.uuid4().hex[:10]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot create a RabbitMQ vhost: {exc}")
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def container_config(amqp_uri, database_url, monkeypatch) -> dict:
    # The Database provider chooses its URL by service name when the container starts.
    monkeypatch.setenv("INVENTORY_DATABASE_URL", database_url)
    return {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "serializer": "json"}
