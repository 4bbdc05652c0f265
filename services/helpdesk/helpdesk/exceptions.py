"""The help desk raises the platform's errors (cvms_platform.errors): InvalidInput, NotFound,
Conflict; the gateway maps them to 400, 404 and 409."""

from cvms_platform.errors import Conflict, InvalidInput, NotFound

__all__ = ["Conflict", "InvalidInput", "NotFound"]
