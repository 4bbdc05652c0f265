"""Fixtures for the gateway's tests: an app on a migrated SQLite directory (the demo users and
location), a fake RPC pool standing in for the services, and real Redis and RabbitMQ where a test
needs them."""

import importlib
import sys


def _unshadow(name: str) -> None:
    """pytest's importlib mode names this file `gateway.tests.conftest` and, to import it,
    registers the repository's gateway/ folder as the namespace package `gateway`, hiding the real
    `gateway` package (gateway/gateway). Put the real one back; `gateway.tests` stays
    registered, so pytest never needs to do that again."""
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) is None:
        del sys.modules[name]
        importlib.import_module(name)


_unshadow("gateway")
_unshadow("platform")  # the same for the standard library's platform, should it be hidden

import cvms_platform.green  # noqa: E402, F401 - nameko needs green sockets; patch first

# isort: split

import shutil  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import pytest  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cvms_platform import migrate  # noqa: E402
from cvms_platform.db import make_engine  # noqa: E402
from cvms_platform.testing import rabbitmq_vhost  # noqa: E402
from cvms_platform.timeutil import utcnow  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.cache import InventoryCache  # noqa: E402
from gateway.models import Location, User  # noqa: E402
from gateway.settings import Settings  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
DEMO_PASSWORDS = {
    "state.admin": "demo-state-admin",
    "clinic.manager": "demo-clinic-manager",
    "clinic.vaccinator": "demo-vaccinator",
    "helpdesk.agent": "demo-helpdesk",
    "org.admin": "demo-org-admin",
}
DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# -- the directory database -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("gateway-template") / "gateway.db"
    migrate.upgrade("gateway", url=f"sqlite:///{path}", demo=True)
    return path


@pytest.fixture
def db_url(template_db, tmp_path):
    """A fresh copy of the migrated demo directory for this test."""
    path = tmp_path / "gateway.db"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def directory_db(db_url):
    """Change the test's directory: `directory_db.add_location(...)`, `.set_active(...)`."""
    engine = make_engine(db_url, pool_size=1)

    class Editor:
        def add_location(self, location_id: str, name: str = "A Clinic") -> str:
            with Session(engine) as session, session.begin():
                session.add(Location(id=location_id, name=name, created_at=utcnow()))
            return location_id

        def set_active(self, username: str, active: bool) -> None:
            with engine.begin() as db:
                db.execute(update(User).where(User.username == username).values(active=active))

    yield Editor()
    engine.dispose()


# -- a fake RPC pool ------------------------------------------------------------------------------
class FakeCluster:
    """Stands in for nameko's cluster proxy: `cluster.inventory.receive_lot(...)`.

    `answer("inventory.receive_lot", value)` sets what a method returns; pass an exception
    instance to have it raised. Every call is recorded in `calls`."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []
        self.answers: dict[str, object] = {}

    def answer(self, method: str, value) -> None:
        self.answers[method] = value

    def __getattr__(self, service: str):
        cluster = self

        class Service:
            def __getattr__(self, method: str):
                name = f"{service}.{method}"

                def call(*args):
                    cluster.calls.append((name, args))
                    if name not in cluster.answers:
                        raise AssertionError(f"unexpected RPC {name}{args}")
                    value = cluster.answers[name]
                    if isinstance(value, BaseException):
                        raise value
                    return value() if callable(value) else value

                return call

        return Service()


class FakePool:
    def __init__(self):
        self.cluster = FakeCluster()
        self.correlation_ids: list[str] = []

    @contextmanager
    def services(self, correlation_id: str):
        self.correlation_ids.append(correlation_id)
        yield self.cluster

    def close(self) -> None:
        pass


@pytest.fixture
def redis_prefix():
    """This test's own namespace for the gateway's Redis keys (revoked tokens, sign-in failures,
    rate-limit counters), so tests never share counters; its keys are removed afterwards."""
    prefix = f"cvms-test:{uuid.uuid4().hex[:16]}"
    yield prefix
    if port_open("127.0.0.1", 6379):
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def make_settings(db_url, redis_prefix):
    def make(**overrides) -> Settings:
        values = {
            "database_url": db_url,
            "amqp_uri": DEAD_BROKER,
            "redis_url": REDIS_URL,
            "redis_prefix": redis_prefix,
            "jwt_secret": JWT_SECRET,
            "rpc_timeout_seconds": 2.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def make_app(make_settings):
    """An app whose services are a FakePool and whose inventory cache is off (unless kept)."""
    apps = []

    def make(*, keep_cache: bool = False, keep_rpc: bool = False, **overrides):
        app = create_app(make_settings(**overrides))
        if not keep_rpc:
            app.extensions["cvms_rpc"] = FakePool()
        if not keep_cache:
            app.extensions["cvms_inventory_cache"] = InventoryCache(None, 0)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["cvms_rpc"].close()
        app.extensions["cvms_engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rpc(app) -> FakeCluster:
    return app.extensions["cvms_rpc"].cluster


@pytest.fixture
def login(client):
    """`login("clinic.manager")` -> headers with that demo user's bearer token."""
    tokens: dict[str, str] = {}

    def headers(username: str, **extra) -> dict:
        if username not in tokens:
            response = client.post(
                "/api/v1/auth/token",
                json={"username": username, "password": DEMO_PASSWORDS[username]},
            )
            assert response.status_code == 200, response.get_json()
            tokens[username] = response.get_json()["access_token"]
        return {"Authorization": f"Bearer {tokens[username]}", **extra}

    return headers


# -- Redis ----------------------------------------------------------------------------------------
@pytest.fixture
def redis_client():
    if not port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not available")
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def location_id(redis_client):
    """A location id of this test's own; its cache key is removed afterwards."""
    location = f"test-{uuid.uuid4().hex[:16]}"
    yield location
    redis_client.delete(f"cvms:gateway:inventory:{location}")


# -- RabbitMQ -------------------------------------------------------------------------------------
@pytest.fixture
def amqp_uri():
    if not port_open("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not available")
    with rabbitmq_vhost("gateway") as uri:
        yield uri


@pytest.fixture
def poll():
    def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            time.sleep(interval)
        return value

    return wait_for
