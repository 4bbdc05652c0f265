"""Consuming events in batches: what the queue holds, applied in one transaction.

A consumer of a busy event (a dose recorded, hundreds a second on a record day) pays per
message for a worker, a transaction with its inbox row and commit, and an ack. `consumes_batch`
takes up to CVMS_EVENT_BATCH_SIZE messages, or what arrived within CVMS_EVENT_BATCH_LINGER_MS of
the first, and hands them to one worker: one transaction that claims every event's inbox row in
one statement and applies only the new ones, then one ack per message.

Nothing of `consumes`' guarantees is given up. A batch that fails as a whole (an event breaks its
contract, the handler raises, the database is down) is rolled back and its messages go through
the one-at-a-time path, each in a worker and transaction of its own: a poison message is retried
or dead-lettered alone while the others apply, and an outage defers each without spending its
attempts. A message is acknowledged only once its effect is committed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import eventlet
from nameko.exceptions import ContainerBeingKilled

from cvms_platform import config, contracts, inbox
from cvms_platform.consumer import ReliableEventHandler
from cvms_platform.metrics import EVENT_BATCH_SIZE, EVENTS_CONSUMED

log = logging.getLogger(__name__)


class BatchingEventHandler(ReliableEventHandler):
    """The entrypoint of `consumes_batch`: the service method is called with a list of bodies,
    a batch, or a list of one when a failed batch is applied message by message."""

    def setup(self) -> None:
        super().setup()
        # No more than the broker hands this consumer unacknowledged (its prefetch).
        self.batch_size = max(
            1,
            min(
                config.int_setting("CVMS_EVENT_BATCH_SIZE", 50),
                self.queue_consumer.prefetch_count,
            ),
        )
        self.linger_s = config.float_setting("CVMS_EVENT_BATCH_LINGER_MS", 5.0) / 1000
        self._pending: list = []
        self._flush_timer = None

    # Called by the queue consumer's thread for each message, in the order received.
    def handle_message(self, body, message) -> None:
        self._pending.append((body, message))
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif self._flush_timer is None:
            self._flush_timer = eventlet.spawn_after(self.linger_s, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        bodies = [body for body, _ in batch]
        messages = [message for _, message in batch]
        EVENT_BATCH_SIZE.labels(self.container.service_name, self.event_type).observe(len(batch))
        try:
            self.container.spawn_worker(
                self,
                (bodies,),
                {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=functools.partial(self._batch_handled, messages),
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def _batch_handled(self, messages: list, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            for message in messages:
                self.queue_consumer.ack_message(message)
        elif len(messages) == 1:
            self.handle_message_processed(messages[0], result, exc_info)
        else:
            log.warning(
                "a batch of %d %s events failed (%s); applying them one at a time",
                len(messages),
                self.event_type,
                exc_info[1],
            )
            # Not from this worker's own thread: it holds a worker slot until it returns.
            eventlet.spawn_n(self._one_at_a_time, messages)
        return result, exc_info

    def _one_at_a_time(self, messages: list) -> None:
        for message in messages:
            try:
                self.container.spawn_worker(
                    self,
                    ([message.payload],),
                    {},
                    context_data=self.unpack_message_headers(message),
                    handle_result=functools.partial(self.handle_result, message),
                )
            except ContainerBeingKilled:
                self.queue_consumer.requeue_message(message)


def consumes_batch(source: str, event_type: str, *, db_attr: str = "db") -> Callable:
    """Declare a service method as the idempotent consumer of `source`'s `event_type`, in
    batches: it is called as `method(self, session, events)` with the batch's events not
    applied before (in the order received; a redelivered one is left out), inside the one
    transaction that also records every event id in the inbox."""

    def decorator(method: Callable) -> Callable:
        consumer = method.__qualname__

        @functools.wraps(method)
        def handle(self, bodies: list) -> None:
            # The entrypoint hands over a list; a test or a tool may hand over one body.
            if not isinstance(bodies, list):
                bodies = [bodies]
            events = [contracts.parse(b, source=source, event_type=event_type) for b in bodies]
            with getattr(self, db_attr).transaction() as session:
                claimed = inbox.claim_many(session, [event.id for event in events], consumer)
                new, seen = [], set()
                for event in events:
                    if event.id in claimed and event.id not in seen:
                        seen.add(event.id)
                        new.append(event)
                if new:
                    method(self, session, new)
            counted = EVENTS_CONSUMED.labels(self.name, event_type, "applied")
            counted.inc(len(new))
            if len(events) > len(new):
                EVENTS_CONSUMED.labels(self.name, event_type, "duplicate").inc(
                    len(events) - len(new)
                )

        return BatchingEventHandler.decorator(source, event_type)(handle)

    return decorator
