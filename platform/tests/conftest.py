"""Fixtures for the platform's tests: a throwaway RabbitMQ vhost, SQLite and PostgreSQL databases
with the outbox and inbox tables, and a way to wait for asynchronous outcomes with a deadline.

nameko 2.14 runs on eventlet, so the process is monkey-patched before anything opens a socket
(as `cvms-service` does); psycopg must then wait with select() so it yields to the hub.
"""

import importlib
import sys


def _unshadow(name: str) -> None:
    """pytest's importlib mode names this file `platform.tests.conftest` and, to import it,
    registers the repository's platform/ folder as the namespace package `platform`, in place of
    the standard library module (pika, among others, needs `platform.release()`). Put it back;
    `platform.tests` stays registered, so pytest never needs to do that again."""
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) is None:
        del sys.modules[name]
        importlib.import_module(name)


_unshadow("platform")

import cvms_platform.green  # noqa: E402, F401 - nameko needs green sockets; patch first

# isort: split

import json  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from datetime import date  # noqa: E402

import eventlet  # noqa: E402
import pika  # noqa: E402
import pytest  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from prometheus_client import REGISTRY  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import Engine, Row  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cvms_platform import tables  # noqa: E402
from cvms_platform.consumer import QUORUM  # noqa: E402
from cvms_platform.contracts import new_event, to_wire  # noqa: E402
from cvms_platform.db import make_engine  # noqa: E402
from cvms_platform.envelope import Event  # noqa: E402
from cvms_platform.outbox import record_event  # noqa: E402
from cvms_platform.testing import rabbitmq_vhost  # noqa: E402

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 5672
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], object], *, timeout: float = 15.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)  # green under the monkey patch: lets the container run


@pytest.fixture
def poll():
    return wait_for


# -- RabbitMQ -------------------------------------------------------------------------------------
@pytest.fixture
def amqp_uri():
    """An AMQP URI on a vhost of this test's own, deleted (with all its queues) afterwards."""
    if not _port_open(BROKER_HOST, BROKER_PORT):
        pytest.skip("RabbitMQ is not available")
    with rabbitmq_vhost("platform", f"amqp://guest:guest@{BROKER_HOST}:{BROKER_PORT}") as uri:
        yield uri


