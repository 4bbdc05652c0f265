"""`cvms-dead-letters`: listing leaves letters in place; replay sends them back to their own
queue with a fresh set of attempts, and keeps those that do not say where they came from."""

import json

import pika

from cvms_platform.consumer import ATTEMPT_HEADER, dead_letter_queue
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
    broker, amqp_uri, capsys, monkeypatch
):
    dlq = broker.declare_durable_queue(dead_letter_queue(SERVICE))
    _dead_letter(broker, json.dumps({"id": "e-1", "type": "lot_received"}).encode(), "q-origin")
    _dead_letter(broker, b"{not json", "q-origin", reason="undecodable")

    letters = inspect(SERVICE, amqp_uri)

    assert [(x.event_id, x.event_type, x.reason, x.queue) for x in letters] == [
        ("e-1", "lot_received", "attempts", "q-origin"),
        (None, None, "undecodable", "q-origin"),
    ]
    assert broker.depth(dlq) == 2
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    main([SERVICE, "list"])
    assert "2 dead letters" in capsys.readouterr().out


def test_replay_returns_letters_to_their_queue_with_fresh_attempts(broker, amqp_uri):
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
    assert broker.depth(dlq) == 1  # the one with no origin stays
    assert broker.get(origin) is None
