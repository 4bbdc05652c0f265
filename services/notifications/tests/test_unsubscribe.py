"""A reminder carries a link to stop reminders (and a List-Unsubscribe header); once used,
reminders to that address stop, while what a booking needs (its confirmation) still goes."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cvms_platform.errors import NotFound
from notifications.models import Delivery

from .conftest import APPOINTMENT, booked, event_body


def reminder(code: str = "K7Q2M9XW3P") -> dict:
    return event_body(
        "appointment_reminder_due",
        {
            "appointment_id": uuid.UUID(APPOINTMENT),
            "confirmation_code": code,
            "location_id": "clinic-1",
            "starts_at": datetime(2030, 3, 4, 15, 0, tzinfo=UTC),
            "preferred_language": "es",
            "contact_channels": ["email"],
        },
    )


def test_a_reminders_link_stops_reminders_but_not_confirmations(service, mailbox, read):
    service.on_appointment_reminder_due(reminder())
    service.send_due()
    [mail] = mailbox.messages()
    [sent] = read.all(select(Delivery))
    link = f"https://vaccinate.example/unsubscribe?m={sent.id}"
    assert mail["List-Unsubscribe"] == f"<{link}>"
    assert link in mail.get_body(("plain",)).get_content()

    assert service.unsubscribe(sent.id) == {
        "masked_address": "a***@example.org",
        "channel": "email",
    }
    service.on_appointment_reminder_due(reminder("SECOND0001"))
    service.on_appointment_booked(booked(confirmation_code="THIRD00001"))
    service.send_due()

    assert len(mailbox.messages()) == 2  # the reminder, then the confirmation; no second reminder
    states = {d.message_type: d.state for d in read.all(select(Delivery)) if d.id != sent.id}
    assert states == {"appointment_reminder_due": "suppressed", "appointment_booked": "sent"}


def test_a_confirmation_has_no_unsubscribe_link_and_cannot_be_used_as_one(service, mailbox, read):
    service.on_appointment_booked(booked())
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["List-Unsubscribe"] is None
    [sent] = read.all(select(Delivery))
    with pytest.raises(NotFound):
        service.unsubscribe(sent.id)
    with pytest.raises(NotFound):
        service.unsubscribe("00000000-0000-4000-8000-000000000000")
