"""The RPC proxy pool: reuse, discarding broken proxies, the correlation id; and the gateway
against a real nameko service, an absent one, a slow one and an unreachable broker."""

from types import SimpleNamespace

import eventlet
import pytest
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.containers import ServiceContainer
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import rpc

from cvms_platform.errors import NotFound
from cvms_platform.service import CorrelationId
from gateway import rpc as rpc_module
from gateway.rpc import BrokerUnavailable, RpcPool
from gateway.security import issue_token
from identity.service import IdentityService


# -- the pool, with a stand-in for nameko's standalone proxy --------------------------------------
class FakeStandalone:
    instances: list["FakeStandalone"] = []

    def __init__(self, config, timeout):
        self.config, self.timeout = config, timeout
        self.started = self.stopped = False
        self.fail_on_stop = False

        self._worker_ctx = SimpleNamespace(data={})
        self._proxy = object()
        FakeStandalone.instances.append(self)

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True
        if self.fail_on_stop:
            raise OSError("connection already gone")


@pytest.fixture
def fake_proxies(monkeypatch):
    FakeStandalone.instances = []
    monkeypatch.setattr(rpc_module, "ClusterRpcProxy", FakeStandalone)
    return FakeStandalone.instances


def test_a_proxy_is_started_configured_and_tagged_with_the_request_id(fake_proxies):
    pool = RpcPool("amqp://broker/", size=2, timeout=3.5)
    with pool.services("req-1") as services:
        (standalone,) = fake_proxies
        assert services is standalone._proxy
        assert standalone.started
        assert standalone.config == {"AMQP_URI": "amqp://broker/", "serializer": "json"}
        assert standalone.timeout == 3.5
        assert standalone._worker_ctx.data["correlation_id"] == "req-1"


def test_a_proxy_is_reused_with_the_next_request_id(fake_proxies):
    pool = RpcPool("amqp://broker/", size=2, timeout=1)
    with pool.services("req-1"):
        pass
    with pool.services("req-2") as services:
        assert len(fake_proxies) == 1
        assert services is fake_proxies[0]._proxy
        assert fake_proxies[0]._worker_ctx.data["correlation_id"] == "req-2"
    assert not fake_proxies[0].stopped


@pytest.mark.parametrize(
    "error",
    [RpcTimeout(1), UnknownService("inventory"), OSError("reset"), ConnectionResetError()],
    ids=type,
)
def test_a_proxy_that_saw_a_broken_connection_is_dropped(fake_proxies, error):
    pool = RpcPool("amqp://broker/", size=2, timeout=1)
    with pytest.raises(type(error)), pool.services("req-1"):
        raise error
    assert fake_proxies[0].stopped
    with pool.services("req-2"):
        assert len(fake_proxies) == 2  # a fresh one


def test_a_proxy_is_kept_after_an_ordinary_service_error(fake_proxies):
    pool = RpcPool("amqp://broker/", size=2, timeout=1)
    with pytest.raises(NotFound), pool.services("req-1"):
        raise NotFound("nope")
    with pool.services("req-2"):
        assert len(fake_proxies) == 1
    assert not fake_proxies[0].stopped


def test_the_pool_keeps_at_most_size_idle_proxies(fake_proxies):
    pool = RpcPool("amqp://broker/", size=1, timeout=1)
    with pool.services("a"), pool.services("b"):
        assert len(fake_proxies) == 2  # concurrent requests each get one
    assert [p.stopped for p in fake_proxies] == [True, False]  # one kept, one stopped


def test_close_stops_idle_proxies_even_if_stopping_fails(fake_proxies):
    pool = RpcPool("amqp://broker/", size=3, timeout=1)
    with pool.services("a"), pool.services("b"):
        pass
    fake_proxies[0].fail_on_stop = True
    pool.close()
    assert all(p.stopped for p in fake_proxies)
    pool.close()  # twice is harmless


# -- against a real broker ------------------------------------------------------------------------
class Inventory:
    """A stand-in inventory service that tells which request id reached it."""

    name = "inventory"
    correlation_id = CorrelationId()

    @rpc
    def list_products(self):
        return [{"id": "pfizer-gray-12plus", "correlation_id": self.correlation_id}]

    @rpc
    def location_inventory(self, location_id):
        eventlet.sleep(3)  # slower than the gateway waits
        return []

    @rpc
    def list_discrepancies(self, location_id, include_resolved):
        raise NotFound(f"nothing at {location_id}")


@pytest.fixture
def inventory_service(amqp_uri):
    container = ServiceContainer(Inventory, {"AMQP_URI": amqp_uri, "serializer": "json"})
    container.start()
    yield container
    container.kill()


def test_the_pool_carries_the_request_id_into_the_service(amqp_uri, inventory_service):
    pool = RpcPool(amqp_uri, size=2, timeout=10)
    try:
        with pool.services("req-one") as services:
            assert services.inventory.list_products()[0]["correlation_id"] == "req-one"
        with pool.services("req-two") as services:  # the same proxy, the new id
            assert services.inventory.list_products()[0]["correlation_id"] == "req-two"
        with pytest.raises(UnknownService), pool.services("req-3") as services:
            services.no_such_service.anything()
    finally:
        pool.close()


