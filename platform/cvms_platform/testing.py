"""What every CVMS test suite sets up the same way: a RabbitMQ vhost of its own, a migrated
database of a service's own, a look at that database from outside the service's session, and the
check that a service's migrations build its models' schema and come down cleanly."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, create_engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from cvms_platform import tables
from cvms_platform.db import DatabaseAccess, make_engine
from cvms_platform.migrate import alembic_config, upgrade
from cvms_platform.tables import outbox

BROKER = "amqp://guest:guest@127.0.0.1:5672"

# A recipient and one of her doses as administration answers them: what documents and the
# gateway's recipient routes are tested with.
SAMPLE_RECIPIENT = {
    "id": "r-1",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1990-12-10",
    "preferred_language": "es",
}
SAMPLE_DOSE = {
    "id": "d-1",
    "administered_at": "2026-01-15T10:30:00+00:00",
    "dose_number": 1,
    "product_id": "pfizer-gray-12plus",
    "product_name": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",  # as the catalog names it
    "cap_color": "gray",
    "manufacturer": "Pfizer, Inc",
    "lot_number": "FK5127",
    "location_id": "demo-clinic",
    "site": "LD",
    "route": "IM",
}


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class _Vhosts:
    """Vhosts made and removed by the batch: every rabbitmqctl call boots an Erlang VM (1-2 s),
    and three calls per test (add, permit, delete) were a large part of the unit suites' time.
    Each vhost still serves one test only; it is deleted, with all its queues, once 16 have
    been used (or at exit)."""

    BATCH = 16

    def __init__(self) -> None:
        self.ready: list[str] = []
        self.used: list[str] = []
        atexit.register(self.close)

    def take(self, prefix: str) -> str:
        if not self.ready:
            self._make(prefix)
        return self.ready.pop()

    def give_back(self, vhost: str) -> None:
        self.used.append(vhost)
        if len(self.used) >= self.BATCH:
            self._delete(self.used)
            self.used = []

    def close(self) -> None:
        leftover, self.ready, self.used = self.ready + self.used, [], []
        if leftover:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._delete(leftover)

    def _make(self, prefix: str) -> None:
        names = [f"cvms-test-{prefix}-{uuid.uuid4().hex[:10]}" for _ in range(self.BATCH)]
        definitions = {
            "vhosts": [{"name": name} for name in names],
            "permissions": [
                {"user": "guest", "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}
                for name in names
            ],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
            json.dump(definitions, file)
            file.flush()
            os.chmod(file.name, 0o644)  # rabbitmqctl reads it as the rabbitmq user
            rabbitmqctl("import_definitions", file.name)
        self.ready.extend(names)

    def _delete(self, names: list[str]) -> None:
        binaries = ", ".join(f'<<"{name}">>' for name in names)
        try:
            rabbitmqctl("eval", f'[rabbit_vhost:delete(V, <<"cvms-tests">>) || V <- [{binaries}]].')
        except subprocess.CalledProcessError:
            for name in names:  # a broker whose internals differ: one at a time
                rabbitmqctl("delete_vhost", name)


_vhosts = _Vhosts()


@contextmanager
def rabbitmq_vhost(prefix: str, broker: str = BROKER) -> Iterator[str]:
    """An AMQP URI on a vhost of its own, deleted with all its queues afterwards. Tests that need
    it are skipped where rabbitmqctl cannot create one (a machine without a local RabbitMQ)."""
    import pytest

    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available")
    try:
        vhost = _vhosts.take(prefix)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot create a RabbitMQ vhost: {exc}")
    try:
        yield f"{broker}/{vhost}"
    finally:
        _vhosts.give_back(vhost)


@dataclass
class ServiceDatabase:
    url: str
    access: DatabaseAccess


@contextmanager
def service_database(service: str, directory: Path) -> Iterator[ServiceDatabase]:
    """A fresh SQLite database for `service`, migrated and seeded, with a worker's access to it."""
    url = f"sqlite:///{directory / f'{service}.db'}"
    upgrade(service, url=url)
    engine = make_engine(url)
    access = DatabaseAccess(engine, sessionmaker(bind=engine, expire_on_commit=False))
    try:
        yield ServiceDatabase(url, access)
    finally:
        access.close()
        engine.dispose()


