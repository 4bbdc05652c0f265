"""Fixtures for the gateway's tests: an app whose services are a fake RPC pool, but for identity,
which is identity's own service class on a migrated SQLite database (the demo users and
location), called in process; and real Redis and RabbitMQ where a test needs them."""

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

import importlib.util  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import redis  # noqa: E402
from nameko.testing.services import worker_factory  # noqa: E402
from sqlalchemy import select, update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from cvms_platform.db import DatabaseAccess, make_engine  # noqa: E402
from cvms_platform.testing import identity_demo_fixtures, rabbitmq_vhost  # noqa: E402
from cvms_platform.timeutil import utcnow  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.cache import InventoryCache  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from identity import accounts  # noqa: E402
from identity.models import Location, User  # noqa: E402
from identity.service import IdentityService  # noqa: E402

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


# -- identity's database ---------------------------------------------------------------------------
template_db, db_url = identity_demo_fixtures()


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


@pytest.fixture
def other_clinic(directory_db) -> str:
    """A location that exists, but that the demo manager and vaccinator do not act for."""
    return directory_db.add_location("other-clinic")


# -- a fake RPC pool ------------------------------------------------------------------------------
class LocalIdentity:
    """Identity's service class on the test's database, built per call with nameko's
    `worker_factory` as a worker would be; arguments and answers pass through JSON, as they do
    over the broker."""

    def __init__(self, db_url: str):
        self.engine = make_engine(db_url, pool_size=1)
        self.make_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.correlation_id = "test"

    def call(self, method: str, args: tuple):
        access = DatabaseAccess(self.engine, self.make_session)
        service = worker_factory(IdentityService, db=access, correlation_id=self.correlation_id)
        try:
            answer = getattr(service, method)(*json.loads(json.dumps(args)))
        finally:
            access.close()
        return json.loads(json.dumps(answer))

    def delivered_token(self, link_id: str) -> str:
        """A set-password link's token as the notifications service gets it to e-mail (the
        gateway's answers carry none unless CVMS_HAND_OUT_PASSWORD_LINKS is set)."""
        return self.call("password_link_for_delivery", (link_id,))["token"]

    # What tests look up in identity's database.
    def user_by_name(self, username: str) -> User | None:
        with self.make_session() as session:
            return session.scalar(select(User).where(User.username == username))

    def acts_for(self, user: User) -> list[str]:
        with self.make_session() as session:
            return accounts.acts_for(session, user)

    def close(self) -> None:
        self.engine.dispose()


class FakeCluster:
    """Stands in for nameko's cluster proxy: `cluster.inventory.receive_lot(...)`.

    `answer("inventory.receive_lot", value)` sets what a method returns; pass an exception
    instance to have it raised. A method not answered fails the test, or raises `otherwise`
    when that is set (an exception instance). Every call is recorded in `calls`. Identity's
    methods, unless answered so, are identity's own (`LocalIdentity`), and are not recorded."""

    def __init__(self, identity: LocalIdentity | None = None):
        self.calls: list[tuple[str, tuple]] = []
        self.answers: dict[str, object] = {}
        self.identity_service = identity
        self.otherwise: BaseException | None = None
        # The correlation ids of the pool's blocks that called a faked service.
        self.correlation_ids: list[str] = []
        self.block_correlation: str | None = None

    def answer(self, method: str, value) -> None:
        self.answers[method] = value

    def note_correlation(self) -> None:
        """The pool's block this call is made in carried this correlation id."""
        if self.block_correlation is not None:
            self.correlation_ids.append(self.block_correlation)
            self.block_correlation = None

    def __getattr__(self, service: str):
        cluster = self

        class Service:
            def __getattr__(self, method: str):
                name = f"{service}.{method}"

                def call(*args):
                    local = cluster.identity_service
                    if service == "identity" and local is not None and name not in cluster.answers:
                        return local.call(method, args)
                    cluster.calls.append((name, args))
                    cluster.note_correlation()
                    if name not in cluster.answers:
                        if cluster.otherwise is not None:
                            raise cluster.otherwise
                        raise AssertionError(f"unexpected RPC {name}{args}")
                    value = cluster.answers[name]
                    if isinstance(value, BaseException):
                        raise value
                    return value() if callable(value) else value

                return call

        return Service()


class FakePool:
    """`correlation_ids`: the request id each block of calls to a faked service carried (blocks
    that only reached identity's own service are not counted)."""

    def __init__(self, identity: LocalIdentity | None = None):
        self.cluster = FakeCluster(identity)
        self.correlation_ids = self.cluster.correlation_ids

    @contextmanager
    def services(self, correlation_id: str):
        self.cluster.block_correlation = correlation_id
        if self.cluster.identity_service is not None:
            self.cluster.identity_service.correlation_id = correlation_id
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
def make_settings(redis_prefix):
    def make(**overrides) -> Settings:
        values = {
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
def make_app(make_settings, db_url):
    """An app whose services are a FakePool (identity: its own service on the test's database)
    and whose inventory cache is off (unless kept). For tests to look into identity's database
    (the gateway keeps none): `app.extensions["test_identity"]` (users by name, what they act
    for) and `app.extensions["cvms_sessions"]` (a session)."""
    apps, identities = [], []

    def make(*, keep_cache: bool = False, keep_rpc: bool = False, **overrides):
        app = create_app(make_settings(**overrides))
        identity = LocalIdentity(db_url)
        identities.append(identity)
        app.extensions["test_identity"] = identity
        app.extensions["cvms_sessions"] = identity.make_session
        if not keep_rpc:
            app.extensions["cvms_rpc"] = FakePool(identity)
        if not keep_cache:
            app.extensions["cvms_inventory_cache"] = InventoryCache(None, 0)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["cvms_rpc"].close()
    for identity in identities:
        identity.close()


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


@pytest.fixture(scope="session")
def complete_form():
    """`complete_form("pii")`: an enrollment form complete for submission (ids and e-mails
    unique per tag), from the builder the cross-service tests use too
    (tests/enrollment_forms.py)."""
    path = Path(__file__).resolve().parents[2] / "tests" / "enrollment_forms.py"
    spec = importlib.util.spec_from_file_location("cvms_enrollment_forms", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.complete_form


@pytest.fixture
def lot_body():
    """`lot_body(doses=10)`: a shipment to receive (POST .../lots), with the fields given."""

    def make(**overrides) -> dict:
        return {
            "shipment_id": "SHIP-1",
            "product_id": "pfizer-gray-12plus",
            "lot_number": "FK-1234",
            "expiration_date": "2030-01-31",
            "doses": 60,
            **overrides,
        }

    return make


@pytest.fixture
def assert_error():
    """`assert_error(response, 404, "not_found")`: the response is that error; its body."""

    def check(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        body = response.get_json()
        assert body["error"] == code
        return body

    return check


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
