"""`consumes` in a real nameko container against a real RabbitMQ (a vhost of each test's own):
contract checks, inbox deduplication, bounded retries and dead-lettering."""

import json
import uuid
from collections import defaultdict
from datetime import date

import eventlet
import pytest
from nameko.containers import ServiceContainer
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cvms_platform import consumer as consumer_module
from cvms_platform.consumer import ATTEMPT_HEADER, consumes, dead_letter_queue
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.db import Database, make_engine
from cvms_platform.outbox import record_event
from cvms_platform.relay import OutboxRelay
from cvms_platform.tables import inbox, outbox

from .conftest import lot_received_payload, stop_containers

CALLS: dict[str, list] = defaultdict(list)


def _record_effect(session, event):
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


class AlwaysFails:
    name = "cvms_test_always_fails"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event.id)
        _record_effect(session, event)  # rolled back with the failure
        raise RuntimeError("cannot apply this lot")


class Applies:
    name = "cvms_test_applies"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event)
        _record_effect(session, event)


class FailsOnce:
    name = "cvms_test_fails_once"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event.id)
        _record_effect(session, event)
        if CALLS[self.name].count(event.id) == 1:
            raise ConnectionError("a passing failure")


class DatabaseDownAWhile:
    """Its database is unreachable for the first five deliveries: more than the attempts."""

    name = "cvms_test_database_down"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event.id)
        if len(CALLS[self.name]) <= 5:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        _record_effect(session, event)


def lot_received(**overrides):
    payload = lot_received_payload(**overrides)
    return to_wire(new_event("lot_received", payload, correlation_id=f"req-{uuid.uuid4().hex}"))


