"""Administration raises the platform's boundary errors; nothing service-specific crosses RPC."""

from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable

__all__ = ["Conflict", "InvalidInput", "NotFound", "Unprocessable"]
