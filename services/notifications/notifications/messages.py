"""Which messages an event owes, to whom and on which channel: one delivery row each, written in
the event's inbox transaction, before anything is sent.

E-mail is the channel delivered today; an SMS provider is next (the events already say which
channels a person agreed to)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from notifications.models import QUEUED, Delivery

EMAIL = "email"
APPOINTMENT, WAITLIST, USER = "appointment", "waitlist", "user"


@dataclass(frozen=True)
class Owed:
    """One message an event owes: its type, whose address (kind and id), what it is about
    (`subject_id`, what staff look it up by), whether it must go even to an unsubscribed
    address, and the facts its template needs (ids, codes and times only)."""

    message_type: str
    person_kind: str
    person_id: str
    subject_id: str
    transactional: bool
    facts: dict


def _plain(value):
    """A loaded payload value as JSON keeps it (the facts column)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _facts(payload: dict, keys: tuple[str, ...]) -> dict:
    return {key: _plain(payload[key]) for key in keys if key in payload}


def _booking(event: Event, *, transactional: bool = True) -> list[Owed]:
    payload = event.payload
    if "contact_channels" in payload and EMAIL not in payload["contact_channels"]:
        return []
    facts = _facts(
        payload,
        ("confirmation_code", "location_id", "starts_at", "previous_starts_at", "dose_number"),
    )
    appointment = str(payload["appointment_id"])
    return [Owed(event.type, APPOINTMENT, appointment, appointment, transactional, facts)]


def _waitlist_offer(event: Event) -> list[Owed]:
    payload = event.payload
    if EMAIL not in payload["contact_channels"]:
        return []
    facts = _facts(payload, ("waitlist_code", "location_id", "kind", "expires_at"))
    entry = str(payload["waitlist_entry_id"])
    return [Owed(event.type, WAITLIST, entry, entry, True, facts)]


def _password_link(event: Event) -> list[Owed]:
    payload = event.payload
    facts = _facts(payload, ("link_id", "expires_at"))
    user = str(payload["user_id"])
    return [Owed(event.type, USER, user, user, True, facts)]


OWED_BY = {
    "appointment_booked": _booking,
    "appointment_cancelled": _booking,
    "appointment_rescheduled": _booking,
    # A reminder is the one message a person may unsubscribe from.
    "appointment_reminder_due": lambda event: _booking(event, transactional=False),
    "waitlist_offer_made": _waitlist_offer,
    "user_invited": _password_link,
    "password_reset_requested": _password_link,
}


def queue(session: Session, event: Event, now: datetime) -> list[Delivery]:
    """Add the event's deliveries (each once: a (event, person, channel) already queued is left
    as it is)."""
    added = []
    for owed in OWED_BY[event.type](event):
        exists = session.scalar(
            select(Delivery.id).where(
                Delivery.event_id == event.id,
                Delivery.person_id == owed.person_id,
                Delivery.channel == EMAIL,
            )
        )
        if exists:
            continue
        delivery = Delivery(
            id=str(uuid.uuid4()),
            event_id=event.id,
            message_type=owed.message_type,
            person_kind=owed.person_kind,
            person_id=owed.person_id,
            subject_id=owed.subject_id,
            channel=EMAIL,
            transactional=owed.transactional,
            facts=owed.facts,
            state=QUEUED,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(delivery)
        added.append(delivery)
    return added
