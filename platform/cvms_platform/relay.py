"""The outbox relay: publishes committed outbox events with publisher confirms.

A row is marked sent only after the broker confirmed it. If the relay dies between the confirm
and that mark, the event is published again on restart; consumers' inboxes make that harmless.
Failed publishes are retried with backoff. Several relays may run against one PostgreSQL
database: rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta

import pika
import pika.exceptions
from prometheus_client import start_http_server
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from cvms_platform import config
from cvms_platform.contracts import has_subscribers
from cvms_platform.db import make_engine
from cvms_platform.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_LATENCY,
    OUTBOX_PUBLISHED,
)
from cvms_platform.tables import outbox
from cvms_platform.timeutil import as_utc, utcnow

log = logging.getLogger("cvms.relay")

CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)


def event_exchange(source: str) -> str:
    """The exchange nameko's EventDispatcher would use, so nameko event handlers receive it."""
    return f"{source}.events"


class OutboxRelay:
    def __init__(
        self,
        service: str,
        engine: Engine,
        amqp_uri: str,
        *,
        batch_size: int = 200,
        idle_interval: float = 0.02,
        unroutable_grace: float = 300.0,
        retention: timedelta = timedelta(days=7),
    ):
        self.service = service
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.unroutable_grace = unroutable_grace
        self.retention = retention
        self.stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self._declared: set[str] = set()
        self._fault = os.environ.get("CVMS_RELAY_FAULT", "")

    # -- broker -------------------------------------------------------------------------------
    def _ensure_channel(self):
        if self._channel is None or self._channel.is_closed:
            self.close()
            self._connection = pika.BlockingConnection(pika.URLParameters(self.amqp_uri))
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
            self._declared.clear()
        return self._channel

    def close(self) -> None:
        if self._connection is not None and self._connection.is_open:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                self._connection.close()
        self._connection = self._channel = None

    def _publish(self, body: dict) -> None:
        channel = self._ensure_channel()
        exchange = event_exchange(body["source"])
        if exchange not in self._declared:
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            self._declared.add(exchange)
        channel.basic_publish(
            exchange=exchange,
            routing_key=body["type"],
            body=json.dumps(body).encode(),
            properties=pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=body["id"],
                headers={"nameko.correlation_id": body["correlation_id"]},
            ),
            mandatory=True,
        )

    # -- outbox -------------------------------------------------------------------------------
    def relay_once(self) -> int:
        """Publish one batch of due events; returns how many rows it handled."""
        now = utcnow()
        with self.engine.begin() as db:
            rows = db.execute(
                select(outbox.c.seq, outbox.c.body, outbox.c.created_at, outbox.c.attempts)
                .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.seq)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            confirmed = []
            for row in rows:
                values = self._publish_row(row)
                if values is None:
                    confirmed.append(row.seq)
                else:
                    db.execute(update(outbox).where(outbox.c.seq == row.seq).values(**values))
            if confirmed:
                # One statement for the batch's confirmed rows (most of them): an UPDATE per
                # row was half of a busy relay's time.
                db.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(confirmed))
                    .values(sent_at=utcnow(), attempts=outbox.c.attempts + 1, last_error=None)
                )
        return len(rows)

    def _publish_row(self, row) -> dict | None:
        """Publish one row: None once the broker confirmed it (the batch marks those sent in
        one statement), else the row's new values (a retry, or given up as unroutable)."""
        now = utcnow()
        try:
            self._publish(row.body)
        except pika.exceptions.UnroutableError:
            # No queue is bound. If the contract names subscribers, one may not have started
            # for the first time yet: keep trying for a grace period. Otherwise (or after it),
            # record that nobody received it.
            expected = has_subscribers(row.body["type"], row.body["version"])
            waited = (now - as_utc(row.created_at)).total_seconds()
            if not expected or waited > self.unroutable_grace:
                OUTBOX_PUBLISHED.labels(self.service, "unroutable").inc()
                return {"sent_at": now, "unroutable": True, "last_error": "no queue bound"}
            return self._retry_later(row, "unroutable: no queue bound yet")
        except pika.exceptions.NackError:
            OUTBOX_PUBLISHED.labels(self.service, "failed").inc()
            return self._retry_later(row, "broker nacked the publish")
        if self._fault == "exit-after-publish":
            os._exit(17)  # fault injection for tests: confirmed but never marked sent
        OUTBOX_PUBLISHED.labels(self.service, "confirmed").inc()
        OUTBOX_PUBLISH_LATENCY.labels(self.service).observe(
            (now - as_utc(row.created_at)).total_seconds()
        )
        return None

    def _retry_later(self, row, error: str) -> dict:
        delay = min(2 ** min(row.attempts, 5), 30)
        return {
            "attempts": row.attempts + 1,
            "last_error": error,
            "next_attempt_at": utcnow() + timedelta(seconds=delay),
        }

    def observe_backlog(self) -> None:
        with self.engine.connect() as db:
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
            if handled < self.batch_size:
                self.stopping.wait(self.idle_interval)
        self.close()

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
        batch_size=50 if url.startswith("sqlite") else 200,
        idle_interval=config.float_setting("CVMS_RELAY_IDLE_INTERVAL", 0.02),
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
