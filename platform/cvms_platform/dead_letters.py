"""`cvms-dead-letters SERVICE list|replay`: look at a service's dead letters, and once the cause
is fixed, send them back to the queues they came from.

A replayed message starts again with a full set of attempts. Consumers are idempotent (the
inbox), so replaying an event that was in fact applied changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import pika

from cvms_platform import config
from cvms_platform.consumer import ATTEMPT_HEADER, QUORUM, dead_letter_queue

# Headers the consumer (or the broker) added when it gave up; a replayed message leaves them
# behind.
DEAD_LETTER_HEADERS = (
    ATTEMPT_HEADER,
    "x-cvms-dead-letter-reason",
    "x-cvms-error",
    "x-cvms-queue",
    "x-cvms-routing-key",
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


def _broker_death(headers: dict) -> dict:
    """What the broker said when it dead-lettered the message itself (a queue's delivery limit:
    its consumer kept dying holding it): x-death's newest entry."""
    deaths = headers.get("x-death") or []
    return deaths[0] if deaths and isinstance(deaths[0], dict) else {}


def _reason(headers: dict) -> str:
    if "x-cvms-dead-letter-reason" in headers:
        return str(headers["x-cvms-dead-letter-reason"])
    death = _broker_death(headers)
    return f"broker:{death['reason']}" if death.get("reason") else "?"


def _origin(headers: dict) -> str | None:
    return headers.get("x-cvms-queue") or _broker_death(headers).get("queue")


@dataclass
class DeadLetter:
    reason: str
    error: str
    queue: str | None
    event_id: str | None
    event_type: str | None


def _describe(properties, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    return DeadLetter(
        reason=_reason(headers),
        error=str(headers.get("x-cvms-error", "")),
        queue=_origin(headers),
        event_id=envelope.get("id"),
        event_type=envelope.get("type"),
    )


def _channel(amqp_uri: str):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def inspect(service: str, amqp_uri: str) -> list[DeadLetter]:
    """Every dead letter of `service`, left in place (read, then returned to the queue)."""
    connection, channel = _channel(amqp_uri)
    try:
        queue = dead_letter_queue(service)
        channel.queue_declare(queue, durable=True, arguments=QUORUM)
        letters = []
        # Until the queue has nothing more to hand out: what this channel holds unacked is not
        # handed out to it again (a depth read first may lag behind a quorum queue's returns).
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            letters.append(_describe(properties, body))
        # Closing without acks returns every message to the queue, in order.
        return letters
    finally:
        connection.close()


def replay(service: str, amqp_uri: str, *, limit: int | None = None) -> tuple[int, int]:
    """Send dead letters back to their own queues; returns (replayed, kept). A letter that does
    not say where it came from is kept in the dead-letter queue."""
    connection, channel = _channel(amqp_uri)
    replayed = kept = 0
    try:
        queue = dead_letter_queue(service)
        channel.queue_declare(queue, durable=True, arguments=QUORUM)
        while limit is None or replayed + kept < limit:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            origin = _origin(properties.headers or {})
            if not origin:
                kept += 1
                continue  # unacked: back to the dead-letter queue when the connection closes
            headers = {
                k: v for k, v in (properties.headers or {}).items() if k not in DEAD_LETTER_HEADERS
            }
            channel.basic_publish(
                exchange="",
                routing_key=origin,
                body=body,
                properties=pika.BasicProperties(
                    content_type=properties.content_type,
                    content_encoding=properties.content_encoding,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=properties.message_id,
                    headers=headers,
                ),
                mandatory=True,
            )
            channel.basic_ack(method.delivery_tag)  # only once the broker holds the copy
            replayed += 1
        return replayed, kept
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Inspect or replay a service's dead letters.")
    parser.add_argument("service", help="e.g. inventory")
    parser.add_argument("action", choices=("list", "replay"))
    parser.add_argument("--limit", type=int, help="replay at most this many")
    args = parser.parse_args(argv)
    uri = config.amqp_uri()
    if args.action == "list":
        letters = inspect(args.service, uri)
        print(f"{len(letters)} dead letters in {dead_letter_queue(args.service)}")
        for letter in letters:
            print(
                f"- {letter.event_type or '?'} {letter.event_id or '(undecodable)'} "
                f"[{letter.reason}] from {letter.queue or '?'}: {letter.error}"
            )
        return
    replayed, kept = replay(args.service, uri, limit=args.limit)
    print(f"replayed {replayed}; kept {kept} that do not say which queue they came from")
    sys.exit(0)
