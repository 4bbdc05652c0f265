"""Inventory raises the platform's boundary errors; nothing service-specific crosses RPC."""

from cvms_platform.errors import Conflict, InvalidInput, NotFound, NoUsableLot, Unprocessable

__all__ = ["Conflict", "InvalidInput", "NoUsableLot", "NotFound", "Unprocessable"]
