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
