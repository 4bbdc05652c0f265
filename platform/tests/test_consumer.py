"""`consumes` in a real nameko container against a real RabbitMQ (a vhost of each test's own):
contract checks, inbox deduplication, bounded retries and dead-lettering."""

import json
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cvms_platform import consumer as consumer_module
from cvms_platform.consumer import ATTEMPT_HEADER, consumes, dead_letter_queue
from cvms_platform.db import Database, make_engine
from cvms_platform.outbox import record_event
from cvms_platform.relay import OutboxRelay
from cvms_platform.tables import inbox, outbox

from .conftest import (
    consumed,
    count,
    dead_lettered,
    drain,
    lot_received,
    record_effect,
    stop,
)

CALLS: dict[str, list] = defaultdict(list)


class AlwaysFails:
    name = "cvms_test_always_fails"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event.id)
        record_effect(session, event)  # rolled back with the failure
        raise RuntimeError("cannot apply this lot")


class Applies:
    name = "cvms_test_applies"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event)
        record_effect(session, event)


class FailsOnce:
    name = "cvms_test_fails_once"
    db = Database()

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event):
        CALLS[self.name].append(event.id)
        record_effect(session, event)
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
        record_effect(session, event)


@pytest.fixture(autouse=True)
def no_calls_yet():
    CALLS.clear()


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
