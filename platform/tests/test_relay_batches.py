"""The relay publishes a claimed batch back to back and awaits its confirms together: each row
still gets its own outcome (confirmed, nacked, unroutable, or unanswered when the connection is
lost mid-batch)."""

import contextlib
import json
import socket
import struct
import threading
import uuid
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from cvms_platform.relay import CONNECTION_ERRORS, OutboxRelay
from cvms_platform.tables import outbox
from cvms_platform.timeutil import as_utc, utcnow

from .conftest import commit_event, inventory_adjusted_payload, outbox_row


def discrepancy_payload():
    return {
        "discrepancy_id": str(uuid.uuid4()),
        "location_id": "clinic-1",
        "lot_id": str(uuid.uuid4()),
        "reason": "no_stock",
        "source_event_id": str(uuid.uuid4()),
    }


@pytest.fixture
def make_relay(sqlite_engine, amqp_uri):
    relays = []

    def make(uri=None, **kwargs):
        relays.append(OutboxRelay("inventory", sqlite_engine, uri or amqp_uri, **kwargs))
        return relays[-1]

    yield make
    for relay in relays:
        relay.stopping.set()
        relay.close()


def published(outcome: str) -> float:
    labels = {"service": "inventory", "outcome": outcome}
    return REGISTRY.get_sample_value("cvms_outbox_published_total", labels) or 0.0


def drain(broker, queue: str) -> list[str]:
    ids = []
    while (message := broker.get(queue)) is not None:
        ids.append(json.loads(message[2])["id"])
    return ids


def test_a_batch_is_published_whole_before_its_confirms_are_awaited(
    sqlite_engine, broker, make_relay, monkeypatch
):
    queue = broker.bind_queue("inventory", "lot_received")
    events = [commit_event(sqlite_engine) for _ in range(5)]
    relay = make_relay()
    steps = []
    real_publish, real_settle = relay._publish, relay.publisher.settle

    def publish(body):
        steps.append("publish")
        real_publish(body)

    def settle():
        steps.append("settle")
        return real_settle()

    monkeypatch.setattr(relay, "_publish", publish)
    monkeypatch.setattr(relay.publisher, "settle", settle)

    assert relay.relay_once() == 5

    assert steps == ["publish"] * 5 + ["settle"]
    assert drain(broker, queue) == [e.id for e in events]
    assert all(outbox_row(sqlite_engine, e.id).sent_at is not None for e in events)


def test_a_mixed_batch_gives_each_row_its_own_outcome(sqlite_engine, broker, make_relay):
    lots = broker.bind_queue("inventory", "lot_received")
    # Nothing is bound for inventory_adjusted (a subscriber may not have started yet: retried
    # during the grace) nor for inventory_discrepancy_recorded (nobody subscribes: given up).
    first = commit_event(sqlite_engine)
    waiting = commit_event(sqlite_engine, "inventory_adjusted", inventory_adjusted_payload())
    nobody = commit_event(sqlite_engine, "inventory_discrepancy_recorded", discrepancy_payload())
    last = commit_event(sqlite_engine)
    confirmed_before, unroutable_before = published("confirmed"), published("unroutable")
    before = utcnow()

    assert make_relay(unroutable_grace=300).relay_once() == 4

    assert drain(broker, lots) == [first.id, last.id]
    for event in (first, last):
        row = outbox_row(sqlite_engine, event.id)
        assert (row.attempts, row.last_error, row.unroutable) == (1, None, False)
        assert row.sent_at is not None
    row = outbox_row(sqlite_engine, waiting.id)
    assert (row.sent_at, row.unroutable, row.attempts) == (None, False, 1)
    assert row.last_error == "unroutable: no queue bound yet"
    assert as_utc(row.next_attempt_at) > before
    row = outbox_row(sqlite_engine, nobody.id)
    assert row.sent_at is not None
    assert (row.unroutable, row.attempts, row.last_error) == (True, 0, "no queue bound")
    assert published("confirmed") == confirmed_before + 2
    assert published("unroutable") == unroutable_before + 1


