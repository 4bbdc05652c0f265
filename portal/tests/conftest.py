"""Fixtures for the portal's own tests."""

import importlib
import sys
import uuid

import pytest

# pytest's importlib mode registers the repository's portal/ folder as a namespace package
# `portal` to import this file, hiding the real package (portal/portal): put the real one back
# (as gateway/tests/conftest.py does for the gateway).
_shadow = sys.modules.get("portal")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["portal"]
    importlib.import_module("portal")

from portal.gateway import ApiProblem, Gateway  # noqa: E402  (after the real package is back)


class Answering(Gateway):
    """A gateway that gives one answer (or raises one ApiProblem) to every call, and keeps the
    calls: (method, path, json)."""

    def __init__(self, answer):
        super().__init__("http://gateway.invalid", 1)
        self.answer, self.calls = answer, []

    def call(self, method, path, **kwargs):
        self.calls.append((method, path, kwargs.get("json")))
        if isinstance(self.answer, ApiProblem):
            raise self.answer
        return self.answer


class Routed(Answering):
    """Answers by method and path: {(method, path): answer}."""

    def call(self, method, path, **kwargs):
        self.calls.append((method, path, kwargs.get("json")))
        answer = self.answer[(method, path)]
        if isinstance(answer, ApiProblem):
            raise answer
        return answer


@pytest.fixture
def settings():
    """A test's portal settings: no gateway listening (the discard port; tests put one of their
    own in its place), and Redis keys of the test's own."""
    from portal.settings import Settings

    return Settings(
        gateway_url="http://127.0.0.1:9",
        redis_url="redis://127.0.0.1:6379/0",
        secret_key="test",
        redis_prefix=f"cvms-test-{uuid.uuid4().hex[:8]}:portal",
    )


@pytest.fixture
def portal(tmp_path, settings):
    """portal(answer) -> (test client, fake gateway): a portal (CSRF off) whose gateway gives
    `answer` to every call; with routed=True, `answer` is {(method, path): answer}."""
    from dataclasses import replace

    from portal.app import create_app

    def make(answer, *, routed=False):
        app = create_app(replace(settings, gateway_url="http://gateway.invalid"), data_dir=tmp_path)
        app.config["WTF_CSRF_ENABLED"] = False
        gateway = (Routed if routed else Answering)(answer)
        app.extensions["cvms_gateway"] = gateway
        return app.test_client(), gateway

    return make