def database_fixtures(service: str) -> tuple:
    """A service's test fixtures on a fresh migrated SQLite database per test (a conftest binds
    them under these names): `service_db`, the ServiceDatabase; `database_url`, its URL; `db`,
    a worker's access to it."""
    import pytest

    @pytest.fixture
    def service_db(tmp_path) -> Iterator[ServiceDatabase]:
        with service_database(service, tmp_path) as database:
            yield database

    @pytest.fixture
    def database_url(service_db) -> str:
        return service_db.url

    @pytest.fixture
    def db(service_db) -> DatabaseAccess:
        return service_db.access

    return service_db, database_url, db


def identity_demo_fixtures() -> tuple:
    """Fixtures on identity's database with its demo users and location (a conftest binds them
    under these names): `template_db`, migrated once a session; `db_url`, a fresh copy of it for
    the test."""
    import pytest

    @pytest.fixture(scope="session")
    def template_db(tmp_path_factory) -> Path:
        path = tmp_path_factory.mktemp("identity-template") / "identity.db"
        upgrade("identity", url=f"sqlite:///{path}", demo=True)
        return path

    @pytest.fixture
    def db_url(template_db, tmp_path) -> str:
        """A fresh copy of identity's migrated demo database for this test."""
        path = tmp_path / "identity.db"
        shutil.copyfile(template_db, path)
        return f"sqlite:///{path}"

    return template_db, db_url


def container_fixtures(service: str) -> tuple:
    """A service's fixtures for its container tests (a conftest binds them under these names):
    `amqp_uri`, a RabbitMQ vhost for the test module alone, deleted afterwards;
    `container_config`, a nameko container's config on it and on the test's `database_url`."""
    import pytest

    @pytest.fixture(scope="module")
    def amqp_uri() -> Iterator[str]:
        with rabbitmq_vhost(service) as uri:
            yield uri

    @pytest.fixture
    def container_config(amqp_uri, database_url, monkeypatch) -> dict:
        # The Database provider chooses its URL by service name when the container starts.
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", database_url)
        return {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "serializer": "json"}

    return amqp_uri, container_config


def migrated_to(service: str, directory: Path, revision: str) -> tuple[Config, Engine]:
    """A SQLite database of `service`'s migrations up to `revision`: its alembic config and an
    engine on it."""
    url = f"sqlite:///{directory / f'{service}.db'}"
    config = alembic_config(service, url)
    command.upgrade(config, revision)
    return config, create_engine(url)


@contextmanager
def migrations_checked(service: str, metadata: MetaData, directory: Path) -> Iterator[Connection]:
    """Migrates a database to head and asserts it is exactly the models' schema; yields a
    connection to it for the service's own checks; then downgrades to base and asserts nothing
    is left."""
    config, engine = migrated_to(service, directory, "head")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, [metadata, tables.metadata])
        # The platform's messaging tables carry indexes its metadata does not declare.
        assert [d for d in differences if "outbox" not in str(d) and "inbox" not in str(d)] == []
        yield connection

    command.downgrade(config, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    engine.dispose()


class Reader:
    """Looks at the database the way a test should: in a session of its own, after closing the
    service's session as nameko's worker teardown would (SQLite has a single connection)."""

    def __init__(self, db: DatabaseAccess):
        self.db = db

    def all(self, statement) -> list:
        self.db.close()
        with Session(self.db.engine) as session:
            return list(session.scalars(statement).all())

    def count(self, model) -> int:
        self.db.close()
        with Session(self.db.engine) as session:
            return session.scalar(select(func.count()).select_from(model))

    def events(self, event_type: str | None = None) -> list[dict]:
        """Wire bodies of the outbox rows, oldest first."""
        query = select(outbox.c.body).order_by(outbox.c.seq)
        if event_type is not None:
            query = query.where(outbox.c.event_type == event_type)
        return self.all(query)


class Clock:
    """A service's clock in a test: `service.now = clock`; `clock.advance(minutes=5)`."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class LocalServer:
    """A server a test runs as a process of its own (the pytest process is green with eventlet,
    in which threaded servers misbehave), listening on `port` of loopback once started."""

    what = "the server"

    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.what} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
