"""Where to reach the person of an appointment or a waitlist place, and where they are expected:
what the notifications service asks at send time (events carry ids, never these details), one
at a time (`of`) or for a batch of messages at once (`of_many`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.errors import NotFound
from scheduling.models import Appointment, LocationSettings, WaitlistEntry

KINDS = {"appointment": Appointment, "waitlist": WaitlistEntry}
# The most bookings one `booking_contacts` call may name (notifications asks per batch).
MAX_MANY = 500


class ManyQuery(Schema):
    """`booking_contacts(kind, booking_ids)`: appointment or waitlist, and up to MAX_MANY ids."""

    kind = fields.Str(required=True, validate=validate.OneOf(sorted(KINDS)))
    booking_ids = fields.List(
        fields.UUID(), required=True, validate=validate.Length(min=1, max=MAX_MANY)
    )


def of(session: Session, kind: str, booking_id: str) -> dict:
    """`kind`: appointment or waitlist. NotFound if there is no such booking."""
    found = of_many(session, kind, [booking_id]).get(booking_id) if kind in KINDS else None
    if found is None:
        raise NotFound(f"No {kind} {booking_id}.")
    return found


def of_many(session: Session, kind: str, booking_ids: list[str]) -> dict[str, dict]:
    """What `of` answers, for each of `booking_ids` that names a booking of `kind`, by id, in
    two queries whatever their number; an id that names none is left out."""
    model = KINDS[kind]
    found = session.scalars(select(model).where(model.id.in_(set(booking_ids)))).all()
    where = {booking.location_id for booking in found}
    settings = (
        {
            row.location_id: row
            for row in session.scalars(
                select(LocationSettings).where(LocationSettings.location_id.in_(where))
            )
        }
        if where
        else {}
    )
    return {booking.id: _contact(booking, settings.get(booking.location_id)) for booking in found}


def _contact(found, settings: LocationSettings | None) -> dict:
    return {
        "given_name": found.given_name,
        "email": found.email,
        "phone": found.phone,
        "language": found.preferred_language or "en",
        # The channels chosen when booking; an older notifications service ignores this.
        "channels": found.contact_channels,
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
