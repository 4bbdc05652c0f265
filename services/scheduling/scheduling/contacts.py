"""Where to reach the person of an appointment or a waitlist place, and where they are expected:
what the notifications service asks at send time (events carry ids, never these details)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cvms_platform.errors import NotFound
from scheduling.models import Appointment, LocationSettings, WaitlistEntry

KINDS = {"appointment": Appointment, "waitlist": WaitlistEntry}


def of(session: Session, kind: str, booking_id: str) -> dict:
    """`kind`: appointment or waitlist. NotFound if there is no such booking."""
    model = KINDS.get(kind)
    found = session.get(model, booking_id) if model is not None else None
    if found is None:
        raise NotFound(f"No {kind} {booking_id}.")
    settings = session.get(LocationSettings, found.location_id)
    return {
        "given_name": found.given_name,
        "email": found.email,
        "phone": found.phone,
        "language": found.preferred_language or "en",
        "location": _location(found.location_id, settings),
    }


def _location(location_id: str, settings: LocationSettings | None) -> dict:
    if settings is None:
        return {"id": location_id, "name": location_id, "address": None, "time_zone": "UTC"}
    street = ", ".join(part for part in (settings.line1, settings.line2) if part)
    return {
        "id": location_id,
        "name": settings.name,
        "address": f"{street}, {settings.city}, {settings.state} {settings.zip}",
        "phone": settings.phone,
        "time_zone": settings.time_zone,
    }
