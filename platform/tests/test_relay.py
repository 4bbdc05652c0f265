"""The outbox relay against a real RabbitMQ (a vhost of each test's own)."""

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

import pika.exceptions
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from cvms_platform.contracts import has_subscribers, to_wire
from cvms_platform.db import make_engine
from cvms_platform.outbox import record_event
from cvms_platform.relay import OutboxRelay, event_exchange
from cvms_platform.tables import outbox
from cvms_platform.timeutil import as_utc, utcnow

from .conftest import commit_event, inventory_adjusted_payload, lot_received_payload, outbox_row

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1/"


@pytest.fixture
def make_relay(request, sqlite_engine):
    relays = []

    def make(engine=sqlite_engine, uri=None, **kwargs):
        uri = uri or request.getfixturevalue("amqp_uri")  # a vhost only when one is used
        relay = OutboxRelay("inventory", engine, uri, **kwargs)
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.stopping.set()
        relay.close()


def published(service, outcome):
    return (
        REGISTRY.get_sample_value(
            "cvms_outbox_published_total", {"service": service, "outcome": outcome}
        )
        or 0.0
    )


# -- publishing -----------------------------------------------------------------------------------
def test_a_committed_event_is_published_with_confirms_then_marked_sent(
    sqlite_url, sqlite_engine, broker, make_relay, monkeypatch
):
    queue = broker.bind_queue("inventory", "lot_received")
    event = commit_event(sqlite_engine, correlation_id="req-abc")
    relay = make_relay()

    # While the broker is being asked, the row is still pending: it is marked sent only after.
    # (A plain reader: the relay holds the platform engine's one connection and write lock.)
    reader = create_engine(sqlite_url)
    seen_during_publish = []
    real_publish = relay._publish

    def spying_publish(body):
        seen_during_publish.append(outbox_row(reader, event.id).sent_at)
        real_publish(body)

    monkeypatch.setattr(relay, "_publish", spying_publish)
    confirmed_before = published("inventory", "confirmed")

    assert relay.relay_once() == 1

    reader.dispose()
    assert seen_during_publish == [None]
    message = broker.get(queue)
    assert message is not None
    method, properties, body = message
    assert method.exchange == event_exchange("inventory") == "inventory.events"
    assert method.routing_key == "lot_received"
    assert json.loads(body) == to_wire(event)
    assert properties.headers == {"nameko.correlation_id": "req-abc"}
    assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
    assert properties.content_type == "application/json"
    assert properties.message_id == event.id

    row = outbox_row(sqlite_engine, event.id)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None
    assert row.unroutable is False
    assert published("inventory", "confirmed") == confirmed_before + 1

    # Nothing is published twice.
    assert relay.relay_once() == 0
    assert broker.get(queue) is None


