"""Events the gateway publishes itself: what reaches CVMS at its edge (an SMS reply) and must not
be lost while the service that handles it is away. The gateway keeps no database, hence no
outbox: it publishes with the broker's confirm, mandatory (a bound queue must take the message,
and a service's event queue outlives the service being down), and answers its caller only then.
Anything else is an EventNotAccepted: the caller is answered 503 and sends again."""

from __future__ import annotations

import json
import logging
from contextlib import closing

import pika
import pika.exceptions

from cvms_platform.contracts import to_wire
from cvms_platform.envelope import Event
from cvms_platform.relay import event_exchange, event_properties

log = logging.getLogger(__name__)
SOURCE = "gateway"


class EventNotAccepted(Exception):
    """The broker did not take the event for a consumer's queue (down, nacked, unroutable)."""


class EdgeEvents:
    """`publish(event)`: one connection per event (they are rare: a person's SMS reply)."""

    def __init__(self, amqp_uri: str, *, timeout_s: float = 5.0):
        self.parameters = pika.URLParameters(amqp_uri)
        self.parameters.socket_timeout = timeout_s
        self.parameters.blocked_connection_timeout = timeout_s
        self.parameters.connection_attempts = 1

    def publish(self, event: Event) -> None:
        body = to_wire(event)
        exchange = event_exchange(SOURCE)
        try:
            with closing(pika.BlockingConnection(self.parameters)) as connection:
                channel = connection.channel()
                channel.confirm_delivery()
                channel.exchange_declare(exchange, exchange_type="topic", durable=True)
                channel.basic_publish(
                    exchange,
                    event.type,
                    json.dumps(body).encode(),
                    event_properties(body),
                    mandatory=True,
                )
        except (pika.exceptions.AMQPError, OSError) as error:
            log.warning("%s was not accepted by the broker: %r", event.type, error)
            raise EventNotAccepted(event.type) from error
