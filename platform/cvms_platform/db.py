"""Database engines and per-worker sessions, the same way for every service.

PostgreSQL (psycopg 3, which yields to eventlet) in production; an SQLite file of the service's
own when no URL is configured. SQLite transactions start with BEGIN IMMEDIATE so concurrent
writers queue on the database lock instead of failing half-way through an upgrade.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, TypeDecorator, create_engine, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from cvms_platform import config
from cvms_platform.timeutil import as_utc

T = TypeVar("T")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> Engine:
    """`pool_size` connections are kept open between uses; up to `max_overflow` more (as many
    again unless given) are opened for a burst and closed after it."""
    if url.startswith("sqlite"):
        # One connection per process: a green thread waiting in SQLite's C busy-handler
        # would block the whole eventlet hub, so writers queue on the pool instead.
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            hide_parameters=True,  # errors and logs never quote the values (personal data)
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # errors and logs never quote the values (personal data)
    )


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def claim(session: Session, stamp: InstrumentedAttribute, row_id: str, now: datetime) -> bool:
    """Stamp a row's still empty `stamp` column (used_at, revoked_at...) with `now` by a
    conditional UPDATE: of two concurrent claims of one row, one wins (True)."""
    model = stamp.class_
    claimed = session.execute(
        update(model).where(model.id == row_id, stamp.is_(None)).values({stamp.key: now})
    )
    return claimed.rowcount == 1


class DatabaseAccess:
    """A worker's handle on its service database: one session, opened on first use."""

    def __init__(self, engine: Engine, make_session: sessionmaker):
        self.engine = engine
        self._make_session = make_session
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._make_session()
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any error."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def idempotent(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a transaction. If a concurrent transaction committed the same
        unique key first, run it once more: the second run finds the winner's row and returns
        it, as a repeated request would."""
        try:
            with self.transaction() as session:
                return work(session)
        except IntegrityError:
            with self.transaction() as session:
                return work(session)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """nameko dependency: the database the service owns, chosen by its name."""

    def setup(self) -> None:
        service = self.container.service_name
        workers = self.container.config.get("max_workers", 10)
        # Connections kept open between bursts (CVMS_DB_POOL_KEEP, default one per worker); a
        # burst may open up to twice the workers in all. Many services sharing one PostgreSQL
        # (the test stack) keep few, so that idle pools do not use up its max_connections.
        keep = min(workers, config.int_setting("CVMS_DB_POOL_KEEP", workers))
        self.engine = make_engine(
            config.database_url(service), pool_size=keep, max_overflow=2 * workers - keep
        )
        self.make_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.accesses: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx) -> DatabaseAccess:
        access = DatabaseAccess(self.engine, self.make_session)
        self.accesses[worker_ctx] = access
        return access

    def worker_teardown(self, worker_ctx) -> None:
        access = self.accesses.pop(worker_ctx, None)
        if access is not None:
            access.close()


class UtcDateTime(TypeDecorator):
    """A timezone-aware timestamp that comes back aware on every database (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("CVMS stores aware datetimes only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        return as_utc(value) if value is not None else None
