"""Fixtures for the portal's own tests."""

import importlib
import sys

# pytest's importlib mode registers the repository's portal/ folder as a namespace package
# `portal` to import this file, hiding the real package (portal/portal): put the real one back
# (as gateway/tests/conftest.py does for the gateway).
_shadow = sys.modules.get("portal")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["portal"]
    importlib.import_module("portal")
