"""Wakes an idle relay when outbox rows are committed (PostgreSQL LISTEN/NOTIFY).

A relay that polls its outbox every 20 ms costs about 5 % of a core while there is nothing to
send, and there are four of them. On PostgreSQL a statement trigger on the outbox notifies
`OUTBOX_CHANNEL` (delivered at commit, once per transaction whatever the row count), so an idle
relay sleeps until then. It still looks every `fallback` seconds: rows waiting for a retry
after a backoff announce nothing. SQLite has no notifications: its relay polls as before.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg
from sqlalchemy.engine import Engine

log = logging.getLogger("cvms.relay")

OUTBOX_CHANNEL = "cvms_outbox"
STOP_CHECK_S = 0.5  # how soon a waiting relay notices it is told to stop

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cvms_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION cvms_outbox_notify()
"""


def install(op) -> None:
    """For a service's Alembic migration: notify relays of committed outbox rows."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def uninstall(op) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS cvms_outbox_notify()")


class OutboxWakeup:
    """A connection of its own that listens on `OUTBOX_CHANNEL`; `wait` returns at the first
    notification or after `timeout` seconds. Should listening fail (the database restarting),
    `wait` sleeps only `poll_interval`, so the relay polls as it would without notifications,
    and listening is tried again after `retry_after` seconds."""

    def __init__(self, engine: Engine, *, poll_interval: float, retry_after: float = 5.0):
        # The engine's URL, for libpq: without SQLAlchemy's "+psycopg" driver suffix.
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.poll_interval = poll_interval
        self.retry_after = retry_after
        self.connection: psycopg.Connection | None = None
        self._unavailable_until = 0.0

    @staticmethod
    def supported(engine: Engine) -> bool:
        return engine.dialect.name == "postgresql"

    def _listening(self) -> psycopg.Connection:
        if self.connection is None or self.connection.closed:
            connection = psycopg.connect(self.conninfo, autocommit=True)
            connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self.connection = connection  # listening from here on
        return self.connection

    def wait(self, timeout: float, stopping: threading.Event | None = None) -> bool:
        """True if an outbox commit was announced within `timeout` seconds; False at the
        timeout, or soon after `stopping` is set."""
        if time.monotonic() < self._unavailable_until:
            time.sleep(min(timeout, self.poll_interval))
            return False
        deadline = time.monotonic() + timeout
        try:
            connection = self._listening()
            woken = False
            while not woken:
                left = deadline - time.monotonic()
                if left <= 0 or (stopping is not None and stopping.is_set()):
                    break
                woken = any(
                    True for _ in connection.notifies(timeout=min(left, STOP_CHECK_S), stop_after=1)
                )
            if woken:  # one poll answers every commit announced so far
                for _ in connection.notifies(timeout=0):
                    pass
            if self._unavailable_until:
                log.info("outbox notifications available again")
                self._unavailable_until = 0.0
            return woken
        except psycopg.Error as exc:
            if not self._unavailable_until:
                log.warning("outbox notifications unavailable (%s); polling meanwhile", exc)
            self._unavailable_until = time.monotonic() + self.retry_after
            self.close()
            return False

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(psycopg.Error):
                self.connection.close()
        self.connection = None
