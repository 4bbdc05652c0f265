"""Which messages an event owes, to whom and on which channel: one delivery row each, written in
the event's inbox transaction, before anything is sent.

A booking's and a waitlist offer's messages go on each channel the person agreed to (the
event's `contact_channels`: e-mail, SMS); set-password links by e-mail only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from notifications.models import QUEUED, Delivery

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

EMAIL, SMS = "email", "sms"
# The channels messages are delivered on, in the order a person's are queued.
DELIVERED_CHANNELS = (EMAIL, SMS)
APPOINTMENT, WAITLIST, USER, STAFF = "appointment", "waitlist", "user", "staff"
# A help-desk account (issue 15): its address is identity's, its case's text the help desk's.
REQUESTER = "requester"
# Who hears about a location's stock: its managers (an organization admin acts for them all).
STOCK_ROLES = ["location_manager"]


@dataclass(frozen=True)
class Owed:
    """One message an event owes: its type, whose address (kind and id), what it is about
    (`subject_id`, what staff look it up by), whether it must go even to an unsubscribed
    address, the facts its template needs (ids, codes and times only), and its channel."""

    message_type: str
    person_kind: str
    person_id: str
    subject_id: str
    transactional: bool
    facts: dict
    channel: str = EMAIL


def _plain(value):
    """A loaded payload value as JSON keeps it (the facts column)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _facts(payload: dict, keys: tuple[str, ...]) -> dict:
    return {key: _plain(payload[key]) for key in keys if key in payload}


def _channels(payload: dict) -> list[str]:
    """The channels the person agreed to that messages are delivered on (an event that does
    not say: e-mail)."""
    agreed = payload.get("contact_channels", [EMAIL])
    return [channel for channel in DELIVERED_CHANNELS if channel in agreed]


def _booking(event: Event, *, transactional: bool = True) -> list[Owed]:
    payload = event.payload
    facts = _facts(
        payload,
        ("confirmation_code", "location_id", "starts_at", "previous_starts_at", "dose_number"),
    )
    appointment = str(payload["appointment_id"])
    return [
        Owed(event.type, APPOINTMENT, appointment, appointment, transactional, facts, channel)
        for channel in _channels(payload)
    ]


def _waitlist_offer(event: Event) -> list[Owed]:
    payload = event.payload
    facts = _facts(payload, ("waitlist_code", "location_id", "kind", "expires_at"))
    entry = str(payload["waitlist_entry_id"])
    return [
        Owed(event.type, WAITLIST, entry, entry, True, facts, channel)
        for channel in _channels(payload)
    ]


def _password_link(event: Event) -> list[Owed]:
    payload = event.payload
    facts = _facts(payload, ("link_id", "expires_at"))
    user = str(payload["user_id"])
    return [Owed(event.type, USER, user, user, True, facts)]


def _follow_up(event: Event) -> list[Owed]:
    """After a recorded dose: when the next one is due (nothing when the series is complete);
    after a voided one: that the appointment is open again."""
    payload = event.payload
    if event.type == "appointment_completed" and payload.get("next_dose_from") is None:
        return []
    facts = _facts(
        payload, ("confirmation_code", "location_id", "dose_number", "next_dose_from", "status")
    )
    appointment = str(payload["appointment_id"])
    return [Owed(event.type, APPOINTMENT, appointment, appointment, True, facts)]


STOCK_FACTS = (
    "location_id",
    "product_id",
    "lot_id",
    "lot_number",
    "expiration_date",
    "days_left",
    "doses_on_hand",
    "days_of_supply",
    "threshold_days",
    "reason",
)


def _stock(event: Event, staff) -> list[Owed]:
    """A location's stock news, to each of its managers (by e-mail; about the location)."""
    payload = event.payload
    facts = _facts(payload, STOCK_FACTS)
    location = payload["location_id"]
    return [Owed(event.type, STAFF, user, location, True, facts) for user in staff(location)]


