"""CvmsService in a real nameko container: operational endpoints, correlation ids, entrypoint
metrics, and platform errors crossing the RPC boundary as themselves."""

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import get_extension
from nameko.web.server import WebServer
from prometheus_client import REGISTRY

from cvms_platform.consumer import dead_letter_queue
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.rpc import rpc  # what the services use: replies without publisher confirms
from cvms_platform.service import CorrelationId, CvmsService
from cvms_platform.tables import outbox

from .conftest import stop_containers


class Probe(CvmsService):
    name = "cvms_test_probe"

    @rpc
    def whoami(self):
        return self.correlation_id

    @rpc
    def lookup(self, what):
        if what == "missing":
            raise NotFound(f"{what} not found")
        if what == "invalid":
            raise InvalidInput({"what": ["Not a thing."]})
        return {"found": what}


class Unready(CvmsService):
    name = "cvms_test_unready"


@pytest.fixture
def start(amqp_uri, monkeypatch):
    containers = []

    def start_service(cls, database_url):
        monkeypatch.setenv(f"{cls.name.upper()}_DATABASE_URL", database_url)
        container = ServiceContainer(
            cls,
            {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "serializer": "json"},
        )
        container.start()
        containers.append(container)
        port = get_extension(container, WebServer)._sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start_service
    stop_containers(containers)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_health_ready_and_metrics(start, sqlite_url, sqlite_engine, broker):
    base = start(Probe, sqlite_url)

    status, _, body = get(f"{base}/health")
    assert status == 200
    assert json.loads(body) == {"status": "alive", "service": "cvms_test_probe"}

    status, _, body = get(f"{base}/ready")
    assert status == 200
    assert json.loads(body) == {"status": "ready", "database": "ok", "broker": "ok"}

    now = datetime.now(UTC)
    with sqlite_engine.begin() as db:
        for sent_at in (None, None, now):
            db.execute(
                outbox.insert().values(
                    event_id=str(uuid.uuid4()),
                    event_type="lot_received",
                    body={},
                    created_at=now,
                    next_attempt_at=now,
                    attempts=0,
                    sent_at=sent_at,
                    unroutable=False,
                )
            )
    status, headers, body = get(f"{base}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert 'cvms_outbox_backlog{service="cvms_test_probe"} 2.0' in body
    assert 'cvms_dead_letter_queue_depth{queue="cvms_test_probe.dead-letter"} 0.0' in body

    dlq = broker.declare_durable_queue(dead_letter_queue("cvms_test_probe"))
    broker.channel.basic_publish("", dlq, b"{}")
    # A quorum queue counts the message once its log has it: look until it does.
    deadline = time.monotonic() + 10
    while True:
        _, _, body = get(f"{base}/metrics")
        if 'dead_letter_queue_depth{queue="cvms_test_probe.dead-letter"} 0.0' not in body:
            break
        assert time.monotonic() < deadline, "the dead letter was never counted"
        time.sleep(0.1)
    assert 'cvms_dead_letter_queue_depth{queue="cvms_test_probe.dead-letter"} 1.0' in body


def test_ready_is_503_when_the_database_is_unreachable(start, tmp_path):
    base = start(Unready, f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'db.sqlite'}")
    assert get(f"{base}/health")[0] == 200
    status, _, body = get(f"{base}/ready")
    assert status == 503
    assert json.loads(body) == {
        "status": "not ready",
        "database": "OperationalError",
        "broker": "ok",
    }
    assert "Traceback" not in body


def test_correlation_id_travels_as_context_data(start, sqlite_url, amqp_uri):
    start(Probe, sqlite_url)
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    with ClusterRpcProxy(config, context_data={"correlation_id": "req-777"}, timeout=10) as cvms:
        assert cvms.cvms_test_probe.whoami() == "req-777"
    with ClusterRpcProxy(config, timeout=10) as cvms:
        generated = cvms.cvms_test_probe.whoami()
    uuid.UUID(generated)  # none given: a fresh one


def test_platform_errors_cross_rpc_as_themselves_and_are_timed(start, sqlite_url, amqp_uri, poll):
    start(Probe, sqlite_url)

    def timed(outcome):
        labels = {"service": "cvms_test_probe", "kind": "rpc", "name": "lookup", "outcome": outcome}
        return REGISTRY.get_sample_value("cvms_entrypoint_duration_seconds_count", labels) or 0.0

    ok, not_found = timed("ok"), timed("NotFound")
    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=10) as cvms:
        assert cvms.cvms_test_probe.lookup("lot") == {"found": "lot"}
        with pytest.raises(NotFound, match="missing not found"):
            cvms.cvms_test_probe.lookup("missing")
        with pytest.raises(InvalidInput) as raised:
            cvms.cvms_test_probe.lookup("invalid")
    assert raised.value.errors == {"what": ["Not a thing."]}
    # timed once the worker is done, which is just after the reply is sent
    poll(lambda: timed("ok") == ok + 1 and timed("NotFound") == not_found + 1)


def test_correlation_id_provider_without_a_container():
    class WorkerContext:
        data = {"correlation_id": "given"}

    provider = CorrelationId()
    assert provider.get_dependency(WorkerContext()) == "given"
    WorkerContext.data = {}
    uuid.UUID(provider.get_dependency(WorkerContext()))
