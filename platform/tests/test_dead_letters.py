"""`cvms-dead-letters`: listing leaves letters in place; replay sends them back to their own
queue with a fresh set of attempts, and keeps those that do not say where they came from."""

import json

import pika

from cvms_platform.consumer import (
    ATTEMPT_HEADER,
    DELIVERY_LIMIT,
    dead_letter_queue,
    event_queue_arguments,
)
from cvms_platform.dead_letters import inspect, main, replay

SERVICE = "cvms_test_replay"


def _dead_letter(broker, body: bytes, origin: str | None, reason: str = "attempts") -> None:
    headers = {
        "x-cvms-dead-letter-reason": reason,
        "x-cvms-error": "RuntimeError: cannot apply this lot",
        ATTEMPT_HEADER: 5,
        "nameko.correlation_id": "req-42",
    }
    if origin:
        headers["x-cvms-queue"] = origin
    broker.channel.basic_publish(
        exchange="",
        routing_key=dead_letter_queue(SERVICE),
        body=body,
        properties=pika.BasicProperties(
            content_type="application/json", delivery_mode=2, headers=headers
        ),
    )


def test_list_describes_every_letter_and_leaves_them_in_place(
    broker, amqp_uri, capsys, monkeypatch, poll
):
    dlq = broker.declare_durable_queue(dead_letter_queue(SERVICE))
    _dead_letter(broker, json.dumps({"id": "e-1", "type": "lot_received"}).encode(), "q-origin")
    _dead_letter(broker, b"{not json", "q-origin", reason="undecodable")

    letters = inspect(SERVICE, amqp_uri)

    assert [(x.event_id, x.event_type, x.reason, x.queue) for x in letters] == [
        ("e-1", "lot_received", "attempts", "q-origin"),
        (None, None, "undecodable", "q-origin"),
    ]
    # Left in place (a quorum queue takes back what a closed channel held a moment later).
    poll(lambda: broker.depth(dlq) == 2)
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    main([SERVICE, "list"])
    assert "2 dead letters" in capsys.readouterr().out


def test_replay_returns_letters_to_their_queue_with_fresh_attempts(broker, amqp_uri, poll):
    dlq = broker.declare_durable_queue(dead_letter_queue(SERVICE))
    origin = broker.declare_durable_queue("q-origin-replay")
    body = json.dumps({"id": "e-2", "type": "lot_received"}).encode()
    _dead_letter(broker, body, origin)
    _dead_letter(broker, b"{}", None)  # says nothing of where it came from

    assert replay(SERVICE, amqp_uri) == (1, 1)

    method, properties, replayed = broker.get(origin)
    assert replayed == body
    assert properties.headers == {"nameko.correlation_id": "req-42"}
    assert properties.delivery_mode == 2
    poll(lambda: broker.depth(dlq) == 1)  # the one with no origin stays
    assert broker.get(origin) is None


def test_a_message_whose_consumer_keeps_dying_ends_in_the_dead_letter_queue_with_its_reason(
    broker, amqp_uri, poll
):
    """Event queues are quorum queues with a delivery limit: a message handed out
    DELIVERY_LIMIT + 1 times without an ack (its consumer killed holding it each time) is moved
    by the broker to the service's dead-letter queue; listing names the reason and the queue,
    and replay sends it back there."""
    dlq = broker.declare_durable_queue(dead_letter_queue(SERVICE))
    origin = f"evt-inventory-lot_received--{SERVICE}.on_lot_received"
    broker.channel.queue_declare(origin, durable=True, arguments=event_queue_arguments(SERVICE))
    body = json.dumps({"id": "e-3", "type": "lot_received"}).encode()
    broker.channel.basic_publish(
        "", origin, body, pika.BasicProperties(content_type="application/json", delivery_mode=2)
    )
    handed_out = 0
    while True:
        # A consumer that takes the message and dies (its connection closes without an ack).
        connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        method, _, _ = connection.channel().basic_get(origin, auto_ack=False)
        connection.close()
        if method is None:
            break
        handed_out += 1
        assert handed_out <= DELIVERY_LIMIT + 1
    assert handed_out == DELIVERY_LIMIT + 1
    poll(lambda: broker.depth(dlq) == 1)  # dead-lettering is asynchronous

    [letter] = inspect(SERVICE, amqp_uri)
    assert (letter.event_id, letter.reason, letter.queue) == (
        "e-3",
        "broker:delivery_limit",
        origin,
    )
    assert replay(SERVICE, amqp_uri) == (1, 0)
    _, properties, replayed = broker.get(origin)
    assert replayed == body
    # What the dead-lettering added is gone (a quorum queue adds its own x-delivery-count).
    assert set(properties.headers or {}) <= {"x-delivery-count"}
