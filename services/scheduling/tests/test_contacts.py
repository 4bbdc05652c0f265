"""What the notifications service is told at send time about the person of a booking and where
they are expected (events carry ids only)."""

import pytest
from sqlalchemy import select

from cvms_platform.errors import InvalidInput, NotFound
from scheduling.models import Appointment, WaitlistEntry

from .conftest import LOCATION, PFIZER


def test_an_appointments_contact_and_location(service, day, make_person, read):
    slot = day["slots"][0]
    booked = service.book_appointment({"slot_id": slot["id"], **make_person(phone="2125550199")})

    [appointment_id] = read.all(
        select(Appointment.id).where(Appointment.confirmation_code == booked["confirmation_code"])
    )
    contact = service.booking_contact("appointment", appointment_id)

    assert contact["given_name"] == "Ana"
    assert (contact["email"], contact["phone"], contact["language"]) == (
        "ana@example.org",
        "2125550199",
        "es",
    )
    assert contact["location"] == {
        "id": LOCATION,
        "name": "Clinic One",
        "address": "1 Main St, New York, NY 10001",
        "phone": "212-555-0100",
        "time_zone": "America/New_York",
    }


def test_a_waitlist_places_contact(service, day, make_person, read):
    for slot in day["slots"]:  # every seat taken: the day has a waitlist
        for _ in range(slot["capacity"]):
            service.book_appointment({"slot_id": slot["id"], **make_person()})
    joined = service.join_waitlist(
        {"clinic_day_id": day["id"], "product_id": PFIZER, **make_person(given_name="Luz")}
    )

    [entry_id] = read.all(select(WaitlistEntry.id).where(WaitlistEntry.code == joined["code"]))
    contact = service.booking_contact("waitlist", entry_id)

    assert (contact["given_name"], contact["language"]) == ("Luz", "es")
    assert contact["location"]["name"] == "Clinic One"


def test_an_unknown_booking_or_kind_is_refused(service):
    with pytest.raises(NotFound):
        service.booking_contact("appointment", "00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        service.booking_contact("waitlist", "not-a-uuid")
    with pytest.raises(InvalidInput):
        service.booking_contact("recipient", "00000000-0000-4000-8000-000000000000")


def test_many_contacts_at_once_each_as_booking_contact_answers_it(service, day, make_person, read):
    for slot, given_name in zip(day["slots"], ("Ana", "Bea", "Cruz"), strict=False):
        service.book_appointment({"slot_id": slot["id"], **make_person(given_name=given_name)})
    ids = read.all(select(Appointment.id))
    unknown = "00000000-0000-4000-8000-000000000000"

    answered = service.booking_contacts("appointment", [*ids, unknown, ids[0]])

    assert sorted(answered) == sorted(ids)  # the unknown id is left out, a repeat answered once
    for appointment_id in ids:
        assert answered[appointment_id] == service.booking_contact("appointment", appointment_id)
    assert {c["given_name"] for c in answered.values()} == {"Ana", "Bea", "Cruz"}
    assert service.booking_contacts("waitlist", ids) == {}  # no waitlist place has these ids


def test_many_contacts_refuses_what_is_not_a_batch_of_booking_ids(service):
    some = ["00000000-0000-4000-8000-000000000000"]
    for kind, ids in (
        ("recipient", some),
        ("appointment", []),
        ("appointment", ["not-a-uuid"]),
        ("appointment", "00000000-0000-4000-8000-000000000000"),
        ("appointment", some * 501),
    ):
        with pytest.raises(InvalidInput):
            service.booking_contacts(kind, ids)


def _contact_of(service, read, booked) -> dict:
    [appointment_id] = read.all(
        select(Appointment.id).where(Appointment.confirmation_code == booked["confirmation_code"])
    )
    return service.booking_contact("appointment", appointment_id)


def test_the_channels_chosen_when_booking_are_answered(service, day, make_person, read):
    first, second, third = (slot["id"] for slot in day["slots"][:3])
    both = service.book_appointment({"slot_id": first, **make_person(phone="2125550199")})
    no_texts = service.book_appointment(
        {
            "slot_id": second,
            **make_person(given_name="Bea", phone="2125550198"),
            "contact_preferences": {"sms": False},
        }
    )
    email_only = service.book_appointment({"slot_id": third, **make_person(given_name="Cy")})

    assert _contact_of(service, read, both)["channels"] == ["email", "sms"]
    assert _contact_of(service, read, no_texts)["channels"] == ["email"]
    assert _contact_of(service, read, email_only)["channels"] == ["email"]  # no phone given


def test_a_channel_chosen_without_its_address_is_refused(service, day, make_person):
    with pytest.raises(InvalidInput) as refused:
        service.book_appointment(
            {
                "slot_id": day["slots"][0]["id"],
                **make_person(phone=None),
                "contact_preferences": {"sms": True},
            }
        )
    assert "contact_preferences" in refused.value.errors