# The marketplace's claims and transfers (issue 14): which side's managers each event is for,
# by the payload's location field. Both sides hear that a claim expired unanswered.
OFFERING, CLAIMING = "offering_location_id", "claiming_location_id"
MARKETPLACE_SIDES = {
    "claim_requested": (OFFERING,),
    "claim_accepted": (CLAIMING,),
    "claim_declined": (CLAIMING,),
    "claim_expired": (OFFERING, CLAIMING),
    "transfer_shipped": (CLAIMING,),
    "transfer_received": (OFFERING,),
    "transfer_problem_reported": (OFFERING,),
}
MARKETPLACE_FACTS = (
    "claim_id",
    "offer_id",
    OFFERING,
    CLAIMING,
    "product_id",
    "lot_number",
    "doses",
    "doses_requested",
    "doses_accepted",
    "doses_shipped",
    "doses_received",
    "doses_affected",
    "reason",
    "problem",
    "arrival_temperature_c",
    "expires_at",
    "expired_at",
    "shipped_at",
    "received_at",
)


def _marketplace(event: Event, staff) -> list[Owed]:
    """A claim's or a transfer's news, to each manager of the location that must act or needs
    to know (by e-mail; about that location, which the facts name as `location_id`). A person
    who manages both sides of an expired claim is written to once (one row per event and
    person)."""
    payload = event.payload
    owed = []
    for side in MARKETPLACE_SIDES[event.type]:
        location = payload[side]
        facts = {**_facts(payload, MARKETPLACE_FACTS), "location_id": location, "side": side}
        owed.extend(
            Owed(event.type, STAFF, user, location, True, facts) for user in staff(location)
        )
    return owed


def _verification(event: Event) -> list[Owed]:
    """A help-desk account's address to verify, in the language it registered in."""
    payload = event.payload
    facts = _facts(payload, ("link_id", "expires_at", "language"))
    user = str(payload["user_id"])
    return [Owed(event.type, USER, user, user, True, facts)]


def _case_message(event: Event) -> list[Owed]:
    """An agent's public reply to a help-desk case, or its resolution with the notes: to the
    requester, once per event (the text is asked of the help desk at send time)."""
    payload = event.payload
    facts = _facts(payload, ("case_id", "entry_id", "language"))
    case = str(payload["case_id"])
    return [Owed(event.type, REQUESTER, str(payload["requester_id"]), case, True, facts)]


OWED_BY = {
    "appointment_booked": _booking,
    "appointment_cancelled": _booking,
    "appointment_rescheduled": _booking,
    # A reminder is the one message a person may unsubscribe from.
    "appointment_reminder_due": lambda event: _booking(event, transactional=False),
    "waitlist_offer_made": _waitlist_offer,
    "user_invited": _password_link,
    "password_reset_requested": _password_link,
    "appointment_completed": _follow_up,
    "appointment_reopened": _follow_up,
    "email_verification_requested": _verification,
    "case_replied": _case_message,
    "case_resolved": _case_message,
}
# Messages to a location's staff: who they are is asked of identity when the event comes.
TO_STAFF = ("stock_low", "lot_expiring", "inventory_discrepancy_recorded")


def _owed(event: Event, staff) -> list[Owed]:
    if event.type in TO_STAFF:
        return _stock(event, staff)
    if event.type in MARKETPLACE_SIDES:
        return _marketplace(event, staff)
    return OWED_BY[event.type](event)


def queue(session: Session, event: Event, now: datetime, staff=None) -> list[str]:
    """Add the event's deliveries (each once: a (event, person, channel) already queued is left
    as it is), in one INSERT that skips those; the ids of the rows added. `staff(location_id)`:
    the user ids of a location's managers (for stock and marketplace news)."""
    return queue_many(session, [event], now, staff)


def queue_many(session: Session, events: list[Event], now: datetime, staff=None) -> list[str]:
    """`queue` for a batch of events (a consumer's batch), in one INSERT for them all."""
    rows = [
        {
            "id": str(uuid.uuid4()),
            "event_id": event.id,
            "message_type": owed.message_type,
            "person_kind": owed.person_kind,
            "person_id": owed.person_id,
            "subject_id": owed.subject_id,
            "channel": owed.channel,
            "transactional": owed.transactional,
            "facts": owed.facts,
            "state": QUEUED,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for event in events
        for owed in _owed(event, staff)
    ]
    if not rows:
        return []
    insert = _INSERTS[session.get_bind().dialect.name]
    # The unique (event, person, channel) key: a row already there is skipped, not an error.
    # The rows as parameters, not in the statement: it is compiled once (cached), whatever the
    # batch's size, and SQLAlchemy sends them in one multi-row INSERT.
    added = session.execute(
        insert(Delivery.__table__)
        .on_conflict_do_nothing(index_elements=["event_id", "person_id", "channel"])
        .returning(Delivery.__table__.c.id),
        rows,
    )
    return list(added.scalars())
