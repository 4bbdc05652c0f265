"""After a dose: when the next one is due (nothing when the series is complete), and that a
voided dose opened the appointment again; a location's stock news to each of its managers."""

import uuid
from datetime import date

from sqlalchemy import select

from notifications.models import Delivery

from .conftest import APPOINTMENT, event_body

MANAGER = str(uuid.uuid4())


def completed(next_dose_from):
    return event_body(
        "appointment_completed",
        {
            "appointment_id": uuid.UUID(APPOINTMENT),
            "confirmation_code": "K7Q2M9XW3P",
            "location_id": "clinic-1",
            "product_id": "pfizer-gray-12plus",
            "dose_number": 1,
            "administration_id": uuid.uuid4(),
            "recipient_id": uuid.uuid4(),
            "next_dose_from": next_dose_from,
        },
    )


def test_the_next_dose_is_due_from_a_day_said_in_the_persons_language(service, mailbox):
    service.on_appointment_completed(completed(date(2030, 3, 25)))
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["Subject"].endswith("a partir del lunes, 25 de marzo de 2030")
    assert "K7Q2M9XW3P" in mail.get_body(("plain",)).get_content()


def test_a_completed_series_needs_no_message(service, mailbox, read):
    service.on_appointment_completed(completed(None))
    assert read.all(select(Delivery)) == []


def test_a_voided_dose_tells_the_person_the_appointment_is_open_again(service, mailbox):
    body = event_body(
        "appointment_reopened",
        {
            "appointment_id": uuid.UUID(APPOINTMENT),
            "confirmation_code": "K7Q2M9XW3P",
            "location_id": "clinic-1",
            "product_id": "pfizer-gray-12plus",
            "dose_number": 1,
            "status": "checked_in",
            "voided_administration_id": uuid.uuid4(),
            "reason": "Entered for the wrong person.",
            "next_dose_withdrawn": True,
        },
    )
    service.on_appointment_reopened(body)
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Su cita de vacunación está abierta de nuevo"


def stock_low():
    return event_body(
        "stock_low",
        {
            "location_id": "clinic-1",
            "product_id": "pfizer-gray-12plus",
            "doses_on_hand": 40,
            "average_daily_use": 20.0,
            "days_of_supply": 2.0,
            "threshold_days": 3,
        },
    )


def test_low_stock_is_told_to_each_manager_of_the_location(service, mailbox, owners, read):
    other = str(uuid.uuid4())
    owners.users[MANAGER] = {"email": "lee@clinic.example", "active": True, "manages": "clinic-1"}
    owners.users[other] = {"email": "kim@clinic.example", "active": True, "manages": "clinic-1"}
    owners.users[str(uuid.uuid4())] = {"email": "x@else.example", "active": True, "manages": "x"}

    service.on_stock_low(stock_low())
    service.send_due()

    mails = mailbox.messages()
    assert sorted(mail["To"] for mail in mails) == ["kim@clinic.example", "lee@clinic.example"]
    assert mails[0]["Subject"] == "Low stock at clinic-1: pfizer-gray-12plus, 2.0 days left"
    assert "/provider/locations/clinic-1/inventory" in mails[0].get_body(("plain",)).get_content()
    assert {d.subject_id for d in read.all(select(Delivery))} == {"clinic-1"}


def test_a_deactivated_manager_is_not_written_to(service, mailbox, owners, read):
    owners.users[MANAGER] = {"email": "lee@clinic.example", "active": False, "manages": "clinic-1"}
    service.on_stock_low(stock_low())
    service.send_due()
    assert mailbox.messages() == []
    assert read.all(select(Delivery.state)) == ["suppressed"]
