"""Notifications raises the platform's boundary errors, which cross RPC as themselves."""

from cvms_platform.errors import InvalidInput

__all__ = ["InvalidInput"]
