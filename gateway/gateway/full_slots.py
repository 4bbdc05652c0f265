"""Slots this gateway worker was just told are full, so a rush's "full" answers cost no RPC.

Once a clinic's seats are gone, most booking attempts are for slots that are full, and each
would cost an RPC, a scheduling transaction and a broker round trip while the people who can
still get a seat wait behind them. Scheduling stays the only judge of a seat: what is kept
here only refuses, and only for a few seconds after scheduling said so
(`CVMS_SLOT_FULL_MEMORY_S`; 0 turns it off). A seat that frees up meanwhile (a cancellation
nobody on the waitlist takes, more capacity) reaches the public that much later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import Counter

from cvms_platform.errors import Conflict

SLOT_FULL = "slot_full"
MOST_REMEMBERED = 100_000  # slots; far more than any rush's, and a few MB at most

KNOWN_FULL = Counter(
    "cvms_gateway_known_full_total",
    "Bookings answered 'slot_full' from what scheduling said moments before, without an RPC",
)


class FullSlots:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        # The answer's arguments, not the exception: an exception raised again and again would
        # carry every earlier traceback along.
        self._until: dict[str, tuple[float, tuple]] = {}

    def remember(self, slot_id: str, answer: Conflict) -> None:
        """Keep scheduling's answer if it says the slot is full."""
        if self.seconds <= 0 or answer.args[1:2] != (SLOT_FULL,):
            return
        now = self.clock()
        with self._lock:
            if len(self._until) >= MOST_REMEMBERED:
                self._until = {k: v for k, v in self._until.items() if v[0] > now}
                if len(self._until) >= MOST_REMEMBERED:
                    self._until.clear()
            self._until[slot_id] = (now + self.seconds, answer.args)

    def is_full(self, slot_id: str) -> bool:
        """Whether the slot was said to be full moments ago (without counting an answer)."""
        known = self._until.get(slot_id)
        return known is not None and known[0] > self.clock()

    def refusal(self, slot_id: str) -> Conflict | None:
        """Scheduling's "full" answer for the slot, while it is fresh."""
        known = self._until.get(slot_id)
        if known is None:
            return None
        if known[0] <= self.clock():
            with self._lock:
                self._until.pop(slot_id, None)
            return None
        KNOWN_FULL.inc()
        return Conflict(*known[1])
