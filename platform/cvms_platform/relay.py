"""The outbox relay: publishes committed outbox events with publisher confirms.

A row is marked sent only after the broker confirmed it. If the relay dies between the confirm
and that mark, the event is published again on restart; consumers' inboxes make that harmless.
Failed publishes are retried with backoff. Several relays may run against one PostgreSQL
database: rows are claimed with SKIP LOCKED.

A claimed batch is published back to back and its confirms are awaited together
(`confirms.ConfirmingPublisher`): waiting for each message's own confirm capped a relay near
1,300 messages/s, whatever the batch size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timedelta

import pika
from prometheus_client import start_http_server
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from cvms_platform import config
from cvms_platform.bulk import among
from cvms_platform.confirms import (
    CONFIRMED,
    CONNECTION_ERRORS,
    NACKED,
    RETURNED,
    ConfirmingPublisher,
)
from cvms_platform.contracts import has_subscribers
from cvms_platform.db import make_engine
from cvms_platform.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_LATENCY,
    OUTBOX_PUBLISHED,
)
from cvms_platform.outbox_wakeup import OutboxWakeup
from cvms_platform.tables import outbox
from cvms_platform.timeutil import as_utc, utcnow

log = logging.getLogger("cvms.relay")


def _index_scans_only(db: Connection) -> None:
    """For this transaction, no bitmap scans on PostgreSQL. Every row sent leaves a dead entry
    for its pending version in the outbox's indexes until a vacuum; a plain index scan marks
    the ones it meets as dead so that later scans skip them, a bitmap scan never does. The
    planner chose bitmap scans, and a relay polling a busy outbox then read every row ever
    sent since the last vacuum, on every poll (100,000 a poll at the end of a large import)."""
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("SET LOCAL enable_bitmapscan = off")


def event_exchange(source: str) -> str:
    """The exchange nameko's EventDispatcher would use, so nameko event handlers receive it."""
    return f"{source}.events"


def event_properties(body: dict) -> pika.BasicProperties:
    """The properties every CVMS event is published with (by a relay, or the gateway at its
    edge): JSON, persistent, its id as the message id (publisher confirms are matched by it)
    and its correlation id where nameko's handlers read it."""
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=body["id"],
        headers={"nameko.correlation_id": body["correlation_id"]},
    )