class Broker:
    """A plain pika client on the test vhost, to publish events and inspect queues."""

    def __init__(self, uri: str):
        self.connection = pika.BlockingConnection(pika.URLParameters(uri))
        self.channel = self.connection.channel()

    def declare_events_exchange(self, source: str) -> str:
        exchange = f"{source}.events"
        # The same arguments as the relay and nameko use, or the broker refuses the declare.
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        return exchange

    def bind_queue(self, source: str, event_type: str, *, arguments: dict | None = None) -> str:
        exchange = self.declare_events_exchange(source)
        queue = f"test-{source}-{event_type}-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(queue, exclusive=True, arguments=arguments)
        self.channel.queue_bind(queue, exchange, routing_key=event_type)
        return queue

    def declare_durable_queue(self, name: str) -> str:
        # A dead-letter queue with the arguments the platform declares it with (a quorum
        # queue), or the broker refuses one of the two declarations.
        arguments = QUORUM if name.endswith(".dead-letter") else None
        self.channel.queue_declare(name, durable=True, arguments=arguments)
        return name

    def publish_event(self, body, *, source: str = "inventory", event_type: str | None = None):
        exchange = self.declare_events_exchange(source)
        routing_key = event_type or body["type"]
        self.channel.basic_publish(
            exchange=exchange,
            routing_key=routing_key,
            body=json.dumps(body).encode(),
            properties=pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent,
            ),
        )

    def get(self, queue: str):
        """(method, properties, body) of the next message, or None; acknowledged at once."""
        method, properties, body = self.channel.basic_get(queue, auto_ack=True)
        return None if method is None else (method, properties, body)

    def depth(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def broker(amqp_uri):
    client = Broker(amqp_uri)
    yield client
    client.close()


# -- databases ------------------------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path):
    """An SQLite file with the platform's outbox and inbox tables."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    tables.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url():
    """A PostgreSQL database of this test's own (platform tables created), dropped afterwards."""
    if not _port_open("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not available")
    from sqlalchemy import create_engine, text

    name = f"cvms_platform_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url, pool_size=1)
    tables.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_engine(postgres_url):
    from sqlalchemy import create_engine

    # A lock wait that should never happen fails the test instead of hanging it.
    engine = create_engine(
        postgres_url, pool_size=4, connect_args={"options": "-c lock_timeout=10000"}
    )
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request):
    """The test once on SQLite and once on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)


# -- events and the outbox ------------------------------------------------------------------------
def lot_received_payload(**overrides) -> dict:
    """A lot_received payload its contract accepts: a new lot from a new shipment each time."""
    payload = {
        "lot_id": str(uuid.uuid4()),
        "shipment_id": f"SHIP-{uuid.uuid4().hex[:6]}",
        "location_id": "demo-clinic",
        "product_id": "pfizer-gray-12plus",
        "lot_number": "FK1234",
        "expiration_date": date(2030, 1, 31),
        "doses": 60,
        "doses_on_hand": 60,
    }
    payload.update(overrides)
    return payload


def inventory_adjusted_payload() -> dict:
    """An inventory_adjusted payload: one dose of a new lot wasted."""
    return {
        "ledger_entry_id": str(uuid.uuid4()),
        "location_id": "demo-clinic",
        "lot_id": str(uuid.uuid4()),
        "product_id": "pfizer-gray-12plus",
        "reason": "wasted",
        "delta": -1,
        "doses_on_hand": 59,
    }


def commit_event(
    engine: Engine,
    event_type: str = "lot_received",
    payload: dict | None = None,
    correlation_id: str = "req-1",
) -> Event:
    """Record an event in the outbox in a transaction of its own (a new lot by default)."""
    payload = payload if payload is not None else lot_received_payload()
    with Session(engine) as session, session.begin():
        return record_event(session, event_type, payload, correlation_id=correlation_id)


def outbox_row(engine: Engine, event_id: str) -> Row:
    with engine.connect() as db:
        return db.execute(select(tables.outbox).where(tables.outbox.c.event_id == event_id)).one()


# -- nameko containers ----------------------------------------------------------------------------
def stop_containers(containers: Iterable[ServiceContainer]) -> None:
    """Stop each container gracefully within 15 s, or kill it."""
    for container in containers:
        try:
            with eventlet.Timeout(15):
                container.stop()
        except eventlet.Timeout:
            container.kill()


# -- consumers in real containers -----------------------------------------------------------------
def record_effect(session, event) -> None:
    """The handler's own write, in the inbox's transaction: an event announcing it."""
    record_event(
        session,
        "inventory_adjusted",
        {
            "ledger_entry_id": str(uuid.uuid4()),
            "location_id": event.payload["location_id"],
            "lot_id": str(event.payload["lot_id"]),
            "product_id": event.payload["product_id"],
            "reason": "received",
            "delta": event.payload["doses"],
            "doses_on_hand": event.payload["doses_on_hand"],
        },
        correlation_id=event.correlation_id,
    )


def lot_received(**overrides) -> dict:
    """A lot_received event as it travels (a new lot each time)."""
    payload = lot_received_payload(**overrides)
    return to_wire(new_event("lot_received", payload, correlation_id=f"req-{uuid.uuid4().hex}"))


def consumed(service, outcome, event_type="lot_received") -> float:
    labels = {"service": service, "event_type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("cvms_events_consumed_total", labels) or 0.0


def dead_lettered(service, reason, event_type="lot_received") -> float:
    labels = {"service": service, "event_type": event_type, "reason": reason}
    return REGISTRY.get_sample_value("cvms_events_dead_lettered_total", labels) or 0.0


def drain(broker, queue, into: list) -> int:
    while (message := broker.get(queue)) is not None:
        into.append(message)
    return len(into)


def count(engine, table):
    with engine.connect() as db:
        return db.scalar(select(func.count()).select_from(table))


@pytest.fixture
def run_service(amqp_uri, sqlite_url, sqlite_engine, monkeypatch):
    """Start a service class in a real container on the test vhost and its own SQLite file."""
    monkeypatch.setenv("CVMS_EVENT_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CVMS_EVENT_RETRY_DELAY", "0.01")
    monkeypatch.setenv("CVMS_EVENT_OUTAGE_DELAY", "0.01")
    containers = []

    def run(service_cls):
        monkeypatch.setenv(f"{service_cls.name.upper()}_DATABASE_URL", sqlite_url)
        container = ServiceContainer(
            service_cls, {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
        )
        containers.append(container)
        container.start()  # returns once its queues are declared and consumed
        return container

    yield run
    stop_containers(containers)


def stop(container) -> None:
    """Stop gracefully: running workers (and their retries) finish first."""
    with eventlet.Timeout(15):
        container.stop()