def consumed(service, outcome, event_type="lot_received"):
    labels = {"service": service, "event_type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("cvms_events_consumed_total", labels) or 0.0


def dead_lettered(service, reason, event_type="lot_received"):
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
        CALLS.pop(service_cls.name, None)
        monkeypatch.setenv(f"{service_cls.name.upper()}_DATABASE_URL", sqlite_url)
        container = ServiceContainer(
            service_cls, {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
        )
        containers.append(container)
        container.start()  # returns once its queues are declared and consumed
        return container

    yield run
    stop_containers(containers)


def stop(container):
    """Stop gracefully: running workers (and their retries) finish first."""
    with eventlet.Timeout(15):
        container.stop()


def test_a_failing_handler_is_retried_then_dead_lettered(run_service, broker, sqlite_engine, poll):
    service = AlwaysFails.name
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    retried, dead = consumed(service, "retried"), dead_lettered(service, "attempts")
    container = run_service(AlwaysFails)
    event = lot_received()

    broker.publish_event(event)

    method, properties, body = poll(lambda: broker.get(dlq))
    stop(container)

    assert CALLS[service] == [event["id"]] * 3  # CVMS_EVENT_MAX_ATTEMPTS
    assert json.loads(body) == event
    headers = properties.headers
    assert headers["x-cvms-dead-letter-reason"] == "attempts"
    assert headers[ATTEMPT_HEADER] == 3
    assert headers["x-cvms-queue"] == f"evt-inventory-lot_received--{service}.on_lot_received"
    assert headers["x-cvms-routing-key"] == "lot_received"
    assert headers["x-cvms-error"] == "RuntimeError: cannot apply this lot"
    assert properties.delivery_mode == 2
    assert broker.get(dlq) is None  # dead-lettered once
    # Every failed attempt was rolled back: no inbox claim, no effect.
    assert count(sqlite_engine, inbox) == 0
    assert count(sqlite_engine, outbox) == 0
    assert consumed(service, "retried") == retried + 2
    assert dead_lettered(service, "attempts") == dead + 1


def test_an_unreachable_database_defers_events_without_spending_their_attempts(
    run_service, broker, sqlite_engine, poll
):
    service = DatabaseDownAWhile.name
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    deferred = consumed(service, "deferred")
    run_service(DatabaseDownAWhile)
    event = lot_received()

    broker.publish_event(event)

    poll(lambda: count(sqlite_engine, inbox) == 1)
    assert CALLS[service] == [event["id"]] * 6  # five outages (more than 3 attempts), then applied
    assert count(sqlite_engine, outbox) == 1
    assert consumed(service, "deferred") == deferred + 5
    assert broker.get(dlq) is None


def test_a_passing_failure_is_retried_and_applied_once(run_service, broker, sqlite_engine, poll):
    service = FailsOnce.name
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    applied = consumed(service, "applied")
    container = run_service(FailsOnce)
    event = lot_received()

    broker.publish_event(event)

    poll(lambda: consumed(service, "applied") == applied + 1)
    stop(container)
    assert CALLS[service] == [event["id"]] * 2
    assert count(sqlite_engine, inbox) == 1
    assert count(sqlite_engine, outbox) == 1  # the failed attempt's effect was rolled back
    assert broker.get(dlq) is None


def test_a_contract_breaking_event_is_dead_lettered_at_once_and_consumption_goes_on(
    run_service, broker, sqlite_engine, poll
):
    service = Applies.name
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    dead = dead_lettered(service, "contract")
    container = run_service(Applies)

    bad_payload = lot_received()
    bad_payload["payload"]["doses"] = -5
    unknown_version = {**lot_received(), "version": 9}
    wrong_type = {**lot_received(), "type": "inventory_adjusted"}
    not_an_object = ["lot", "received"]
    good = lot_received()

    for body in (bad_payload, unknown_version, wrong_type, not_an_object):
        broker.publish_event(body, event_type="lot_received")
    broker.publish_event(good)

    letters = []
    poll(lambda: drain(broker, dlq, letters) >= 4)
    poll(lambda: len(CALLS[service]) == 1)
    stop(container)
    drain(broker, dlq, letters)

    assert len(letters) == 4

    assert sorted(json.dumps(json.loads(body), sort_keys=True) for _, _, body in letters) == sorted(
        json.dumps(body, sort_keys=True)
        for body in (bad_payload, unknown_version, wrong_type, not_an_object)
    )
    for _, properties, _ in letters:
        assert properties.headers["x-cvms-dead-letter-reason"] == "contract"
        assert properties.headers["x-cvms-error"].startswith("ContractViolation: ")
        assert ATTEMPT_HEADER not in properties.headers  # never retried
    assert [event.id for event in CALLS[service]] == [good["id"]]
    assert count(sqlite_engine, inbox) == 1
    assert dead_lettered(service, "contract") == dead + 4


def test_the_same_event_twice_is_applied_once(
    run_service, broker, amqp_uri, sqlite_engine, tmp_path, poll
):
    """Delivered twice because the producer's relay published it twice (it died between the
    broker's confirm and marking the row sent): the consumer's inbox applies it once."""
    service = Applies.name
    applied, duplicate = consumed(service, "applied"), consumed(service, "duplicate")
    container = run_service(Applies)

    producer = make_engine(f"sqlite:///{tmp_path / 'producer.db'}")
    try:
        outbox.metadata.create_all(producer)
        payload = lot_received()["payload"]
        payload["expiration_date"] = date.fromisoformat(payload["expiration_date"])
        with Session(producer) as session, session.begin():
            sent = record_event(session, "lot_received", payload, correlation_id="req-twice")
        relay = OutboxRelay("inventory", producer, amqp_uri)
        assert relay.relay_once() == 1
        with producer.begin() as db:
            db.execute(update(outbox).values(sent_at=None))
        assert relay.relay_once() == 1
        relay.close()
    finally:
        producer.dispose()

    poll(lambda: consumed(service, "duplicate") == duplicate + 1)
    poll(lambda: consumed(service, "applied") == applied + 1)
    stop(container)

    assert [event.id for event in CALLS[service]] == [sent.id]
    event = CALLS[service][0]
    assert event.correlation_id == "req-twice"
    assert event.payload["expiration_date"] == payload["expiration_date"]
    with sqlite_engine.connect() as db:
        claims = db.execute(select(inbox.c.event_id, inbox.c.consumer)).all()
        effects = db.execute(select(outbox.c.body)).scalars().all()
    assert claims == [(sent.id, "Applies.on_lot_received")]
    assert len(effects) == 1
    assert effects[0]["correlation_id"] == "req-twice"  # the effect carries the cause's id


@pytest.mark.skipif(
    not hasattr(consumer_module, "PoisonSafeQueueConsumer"),
    reason="undecodable messages are not dead-lettered by this version",
)
def test_an_undecodable_message_is_dead_lettered_and_consumption_goes_on(run_service, broker, poll):
    import pika

    service = Applies.name
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    container = run_service(Applies)
    exchange = broker.declare_events_exchange("inventory")
    broker.channel.basic_publish(
        exchange,
        "lot_received",
        b"{not json",
        pika.BasicProperties(content_type="application/json"),
    )
    good = lot_received()
    broker.publish_event(good)

    _, properties, body = poll(lambda: broker.get(dlq))
    poll(lambda: len(CALLS[service]) == 1)
    stop(container)
    assert body == b"{not json"
    assert properties.headers["x-cvms-dead-letter-reason"] == "undecodable"
    assert CALLS[service][0].id == good["id"]


def test_dead_letter_queue_name():
    assert dead_letter_queue("inventory") == "inventory.dead-letter"