def test_a_nacked_message_is_retried_with_backoff_and_the_rest_of_its_batch_is_sent(
    sqlite_engine, broker, make_relay
):
    # A full queue that rejects new messages makes the broker nack lot_received publishes.
    full = broker.bind_queue(
        "inventory", "lot_received", arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    adjustments = broker.bind_queue("inventory", "inventory_adjusted")
    refused = commit_event(sqlite_engine)
    accepted = commit_event(sqlite_engine, "inventory_adjusted", inventory_adjusted_payload())
    failed_before = published("failed")
    before = utcnow()
    relay = make_relay()

    assert relay.relay_once() == 2

    assert drain(broker, adjustments) == [accepted.id]
    assert outbox_row(sqlite_engine, accepted.id).sent_at is not None
    row = outbox_row(sqlite_engine, refused.id)
    assert (row.sent_at, row.attempts, row.last_error) == (None, 1, "broker nacked the publish")
    assert as_utc(row.next_attempt_at) > before
    assert published("failed") == failed_before + 1
    assert relay.relay_once() == 0  # backing off

    # Once the queue takes messages again and the backoff has passed, it goes.
    broker.channel.queue_delete(full)
    lots = broker.bind_queue("inventory", "lot_received")
    with sqlite_engine.begin() as db:
        db.execute(update(outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert relay.relay_once() == 1
    assert drain(broker, lots) == [refused.id]
    row = outbox_row(sqlite_engine, refused.id)
    assert (row.attempts, row.last_error) == (2, None)
    assert row.sent_at is not None


class CuttingProxy:
    """A TCP proxy to the broker whose first connection is lost at a known point of a batch: it
    passes that connection's first `confirmed` publishes to the broker, holds back the rest, and
    cuts the connection as soon as the broker has acknowledged those. Later connections pass."""

    def __init__(self, amqp_uri: str, confirmed: int | None):
        parts = urlsplit(amqp_uri)
        self.broker = (parts.hostname, parts.port or 5672)
        self.confirmed = confirmed
        self.listener = socket.create_server(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        self.uri = urlunsplit(parts._replace(netloc=f"guest:guest@127.0.0.1:{port}"))
        self.connections = 0
        self.closing = False
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def drop(self) -> None:
        """End every connection so far, as a broker restart would."""
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop, and wait for every pipe to end: none may outlive the test (its sockets' numbers
        are reused, and eventlet refuses two readers of one)."""
        self.closing = True
        socket.create_connection(self.listener.getsockname()).close()  # ends the accept
        self.drop()
        for thread in self.threads:
            thread.join(timeout=10)
        self.listener.close()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if self.closing:
                client.close()
                return
            self.connections += 1
            broker = socket.create_connection(self.broker)
            self.sockets += [client, broker]
            if self.connections == 1 and self.confirmed is not None:
                pipes = ((self._up, client, broker), (self._down, broker, client))
            else:
                pipes = ((self._copy, client, broker), (self._copy, broker, client))
            for pipe, source, target in pipes:
                self.threads.append(threading.Thread(target=pipe, args=(source, target)))
                self.threads[-1].start()

    def _copy(self, source, target) -> None:
        with _closing(source, target):
            while data := source.recv(65536):
                target.sendall(data)

    def _up(self, client, broker) -> None:
        with _closing(client, broker), client.makefile("rb") as stream:
            broker.sendall(stream.read(8))  # the protocol header
            publishes = 0
            for frame, method in _frames(stream):
                if method == (60, 40):  # basic.publish
                    publishes += 1
                if publishes <= self.confirmed:
                    broker.sendall(frame)

    def _down(self, broker, client) -> None:
        with _closing(broker, client), broker.makefile("rb") as stream:
            for frame, method in _frames(stream):
                client.sendall(frame)
                if method == (60, 80) and struct.unpack(">Q", frame[11:19])[0] >= self.confirmed:
                    return  # basic.ack of the last message let through: cut


def _frames(stream):
    """(frame, (class id, method id) of a method frame, else None), as they come (AMQP 0-9-1:
    type, channel, size, payload, end octet)."""
    while len(header := stream.read(7)) == 7:
        kind, _channel, size = struct.unpack(">BHI", header)
        frame = header + stream.read(size + 1)
        yield frame, struct.unpack(">HH", frame[7:11]) if kind == 1 else None


@contextlib.contextmanager
def _closing(*ends):
    """Both ends of a pipe closed when it ends, however it ends."""
    try:
        yield
    except (OSError, EOFError):  # EOFError: eventlet's, reading a socket shut down
        pass  # the other pipe, or `drop`, closed the sockets first
    finally:
        for end in ends:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


@pytest.fixture
def cutting_proxy(amqp_uri):
    proxies = []

    def make(confirmed: int | None = None) -> CuttingProxy:
        proxies.append(CuttingProxy(amqp_uri, confirmed))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def test_a_connection_lost_mid_batch_leaves_unconfirmed_rows_due_and_they_go_later(
    sqlite_engine, broker, make_relay, cutting_proxy, poll
):
    queue = broker.bind_queue("inventory", "lot_received")
    events = [commit_event(sqlite_engine) for _ in range(5)]
    proxy = cutting_proxy(confirmed=2)
    relay = make_relay(uri=proxy.uri)

    # The loss is raised (the relay's loop then reconnects), after what was confirmed is marked.
    with pytest.raises(CONNECTION_ERRORS):
        relay.relay_once()

    rows = [outbox_row(sqlite_engine, e.id) for e in events]
    assert [row.sent_at is not None for row in rows] == [True, True, False, False, False]
    # Never answered: not a failed attempt, due at once, untouched.
    assert all((row.attempts, row.last_error) == (0, None) for row in rows[2:])
    assert drain(broker, queue) == [e.id for e in events[:2]]

    # The relay's loop reconnects and sends the rest, once each.
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        poll(lambda: all(outbox_row(sqlite_engine, e.id).sent_at for e in events))
    finally:
        relay.stopping.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    assert proxy.connections == 2
    assert drain(broker, queue) == [e.id for e in events[2:]]


def test_a_connection_closed_while_idle_is_replaced_before_the_next_batch(
    sqlite_engine, broker, make_relay, cutting_proxy
):
    queue = broker.bind_queue("inventory", "lot_received")
    proxy = cutting_proxy()  # passes everything, until dropped
    relay = make_relay(uri=proxy.uri)
    first = commit_event(sqlite_engine)
    assert relay.relay_once() == 1

    proxy.drop()  # e.g. the broker restarted, or closed the idle connection
    later = commit_event(sqlite_engine)

    assert relay.relay_once() == 1  # on a new connection, nothing raised, nothing left
    assert proxy.connections == 2
    assert drain(broker, queue) == [first.id, later.id]
    assert outbox_row(sqlite_engine, later.id).sent_at is not None
