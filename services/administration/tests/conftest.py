"""Administration unit-test fixtures: a freshly migrated SQLite database per test, the service
built with nameko's `worker_factory` on top of it (its `inventory` RPC proxy is a MagicMock), and
(for the few container tests) a RabbitMQ vhost of the test module's own."""

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

from administration.service import AdministrationService  # noqa: E402
from cvms_platform.contracts import new_event, to_wire  # noqa: E402
from cvms_platform.db import DatabaseAccess, make_engine  # noqa: E402
from cvms_platform.migrate import upgrade  # noqa: E402
from cvms_platform.tables import outbox  # noqa: E402


# -- database and service -------------------------------------------------------------------------
@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'administration.db'}"
    upgrade("administration", url=url)
    return url


@pytest.fixture
def db(database_url) -> Iterator[DatabaseAccess]:
    engine = make_engine(database_url)
    access = DatabaseAccess(engine, sessionmaker(bind=engine, expire_on_commit=False))
    yield access
    access.close()
    engine.dispose()


@pytest.fixture
def service(db) -> AdministrationService:
    """The service with a real database; `service.inventory` is a MagicMock RPC proxy."""
    return worker_factory(AdministrationService, db=db, correlation_id="corr-test")


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


@pytest.fixture
def recipient(service) -> dict:
    return service.register_recipient(
        {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}
    )


def dose(recipient: dict, lot: dict, **overrides) -> dict:
    """A record_administration request: a dose given an hour ago, under a new record id."""
    return {
        "id": str(uuid.uuid4()),
        "recipient_id": recipient["id"],
        "location_id": lot["location_id"],
        "lot_id": lot["id"],
        "administered_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
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
def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def amqp_uri() -> Iterator[str]:
    """A RabbitMQ vhost for this test module alone, deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available")
    vhost = f"cvms-test-administration-{uuid.uuid4().hex[:10]}"
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
    monkeypatch.setenv("ADMINISTRATION_DATABASE_URL", database_url)
    return {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "serializer": "json"}
