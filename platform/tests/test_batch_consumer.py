"""`consumes_batch` in a real nameko container against a real RabbitMQ (a vhost of each test's
own): events applied in batches, each once; a poison message in the middle of a batch goes alone
to the dead-letter queue while the rest apply; a failing event is retried alone."""

import json
import uuid
from collections import defaultdict

from prometheus_client import REGISTRY
from sqlalchemy import select

from cvms_platform.batch_consumer import consumes_batch
from cvms_platform.consumer import ATTEMPT_HEADER, dead_letter_queue
from cvms_platform.db import Database
from cvms_platform.tables import inbox, outbox

from .conftest import consumed, count, dead_lettered, drain, lot_received, record_effect, stop

BATCHES: dict[str, list[list]] = defaultdict(list)


class AppliesInBatches:
    name = "cvms_test_batches"
    db = Database()

    @consumes_batch("inventory", "lot_received")
    def on_lots_received(self, session, events):
        BATCHES[self.name].append(events)
        for event in events:
            record_effect(session, event)


class OneEventFails:
    """Every batch holding the lot numbered FAIL fails; that event fails alone too."""

    name = "cvms_test_batch_one_fails"
    db = Database()
    FAIL = "FAILS-1"

    @consumes_batch("inventory", "lot_received")
    def on_lots_received(self, session, events):
        BATCHES[self.name].append([event.id for event in events])
        for event in events:
            record_effect(session, event)
            if event.payload["lot_number"] == self.FAIL:
                raise RuntimeError("cannot apply this lot")


def batch_sizes(service: str) -> float:
    labels = {"service": service, "event_type": "lot_received"}
    return REGISTRY.get_sample_value("cvms_event_batch_size_count", labels) or 0.0


def applied_lots(engine) -> list[str]:
    """The lots whose events took effect (each effect names its event's lot)."""
    with engine.connect() as db:
        return [body["payload"]["lot_id"] for body in db.scalars(select(outbox.c.body))]


def lots(events) -> list[str]:
    return sorted(event["payload"]["lot_id"] for event in events)


def test_events_waiting_in_the_queue_are_applied_in_batches_each_once(
    run_service, broker, sqlite_engine, poll, monkeypatch
):
    monkeypatch.setenv("CVMS_EVENT_BATCH_LINGER_MS", "200")
    service = AppliesInBatches.name
    BATCHES.pop(service, None)
    applied, duplicate = consumed(service, "applied"), consumed(service, "duplicate")
    container = run_service(AppliesInBatches)
    events = [lot_received() for _ in range(30)]
    for event in events:
        broker.publish_event(event)
    broker.publish_event(events[3])  # delivered twice: applied once

    poll(lambda: consumed(service, "applied") + consumed(service, "duplicate") == applied + 31)
    stop(container)

    handled = [event.id for batch in BATCHES[service] for event in batch]
    assert sorted(handled) == sorted(event["id"] for event in events)
    # Fewer transactions than events: they arrived within the batch's linger.
    assert len(BATCHES[service]) < 30
    assert max(len(batch) for batch in BATCHES[service]) > 1
    assert count(sqlite_engine, inbox) == 30
    assert count(sqlite_engine, outbox) == 30
    assert consumed(service, "duplicate") == duplicate + 1


def test_a_poison_message_in_a_batch_goes_alone_to_the_dead_letter_queue(
    run_service, broker, sqlite_engine, poll, monkeypatch
):
    monkeypatch.setenv("CVMS_EVENT_BATCH_LINGER_MS", "200")
    service = AppliesInBatches.name
    BATCHES.pop(service, None)
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    dead = dead_lettered(service, "contract")
    before = [lot_received() for _ in range(5)]
    poison = lot_received()
    poison["payload"]["doses"] = -5
    after = [lot_received() for _ in range(5)]
    container = run_service(AppliesInBatches)
    for event in (*before, poison, *after):
        broker.publish_event(event)

    letters: list = []
    poll(lambda: drain(broker, dlq, letters) >= 1)
    poll(lambda: count(sqlite_engine, inbox) == 10)
    stop(container)
    drain(broker, dlq, letters)

    [(_, properties, body)] = letters
    assert json.loads(body) == poison
    assert properties.headers["x-cvms-dead-letter-reason"] == "contract"
    assert dead_lettered(service, "contract") == dead + 1
    assert sorted(applied_lots(sqlite_engine)) == lots((*before, *after))


def test_an_event_that_fails_is_retried_alone_while_the_rest_of_its_batch_applies(
    run_service, broker, sqlite_engine, poll, monkeypatch
):
    monkeypatch.setenv("CVMS_EVENT_BATCH_LINGER_MS", "200")
    service = OneEventFails.name
    BATCHES.pop(service, None)
    dlq = broker.declare_durable_queue(dead_letter_queue(service))
    others = [lot_received() for _ in range(8)]
    failing = lot_received(lot_number=OneEventFails.FAIL)
    container = run_service(OneEventFails)
    for event in (*others[:4], failing, *others[4:]):
        broker.publish_event(event)

    _, properties, body = poll(lambda: broker.get(dlq))
    poll(lambda: count(sqlite_engine, inbox) == 8)
    stop(container)

    assert json.loads(body)["id"] == failing["id"]
    assert properties.headers["x-cvms-dead-letter-reason"] == "attempts"
    assert properties.headers[ATTEMPT_HEADER] == 3  # CVMS_EVENT_MAX_ATTEMPTS, alone each time
    assert sorted(applied_lots(sqlite_engine)) == lots(others)
    with sqlite_engine.connect() as db:
        claimed = set(db.scalars(select(inbox.c.event_id)))
    assert failing["id"] not in claimed  # every failed attempt rolled back
    # The failing event was tried alone after its batch failed.
    assert [failing["id"]] in BATCHES[service]
    assert batch_sizes(service) >= 1


def test_batch_ids_are_claimed_once_each(sqlite_engine):
    from sqlalchemy.orm import Session

    from cvms_platform.inbox import claim_many

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    with Session(sqlite_engine) as session, session.begin():
        assert claim_many(session, [first, first], "c") == {first}
    with Session(sqlite_engine) as session, session.begin():
        assert claim_many(session, [first, second], "c") == {second}
        assert claim_many(session, [], "c") == set()