class OutboxRelay:
    def __init__(
        self,
        service: str,
        engine: Engine,
        amqp_uri: str,
        *,
        batch_size: int = 200,
        idle_interval: float = 0.02,
        idle_wait: float = 1.0,
        unroutable_grace: float = 300.0,
        retention: timedelta = timedelta(days=7),
        confirm_timeout: float = 30.0,
    ):
        self.service = service
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        # On PostgreSQL an idle relay sleeps until an outbox commit is announced, and looks for
        # itself (retries coming due) every `idle_wait` seconds; elsewhere it polls every
        # `idle_interval`.
        self.idle_wait = idle_wait
        self.wakeup = (
            OutboxWakeup(engine, poll_interval=idle_interval)
            if OutboxWakeup.supported(engine)
            else None
        )
        self.unroutable_grace = unroutable_grace
        self.retention = retention
        self.stopping = threading.Event()
        self.publisher = ConfirmingPublisher(amqp_uri, timeout=confirm_timeout)
        self._fault = os.environ.get("CVMS_RELAY_FAULT", "")

    # -- broker -------------------------------------------------------------------------------
    def close(self) -> None:
        self.publisher.close()

    def _publish(self, body: dict) -> None:
        """Send one event; the broker's answer is awaited with the rest of its batch."""
        self.publisher.publish(
            event_exchange(body["source"]),
            body["type"],
            json.dumps(body).encode(),
            event_properties(body),
        )

    # -- outbox -------------------------------------------------------------------------------
    def relay_once(self) -> int:
        """Publish one batch of due events; returns how many rows it handled. Rows the broker
        did not answer (the connection lost mid-batch) stay due and untouched; the loss is then
        raised, after the answered rows are marked."""
        lost: Exception | None = None
        with self.engine.begin() as db:
            _index_scans_only(db)
            rows = db.execute(
                select(outbox.c.seq, outbox.c.body, outbox.c.created_at, outbox.c.attempts)
                .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= utcnow())
                .order_by(outbox.c.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            self.publisher.open()
            sent = []
            try:
                for row in rows:
                    self._publish(row.body)
                    sent.append(row)
            except CONNECTION_ERRORS as exc:
                lost = exc
            answers, unanswered_because = self.publisher.settle()
            lost = lost or unanswered_because
            if self._fault == "exit-after-publish" and CONFIRMED in answers.values():
                os._exit(17)  # fault injection for tests: confirmed but never marked sent
            now = utcnow()
            confirmed, changed = [], {}
            for row in sent:
                answer = answers.get(row.body["id"])
                if answer is None:
                    continue  # unanswered: published again later, the inbox deduplicates
                values = self._after(row, answer, now)
                if values is None:
                    confirmed.append(row.seq)
                else:
                    changed.setdefault(tuple(values.items()), []).append(row.seq)
            # One statement per outcome, not per row: an UPDATE per row was half of a busy
            # relay's time (an import's recipient_registered events are all given up alike).
            if confirmed:
                db.execute(
                    update(outbox)
                    .where(among(db, outbox.c.seq, confirmed))
                    .values(sent_at=now, attempts=outbox.c.attempts + 1, last_error=None)
                )
            for values, seqs in changed.items():
                rows_of = among(db, outbox.c.seq, seqs)
                db.execute(update(outbox).where(rows_of).values(**dict(values)))
        if lost is not None:
            raise lost
        return len(rows)

    def _after(self, row, answer: str, now: datetime) -> dict | None:
        """What the broker's answer makes of a row: None once confirmed, else the row's new
        values (a retry, or given up as unroutable)."""
        if answer == RETURNED:
            # No queue is bound. If the contract names subscribers, one may not have started
            # for the first time yet: keep trying for a grace period. Otherwise (or after it),
            # record that nobody received it.
            expected = has_subscribers(row.body["type"], row.body["version"])
            waited = (now - as_utc(row.created_at)).total_seconds()
            if not expected or waited > self.unroutable_grace:
                OUTBOX_PUBLISHED.labels(self.service, "unroutable").inc()
                return {"sent_at": now, "unroutable": True, "last_error": "no queue bound"}
            return self._retry_later(row, "unroutable: no queue bound yet", now)
        if answer == NACKED:
            OUTBOX_PUBLISHED.labels(self.service, "failed").inc()
            return self._retry_later(row, "broker nacked the publish", now)
        OUTBOX_PUBLISHED.labels(self.service, "confirmed").inc()
        EVENTS_PUBLISHED.labels(self.service, row.body["type"]).inc()
        OUTBOX_PUBLISH_LATENCY.labels(self.service).observe(
            (now - as_utc(row.created_at)).total_seconds()
        )
        return None

    def _retry_later(self, row, error: str, now: datetime) -> dict:
        delay = min(2 ** min(row.attempts, 5), 30)
        return {
            "attempts": row.attempts + 1,
            "last_error": error,
            "next_attempt_at": now + timedelta(seconds=delay),
        }

    def observe_backlog(self) -> None:
        with self.engine.connect() as db:
            _index_scans_only(db)
            count, oldest = db.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.sent_at.is_(None)
                )
            ).one()
        OUTBOX_BACKLOG.labels(self.service).set(count)
        age = (utcnow() - as_utc(oldest)).total_seconds() if oldest else 0.0
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    def purge_sent(self) -> int:
        with self.engine.begin() as db:
            result = db.execute(delete(outbox).where(outbox.c.sent_at < utcnow() - self.retention))
        return result.rowcount

    # -- loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Relay until stopped. An unreachable broker or database is waited out, said once."""
        self.outage: str | None = None
        next_housekeeping = next_purge = 0.0
        while not self.stopping.is_set():
            try:
                handled = self.relay_once()
                if time.monotonic() >= next_housekeeping:
                    self.observe_backlog()
                    next_housekeeping = time.monotonic() + 1.0
                if time.monotonic() >= next_purge:
                    self.purge_sent()
                    next_purge = time.monotonic() + 600.0
            except CONNECTION_ERRORS as exc:
                self.close()
                self._outage(f"cannot reach RabbitMQ at {config.redacted(self.amqp_uri)} ({exc})")
                continue
            except OperationalError as exc:
                self._outage(f"cannot reach the {self.service} database ({exc.orig or exc})")
                continue
            if self.outage is not None:
                log.info("relaying again after: %s", self.outage)
                self.outage = None
            if handled < self.batch_size and self.wakeup is not None:
                self.wakeup.wait(self.idle_wait, self.stopping)
            elif handled < self.batch_size:
                self.stopping.wait(self.idle_interval)
        self.close()
        if self.wakeup is not None:
            self.wakeup.close()

    def _outage(self, what: str) -> None:
        if self.outage is None:
            log.error("%s; retrying every second", what)
            self.outage = what
        self.stopping.wait(1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Publish a service's outbox to RabbitMQ.")
    parser.add_argument("service", help="service whose outbox to relay, e.g. inventory")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)

    url = config.database_url(args.service)
    relay = OutboxRelay(
        args.service,
        make_engine(url, pool_size=2),
        config.amqp_uri(),
        # Confirms are awaited per batch: a larger one spreads that wait (and the claim and the
        # marking statements) over more messages.
        batch_size=50 if url.startswith("sqlite") else 500,
        idle_interval=config.float_setting("CVMS_RELAY_IDLE_INTERVAL", 0.02),
        idle_wait=config.float_setting("CVMS_RELAY_IDLE_WAIT", 1.0),
        unroutable_grace=config.float_setting("CVMS_RELAY_UNROUTABLE_GRACE", 300.0),
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: relay.stopping.set())
    if args.metrics_port:
        start_http_server(
            args.metrics_port, addr=os.environ.get("CVMS_METRICS_ADDRESS", "127.0.0.1")
        )
    log.info("relaying the %s outbox to %s", args.service, config.redacted(config.amqp_uri()))
    relay.run()
    sys.exit(0)