@pytest.fixture
def identity_service(amqp_uri, db_url, monkeypatch):
    """Identity's own service on the test's database, signing people in over the broker."""
    monkeypatch.setenv("IDENTITY_DATABASE_URL", db_url)
    config = {"AMQP_URI": amqp_uri, "serializer": "json", "WEB_SERVER_ADDRESS": "127.0.0.1:0"}
    container = ServiceContainer(IdentityService, config)
    container.start()
    yield container
    container.kill()


def state_admin_token(app) -> str:
    """A state admin's access token, signed as the gateway signs them (no sign-in: these tests
    have no broker or no identity to sign in through)."""
    admin = app.extensions["test_identity"].user_by_name("state.admin")
    return issue_token(admin, app.config["CVMS"].jwt_secret, 60)


def test_the_gateway_end_to_end_through_a_real_service(
    make_app, amqp_uri, identity_service, inventory_service
):
    app = make_app(keep_rpc=True, amqp_uri=amqp_uri, rpc_timeout_seconds=1.0)
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "state.admin", "password": "demo-state-admin"}
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-request-1"}

    response = client.get("/api/v1/products", headers=headers)
    assert response.status_code == 200
    assert response.get_json()[0]["correlation_id"] == "e2e-request-1"

    # A registered error raised in the service comes back as itself: 404.
    response = client.get("/api/v1/locations/demo-clinic/discrepancies", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["message"] == "nothing at demo-clinic"

    pool = app.extensions["cvms_rpc"]
    assert pool._idle.qsize() == 1  # one proxy, kept for the next request

    # A service slower than the RPC timeout: 503, and the broken proxy is not reused.
    response = client.get("/api/v1/locations/demo-clinic/inventory", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert pool._idle.qsize() == 0

    # Still answering afterwards, on a fresh proxy.
    assert client.get("/api/v1/products", headers=headers).status_code == 200
    assert pool._idle.qsize() == 1


def test_the_gateway_with_no_service_listening_is_503(make_app, amqp_uri):
    app = make_app(keep_rpc=True, amqp_uri=amqp_uri, rpc_timeout_seconds=2.0)
    client = app.test_client()
    token = state_admin_token(app)
    response = client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_the_gateway_with_the_broker_unreachable_is_503(make_app):
    app = make_app(keep_rpc=True)  # the default test settings point at a closed port
    client = app.test_client()
    token = state_admin_token(app)
    response = client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["error"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.get_data(as_text=True)


class BrokerClosingStandalone(FakeStandalone):
    """A broker that accepts the connection and closes it at once (RabbitMQ while it restarts):
    py-amqp raises a plain OSError; kombu, when it wraps it, its OperationalError."""

    error: BaseException = OSError("Server unexpectedly closed connection")

    def start(self):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [OSError("Server unexpectedly closed connection"), KombuOperationalError("refused")],
    ids=type,
)
def test_a_broker_closing_the_connection_is_broker_unavailable(monkeypatch, error):
    BrokerClosingStandalone.error = error
    monkeypatch.setattr(rpc_module, "ClusterRpcProxy", BrokerClosingStandalone)
    pool = RpcPool("amqp://broker/", size=2, timeout=1)
    with pytest.raises(BrokerUnavailable), pool.services("req-1"):
        pass


def test_a_call_failing_on_a_lost_broker_is_broker_unavailable_and_drops_the_proxy(
    fake_proxies,
):
    pool = RpcPool("amqp://broker/", size=2, timeout=1)
    with pytest.raises(BrokerUnavailable), pool.services("req-1"):
        raise KombuOperationalError("[Errno 111] Connection refused")
    assert fake_proxies[0].stopped


def test_the_gateway_answers_503_while_the_broker_restarts(make_app, monkeypatch):
    BrokerClosingStandalone.error = KombuOperationalError("Server unexpectedly closed connection")
    monkeypatch.setattr(rpc_module, "ClusterRpcProxy", BrokerClosingStandalone)
    app = make_app(keep_rpc=True)
    client = app.test_client()
    token = state_admin_token(app)
    response = client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "5"


def test_a_request_nobody_waits_for_any_more_expires_in_its_queue(amqp_uri):
    """After an outage a service must not work through requests whose callers have given up
    (answered 503 and sent again): each request expires when its caller stops waiting."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("nameko-rpc", exchange_type="topic", durable=True)
    channel.queue_declare("rpc-sleepy", durable=True)  # the service's queue; it is not running
    channel.queue_bind("rpc-sleepy", "nameko-rpc", routing_key="sleepy.*")
    pool = RpcPool(amqp_uri, size=1, timeout=0.5)
    try:
        with pytest.raises(RpcTimeout), pool.services("req-1") as services:
            services.sleepy.work()
        eventlet.sleep(0.5)
        method, _, _ = channel.basic_get("rpc-sleepy", auto_ack=True)
        assert method is None  # expired, never delivered
    finally:
        pool.close()
        connection.close()
