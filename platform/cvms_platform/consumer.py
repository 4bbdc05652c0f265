"""Consuming events: contract check, inbox dedup in the effect's transaction, bounded retries, DLQ.

nameko's own event handler acks a message whose handler failed, losing it. This one retries a
failed message a bounded number of times (republishing it with an attempt count, then acking the
original) and moves it to the service's dead-letter queue when it breaks its contract or keeps
failing. The consumer keeps going either way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import eventlet
from kombu import Producer, Queue
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from cvms_platform import config, contracts, inbox
from cvms_platform.errors import ContractViolation
from cvms_platform.metrics import DEAD_LETTERED, EVENTS_CONSUMED

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-cvms-attempt"

# Every event queue and dead-letter queue is a quorum queue: durable, replicated on every node of
# a RabbitMQ cluster (on one node, still written to its log before a publish is confirmed).
# RPC queues and reply queues stay classic: an RPC lost with a node is answered 503 and retried.
QUORUM = {"x-queue-type": "quorum"}
# A message the broker has handed out this many times without an ack (its consumer died holding
# it, over and over) goes to the dead-letter queue, with x-death saying why, instead of being
# handed out again for ever. The consumer's own retries republish (they do not count here).
# Fixed, not a setting: every process must declare a queue with the same arguments.
DELIVERY_LIMIT = 20


def dead_letter_queue(service: str) -> str:
    return f"{service}.dead-letter"


def event_queue_arguments(service: str) -> dict:
    """The arguments of `service`'s event queues (nameko's `evt-…` queues)."""
    return {
        **QUORUM,
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue(service),
        # At-least-once: the broker moves a dead letter only once the dead-letter queue has it
        # (RabbitMQ 3.10+; it needs reject-publish, which changes nothing without a length limit).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def dead_letter_queue_of(service: str, **kwargs) -> Queue:
    """`service`'s dead-letter queue. No delivery limit: listing its letters hands them out."""
    return Queue(
        dead_letter_queue(service),
        durable=True,
        auto_delete=False,
        queue_arguments=dict(QUORUM),
        **kwargs,
    )


def is_outage(error: BaseException) -> bool:
    """A failure of what the handler depends on (its database unreachable), not of the event."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class PoisonSafeQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that a message whose body cannot be decoded (not JSON,
    or a content type we do not accept) goes to the dead-letter queue; nameko's own would
    raise inside its consumer loop and take the service's event consumption down with it."""

    def get_consumers(self, consumer_cls, channel):
        # The dead-letter queue exists from the start (after every reconnection too): the
        # broker's own dead-lettering (DELIVERY_LIMIT) needs somewhere to put a letter.
        dead_letter_queue_of(self.container.service_name, channel=channel).declare()
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = functools.partial(self._dead_letter, provider, channel)
        return consumers

    def _dead_letter(self, provider, channel, message, error: Exception) -> None:
        service = self.container.service_name
        queue = dead_letter_queue_of(service, channel=channel)
        queue.declare()
        Producer(channel).publish(
            message.body,
            exchange="",
            routing_key=queue.name,
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            delivery_mode=2,
            headers={
                **(message.headers or {}),
                "x-cvms-dead-letter-reason": "undecodable",
                "x-cvms-error": f"{type(error).__name__}: {error}"[:1000],
                "x-cvms-queue": provider.queue.name,
            },
        )
        message.ack()
        log.warning("dead-lettered an undecodable message from %s: %s", provider.queue.name, error)
        event_type = getattr(provider, "event_type", "unknown")
        DEAD_LETTERED.labels(service, event_type, "undecodable").inc()
        EVENTS_CONSUMED.labels(service, event_type, "dead_lettered").inc()


class ReliableEventHandler(EventHandler):
    queue_consumer = PoisonSafeQueueConsumer()

    def setup(self) -> None:
        super().setup()
        service = self.container.service_name
        # nameko's queue, as a quorum queue (it is consumed only once the container starts).
        self.queue = Queue(
            self.queue.name,
            exchange=self.queue.exchange,
            routing_key=self.queue.routing_key,
            durable=True,
            auto_delete=False,
            exclusive=False,
            queue_arguments=event_queue_arguments(service),
        )
        self.max_attempts = config.int_setting("CVMS_EVENT_MAX_ATTEMPTS", 5)
        self.retry_delay = config.float_setting("CVMS_EVENT_RETRY_DELAY", 0.2)
        self.outage_delay = config.float_setting("CVMS_EVENT_OUTAGE_DELAY", 5.0)
        self.dead_letters = dead_letter_queue_of(service)
        self.publisher = Publisher(self.container.config[AMQP_URI_CONFIG_KEY])

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        try:
            if exc_info is not None:
                self._after_failure(message, exc_info[1])
        except Exception:
            log.exception("could not retry or dead-letter %s; returning it to the queue", self)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _after_failure(self, message, error: BaseException) -> None:
        service = self.container.service_name
        if isinstance(error, ContractViolation):
            self._dead_letter(message, "contract", error)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        if is_outage(error):
            # Not the event's fault: keep it, without spending its attempts, until the service's
            # database answers again. An outage must not turn good events into dead letters.
            eventlet.sleep(self.outage_delay)
            self._requeue(message, attempt)
            EVENTS_CONSUMED.labels(service, self.event_type, "deferred").inc()
            return
        if attempt >= self.max_attempts:
            self._dead_letter(message, "attempts", error)
            return
        # Back off inside this worker only; other workers keep consuming meanwhile.
        eventlet.sleep(self.retry_delay * 2 ** (attempt - 1))
        self._requeue(message, attempt + 1)
        EVENTS_CONSUMED.labels(service, self.event_type, "retried").inc()

    def _requeue(self, message, attempt: int) -> None:
        """Back to the end of this handler's own queue, carrying its attempt count."""
        self.publisher.publish(
            message.payload,
            exchange="",
            routing_key=self.queue.name,
            headers={**(message.headers or {}), ATTEMPT_HEADER: attempt},
        )

    def _dead_letter(self, message, reason: str, error: BaseException) -> None:
        service = self.container.service_name
        self.publisher.publish(
            message.payload,
            exchange="",
            routing_key=self.dead_letters.name,
            declare=[self.dead_letters],
            headers={
                **(message.headers or {}),
                "x-cvms-dead-letter-reason": reason,
                "x-cvms-error": f"{type(error).__name__}: {error}"[:1000],
                "x-cvms-queue": self.queue.name,
                "x-cvms-routing-key": self.event_type,
            },
        )
        log.warning("dead-lettered %s event (%s): %s", self.event_type, reason, error)
        DEAD_LETTERED.labels(service, self.event_type, reason).inc()
        EVENTS_CONSUMED.labels(service, self.event_type, "dead_lettered").inc()


def consumes(source: str, event_type: str, *, db_attr: str = "db") -> Callable:
    """Declare a service method as the idempotent consumer of `source`'s `event_type`.

    The method is called as `method(self, session, event)` inside one transaction that also
    records the event id in the inbox; a redelivered event is acknowledged and changes nothing.
    """

    def decorator(method: Callable) -> Callable:
        consumer = method.__qualname__

        @functools.wraps(method)
        def handle(self, body):
            event = contracts.parse(body, source=source, event_type=event_type)
            with getattr(self, db_attr).transaction() as session:
                applied = inbox.claim(session, event.id, consumer)
                if applied:
                    method(self, session, event)
            outcome = "applied" if applied else "duplicate"
            EVENTS_CONSUMED.labels(self.name, event_type, outcome).inc()

        return ReliableEventHandler.decorator(source, event_type)(handle)

    return decorator
