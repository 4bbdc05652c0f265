"""Scheduling raises the platform's boundary errors. A Conflict carries a second argument, a
machine-readable code (`slot_full`, `already_booked`, ...), that the gateway answers with."""

from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable

SLOT_FULL = "slot_full"
ALREADY_BOOKED = "already_booked"
SLOT_UNAVAILABLE = "slot_unavailable"
CAPACITY_BELOW_BOOKED = "capacity_below_booked"
NOT_ACTIVE = "appointment_not_active"
SEATS_AVAILABLE = "seats_available"
ALREADY_WAITING = "already_waiting"
OFFER_NOT_OPEN = "offer_not_open"
NO_NEXT_DOSE = "no_next_dose"


def conflict(code: str, message: str) -> Conflict:
    return Conflict(message, code)


__all__ = ["Conflict", "InvalidInput", "NotFound", "Unprocessable", "conflict"]