def test_events_are_published_in_commit_order_and_in_batches(sqlite_engine, broker, make_relay):
    queue = broker.bind_queue("inventory", "lot_received")
    events = [commit_event(sqlite_engine) for _ in range(5)]
    relay = make_relay(batch_size=2)

    assert [relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    received = []
    while (message := broker.get(queue)) is not None:
        received.append(json.loads(message[2])["id"])
    assert received == [e.id for e in events]


def test_each_event_goes_to_its_source_exchange_by_type(sqlite_engine, broker, make_relay):
    lots = broker.bind_queue("inventory", "lot_received")
    adjustments = broker.bind_queue("inventory", "inventory_adjusted")
    lot = commit_event(sqlite_engine)
    adjustment = commit_event(sqlite_engine, "inventory_adjusted", inventory_adjusted_payload())

    assert make_relay().relay_once() == 2

    assert json.loads(broker.get(lots)[2])["id"] == lot.id
    assert json.loads(broker.get(adjustments)[2])["id"] == adjustment.id
    assert broker.get(lots) is None and broker.get(adjustments) is None


def test_an_uncommitted_event_is_not_published(sqlite_url, sqlite_engine, broker, make_relay):
    queue = broker.bind_queue("inventory", "lot_received")
    writer = make_engine(sqlite_url)
    try:
        session = Session(writer)
        session.begin()
        record_event(session, "lot_received", lot_received_payload(), correlation_id="c")
        session.flush()
        session.rollback()
        session.close()
        assert make_relay().relay_once() == 0
        assert broker.get(queue) is None
    finally:
        writer.dispose()


# -- unroutable and refused publishes -------------------------------------------------------------
def test_an_unroutable_event_stays_pending_then_is_given_up_after_the_grace(
    sqlite_engine, broker, make_relay
):
    event = commit_event(sqlite_engine)  # nobody is bound to inventory.events/lot_received
    relay = make_relay(unroutable_grace=300)
    before = utcnow()

    assert relay.relay_once() == 1

    row = outbox_row(sqlite_engine, event.id)
    assert row.sent_at is None
    assert row.unroutable is False
    assert row.attempts == 1
    assert row.last_error.startswith("unroutable")
    assert as_utc(row.next_attempt_at) > before
    # Backing off: not due again yet.
    assert relay.relay_once() == 0

    # Later (the backoff has passed), and beyond the grace period: recorded as unroutable.
    with sqlite_engine.begin() as db:
        db.execute(update(outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    unroutable_before = published("inventory", "unroutable")
    assert make_relay(unroutable_grace=0).relay_once() == 1

    row = outbox_row(sqlite_engine, event.id)
    assert row.sent_at is not None
    assert row.unroutable is True
    assert row.last_error == "no queue bound"
    assert published("inventory", "unroutable") == unroutable_before + 1
    assert make_relay(unroutable_grace=0).relay_once() == 0


def test_an_unroutable_event_no_contract_subscribes_to_is_not_retried(
    sqlite_engine, broker, make_relay
):
    # The premise: nothing consumes this event type (yet).
    assert not has_subscribers("inventory_discrepancy_recorded", 1)
    event = commit_event(
        sqlite_engine,
        "inventory_discrepancy_recorded",
        {
            "discrepancy_id": str(uuid.uuid4()),
            "location_id": "clinic-1",
            "lot_id": str(uuid.uuid4()),
            "reason": "no_stock",
            "source_event_id": str(uuid.uuid4()),
        },
    )
    unroutable_before = published("inventory", "unroutable")

    assert make_relay(unroutable_grace=300).relay_once() == 1

    row = outbox_row(sqlite_engine, event.id)
    assert row.sent_at is not None
    assert row.unroutable is True
    assert row.attempts == 0
    assert published("inventory", "unroutable") == unroutable_before + 1


def test_unroutable_backoff_grows_with_attempts(sqlite_engine, broker, make_relay):
    event = commit_event(sqlite_engine)
    relay = make_relay()
    delays = []
    for _ in range(3):
        started = utcnow()
        assert relay.relay_once() == 1
        row = outbox_row(sqlite_engine, event.id)
        delays.append((as_utc(row.next_attempt_at) - started).total_seconds())
        with sqlite_engine.begin() as db:
            db.execute(update(outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert outbox_row(sqlite_engine, event.id).attempts == 3
    assert delays[0] < delays[1] < delays[2] <= 31


def test_a_publish_the_broker_refuses_is_retried_later(sqlite_engine, broker, make_relay):
    # A full queue that rejects new messages makes the broker nack the publish.
    broker.bind_queue(
        "inventory",
        "lot_received",
        arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
    )
    event = commit_event(sqlite_engine)
    before = utcnow()

    assert make_relay().relay_once() == 1

    row = outbox_row(sqlite_engine, event.id)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error == "broker nacked the publish"
    assert as_utc(row.next_attempt_at) > before


# -- broker unreachable ---------------------------------------------------------------------------
def test_with_the_broker_down_nothing_is_marked_and_a_later_relay_publishes(
    sqlite_engine, broker, make_relay
):
    event = commit_event(sqlite_engine)
    down = make_relay(uri=DEAD_BROKER)

    with pytest.raises(pika.exceptions.AMQPConnectionError):
        down.relay_once()

    row = outbox_row(sqlite_engine, event.id)
    assert (row.sent_at, row.attempts, row.last_error) == (None, 0, None)

    queue = broker.bind_queue("inventory", "lot_received")
    assert make_relay().relay_once() == 1
    assert json.loads(broker.get(queue)[2])["id"] == event.id
    assert outbox_row(sqlite_engine, event.id).sent_at is not None


def test_run_keeps_relaying_until_stopped(sqlite_engine, broker, make_relay, poll):
    queue = broker.bind_queue("inventory", "lot_received")
    relay = make_relay(idle_interval=0.01)
    relay.service = f"inventory-{uuid.uuid4().hex[:8]}"  # metrics of its own
    labels = {"service": relay.service}
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        events = [commit_event(sqlite_engine) for _ in range(3)]
        poll(lambda: all(outbox_row(sqlite_engine, e.id).sent_at for e in events))
        received = []

        def drained():
            while (message := broker.get(queue)) is not None:
                received.append(json.loads(message[2])["id"])
            return len(received) == 3

        poll(drained)
        assert received == [e.id for e in events]
        # and it reports the (now empty) backlog as it goes
        poll(lambda: REGISTRY.get_sample_value("cvms_outbox_backlog", labels) == 0)
    finally:
        relay.stopping.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_run_survives_an_unreachable_broker(sqlite_engine, make_relay, poll):
    relay = make_relay(uri=DEAD_BROKER)
    attempts = []
    real_relay_once = relay.relay_once

    def counting():
        attempts.append(True)
        return real_relay_once()

    relay.relay_once = counting
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        poll(lambda: len(attempts) >= 2)  # it failed, waited, and tried again
    finally:
        relay.stopping.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_run_survives_an_unreachable_database_and_resumes(
    sqlite_engine, broker, make_relay, poll, tmp_path
):
    """A database outage is waited out; once the database answers, pending events go out."""
    event = commit_event(sqlite_engine)
    broker.bind_queue("inventory", "lot_received")
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'outbox.db'}")
    relay = make_relay(engine=unreachable)
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        poll(lambda: getattr(relay, "outage", None) is not None)
        assert runner.is_alive()
        relay.engine = sqlite_engine  # the database is back
        poll(lambda: outbox_row(sqlite_engine, event.id).sent_at is not None)
        poll(lambda: relay.outage is None)
    finally:
        relay.stopping.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


# -- housekeeping ---------------------------------------------------------------------------------
def test_observe_backlog_reports_pending_count_and_oldest_age(sqlite_engine, make_relay):
    relay = make_relay()
    relay.observe_backlog()
    assert REGISTRY.get_sample_value("cvms_outbox_backlog", {"service": "inventory"}) == 0
    assert (
        REGISTRY.get_sample_value("cvms_outbox_oldest_unsent_age_seconds", {"service": "inventory"})
        == 0
    )

    old, _ = commit_event(sqlite_engine), commit_event(sqlite_engine)
    with sqlite_engine.begin() as db:
        db.execute(
            update(outbox)
            .where(outbox.c.event_id == old.id)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
    relay.observe_backlog()
    assert REGISTRY.get_sample_value("cvms_outbox_backlog", {"service": "inventory"}) == 2
    age = REGISTRY.get_sample_value(
        "cvms_outbox_oldest_unsent_age_seconds", {"service": "inventory"}
    )
    assert 299 < age < 400


def test_purge_sent_drops_only_rows_sent_before_the_retention(sqlite_engine, make_relay):
    sent_long_ago, sent_recently, pending = (commit_event(sqlite_engine) for _ in range(3))
    with sqlite_engine.begin() as db:
        db.execute(
            update(outbox)
            .where(outbox.c.event_id == sent_long_ago.id)
            .values(sent_at=utcnow() - timedelta(days=8))
        )
        db.execute(
            update(outbox)
            .where(outbox.c.event_id == sent_recently.id)
            .values(sent_at=utcnow() - timedelta(days=6))
        )

    assert make_relay(retention=timedelta(days=7)).purge_sent() == 1

    with sqlite_engine.connect() as db:
        left = set(db.scalars(select(outbox.c.event_id)).all())
    assert left == {sent_recently.id, pending.id}


# -- several relays, and a relay that dies after the confirm ---------------------------------------
def test_relays_on_postgresql_skip_rows_another_relay_holds(postgres_engine, broker, make_relay):
    queue = broker.bind_queue("inventory", "lot_received")
    held, free = commit_event(postgres_engine), commit_event(postgres_engine)

    with postgres_engine.connect() as other_relay:
        other_relay.begin()
        other_relay.execute(
            select(outbox.c.seq).where(outbox.c.event_id == held.id).with_for_update()
        )
        # Does not wait for the held row (a lock wait would hit lock_timeout and fail).
        assert make_relay(engine=postgres_engine).relay_once() == 1
        assert json.loads(broker.get(queue)[2])["id"] == free.id
        assert broker.get(queue) is None
        assert outbox_row(postgres_engine, held.id).sent_at is None
        other_relay.rollback()

    assert make_relay(engine=postgres_engine).relay_once() == 1
    assert json.loads(broker.get(queue)[2])["id"] == held.id
    assert outbox_row(postgres_engine, held.id).sent_at is not None


RELAY_ONCE = """
import sys
from cvms_platform.db import make_engine
from cvms_platform.relay import OutboxRelay
OutboxRelay("inventory", make_engine(sys.argv[1]), sys.argv[2]).relay_once()
"""


def test_a_relay_dying_after_the_confirm_publishes_again_on_restart(
    sqlite_url, sqlite_engine, broker, amqp_uri, make_relay
):
    queue = broker.bind_queue("inventory", "lot_received")
    event = commit_event(sqlite_engine)

    # Fault injection: the process exits once the broker confirmed, before marking the row.
    died = subprocess.run(
        [sys.executable, "-c", RELAY_ONCE, sqlite_url, amqp_uri],
        env={**os.environ, "CVMS_RELAY_FAULT": "exit-after-publish"},
        capture_output=True,
        timeout=60,
    )
    assert died.returncode == 17, died.stderr.decode()
    assert json.loads(broker.get(queue)[2])["id"] == event.id
    row = outbox_row(sqlite_engine, event.id)
    assert (row.sent_at, row.attempts) == (None, 0)

    # The restarted relay publishes it again: at-least-once, the inbox deduplicates.
    assert make_relay().relay_once() == 1
    again = broker.get(queue)
    assert again[1].message_id == event.id
    assert outbox_row(sqlite_engine, event.id).sent_at is not None


def test_event_exchange_name():
    assert event_exchange("administration") == "administration.events"


RELAY_MAIN = "from cvms_platform.relay import main; main(['inventory'])"


def test_cvms_relay_runs_until_sigterm(sqlite_url, sqlite_engine, broker, amqp_uri, poll):
    queue = broker.bind_queue("inventory", "lot_received")
    event = commit_event(sqlite_engine)
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": sqlite_url,
        "AMQP_URI": amqp_uri,
        "CVMS_RELAY_IDLE_INTERVAL": "0.01",
    }
    env.pop("CVMS_RELAY_FAULT", None)
    relay = subprocess.Popen(
        [sys.executable, "-c", RELAY_MAIN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        poll(lambda: outbox_row(sqlite_engine, event.id).sent_at is not None, timeout=30)
        assert json.loads(broker.get(queue)[2])["id"] == event.id
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=15) == 0
        assert b"relaying the inventory outbox" in relay.stdout.read()
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait(timeout=15)
        relay.stdout.close()
