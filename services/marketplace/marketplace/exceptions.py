"""Marketplace raises the platform's boundary errors, which cross RPC as themselves (inventory's,
raised in its calls, pass through unchanged)."""

from cvms_platform.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "Unprocessable"]
