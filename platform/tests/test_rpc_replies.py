"""A service whose RPC reply cannot be published (RabbitMQ restarting or cut off) keeps running,
and the request goes back to its queue; nameko as shipped ends the whole service instead."""

import eventlet
import pytest
from kombu.exceptions import OperationalError
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from cvms_platform import rpc as platform_rpc
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService


class Replier(CvmsService):
    name = "cvms_test_replier"
    calls = 0

    @rpc
    def ping(self):
        Replier.calls += 1
        return "pong"


@pytest.fixture
def replier(amqp_uri, sqlite_url, monkeypatch):
    monkeypatch.setenv("CVMS_TEST_REPLIER_DATABASE_URL", sqlite_url)
    container = ServiceContainer(
        Replier,
        {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "serializer": "json"},
    )
    container.start()
    yield container
    with eventlet.Timeout(15):
        container.stop()


def test_a_reply_that_cannot_be_published_sends_the_request_back_and_the_service_lives(
    replier, amqp_uri, monkeypatch
):
    send = platform_rpc._Responder.send_response
    failures = []

    def broker_gone_once(self, result, exc_info):
        if not failures:
            failures.append(1)
            raise OperationalError("[Errno 111] ECONNREFUSED")
        return send(self, result, exc_info)

    monkeypatch.setattr(platform_rpc._Responder, "send_response", broker_gone_once)
    Replier.calls = 0
    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=10) as proxy:
        assert proxy.cvms_test_replier.ping() == "pong"  # answered on the second delivery
    assert failures == [1]
    assert Replier.calls == 2
    assert replier._died.ready() is False  # the container is still running
