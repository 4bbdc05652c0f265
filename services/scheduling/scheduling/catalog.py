"""The product catalog (series length, minimum interval between doses), owned by inventory and
asked for over RPC; kept briefly so a burst of bookings does not become a burst of RPCs."""

from __future__ import annotations

import threading
import time

TTL_SECONDS = 300.0

_lock = threading.Lock()
_cached: tuple[float, dict[str, dict]] | None = None


def products(inventory) -> dict[str, dict]:
    """Products by id, from `inventory.list_products()` at most every TTL_SECONDS."""
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < TTL_SECONDS:
            return _cached[1]
    fresh = {p["id"]: p for p in inventory.list_products()}
    with _lock:
        _cached = (time.monotonic(), fresh)
    return fresh


def forget() -> None:
    global _cached
    with _lock:
        _cached = None
