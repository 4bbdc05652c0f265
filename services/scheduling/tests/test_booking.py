import pytest
from sqlalchemy import select

from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from scheduling.models import AppointmentHistory, Slot

from .conftest import DAY, LOCATION, MODERNA, clinic_days


def first_slot(day) -> dict:
    return day["slots"][0]


def seats(read, slot_id) -> int:
    [slot] = read.all(select(Slot).where(Slot.id == slot_id))
    return slot.booked


def test_a_day_is_made_of_slots_in_the_locations_time(day):
    assert [s["starts_at"] for s in day["slots"]] == [
        "2030-03-04T14:00:00+00:00",
        "2030-03-04T14:15:00+00:00",
        "2030-03-04T14:30:00+00:00",
        "2030-03-04T14:45:00+00:00",
    ]
    assert {s["capacity"] for s in day["slots"]} == {2}


def test_repeating_a_bulk_request_adds_no_slot_twice(service, day):
    again = service.create_clinic_days(
        LOCATION,
        clinic_days(DAY),
        "manager",
    )
    assert again[0]["slots_added"] == 0


def test_an_unknown_product_is_refused(service, location):
    with pytest.raises(InvalidInput) as error:
        service.create_clinic_days(
            location,
            clinic_days(DAY, product_id="no-such-vaccine"),
            "manager",
        )
    assert "product_id" in error.value.errors


def test_booking_gives_a_code_takes_a_seat_and_announces_it(service, day, make_person, read):
    slot = first_slot(day)

    booked = service.book_appointment({"slot_id": slot["id"], **make_person()})

    assert len(booked["confirmation_code"]) == 10
    assert booked["status"] == "booked"
    assert seats(read, slot["id"]) == 1
    [event] = read.events("appointment_booked")
    payload = event["payload"]
    assert payload["confirmation_code"] == booked["confirmation_code"]
    assert payload["contact_channels"] == ["email"]
    assert "family_name" not in payload and "birth_date" not in payload
    assert [h.action for h in read.all(select(AppointmentHistory))] == ["booked"]


def test_a_full_slot_answers_slot_full(service, day, make_person, read):
    slot = first_slot(day)
    for _ in range(2):
        service.book_appointment({"slot_id": slot["id"], **make_person()})

    with pytest.raises(Conflict) as error:
        service.book_appointment({"slot_id": slot["id"], **make_person()})

    assert error.value.args[1] == "slot_full"
    assert seats(read, slot["id"]) == 2


def test_one_active_appointment_per_person_and_dose(service, day, make_person, read):
    ana = make_person()
    service.book_appointment({"slot_id": day["slots"][0]["id"], **ana})
    same_person = {**ana, "family_name": ana["family_name"].upper() + " "}

    with pytest.raises(Conflict) as error:
        service.book_appointment({"slot_id": day["slots"][1]["id"], **same_person})

    assert error.value.args[1] == "already_booked"
    assert seats(read, day["slots"][1]["id"]) == 0


def test_a_booking_needs_a_way_to_reach_the_person(service, day, make_person):
    with pytest.raises(InvalidInput) as error:
        service.book_appointment(
            {"slot_id": first_slot(day)["id"], **make_person(email=None, phone=None)}
        )
    assert "phone" in error.value.errors


def test_cancel_frees_the_seat_and_leaves_a_trace(service, day, make_person, read):
    slot = first_slot(day)
    code = service.book_appointment({"slot_id": slot["id"], **make_person()})["confirmation_code"]

    cancelled = service.cancel_appointment(code.lower(), {"reason": "cannot come"})

    assert cancelled["status"] == "cancelled"
    assert seats(read, slot["id"]) == 0
    [event] = read.events("appointment_cancelled")
    assert event["payload"]["cancelled_by"] == "recipient"
    actions = [h.action for h in read.all(select(AppointmentHistory))]
    assert sorted(actions) == ["booked", "cancelled"]
    with pytest.raises(Conflict):
        service.cancel_appointment(code)


def test_reschedule_moves_the_seat(service, day, make_person, read):
    first, second = day["slots"][0], day["slots"][1]
    code = service.book_appointment({"slot_id": first["id"], **make_person()})["confirmation_code"]

    moved = service.reschedule_appointment(code, {"slot_id": second["id"]})

    assert moved["slot_id"] == second["id"]
    assert (seats(read, first["id"]), seats(read, second["id"])) == (0, 1)
    [event] = read.events("appointment_rescheduled")
    assert event["payload"]["previous_slot_id"] == first["id"]


def test_reschedule_to_a_full_slot_changes_nothing(service, day, make_person, read):
    first, second = day["slots"][0], day["slots"][1]
    code = service.book_appointment({"slot_id": first["id"], **make_person()})["confirmation_code"]
    for _ in range(2):
        service.book_appointment({"slot_id": second["id"], **make_person()})

    with pytest.raises(Conflict) as error:
        service.reschedule_appointment(code, {"slot_id": second["id"]})

    assert error.value.args[1] == "slot_full"
    assert service.get_appointment(code)["slot_id"] == first["id"]
    assert (seats(read, first["id"]), seats(read, second["id"])) == (1, 2)


def test_capacity_never_drops_below_bookings(service, day, make_person, read):
    slot = first_slot(day)
    service.book_appointment({"slot_id": slot["id"], **make_person()})

    with pytest.raises(Conflict) as error:
        service.set_slot_capacity(LOCATION, slot["id"], {"capacity": 0})
    assert error.value.args[1] == "capacity_below_booked"

    assert service.set_slot_capacity(LOCATION, slot["id"], {"capacity": 1})["capacity"] == 1
    with pytest.raises(Conflict):
        service.book_appointment({"slot_id": slot["id"], **make_person()})


def test_closing_a_day_cancels_its_bookings_explicitly(service, day, make_person, read):
    code = service.book_appointment({"slot_id": first_slot(day)["id"], **make_person()})[
        "confirmation_code"
    ]

    closed = service.close_clinic_day(LOCATION, day["id"], {"reason": "storm"}, "manager")

    assert len(closed["cancelled"]) == 1 and closed["moved"] == []
    assert service.get_appointment(code)["status"] == "cancelled"
    [event] = read.events("appointment_cancelled")
    assert event["payload"]["reason"] == "clinic_day_closed"
    with pytest.raises(Conflict) as error:
        service.book_appointment({"slot_id": first_slot(day)["id"], **make_person()})
    assert error.value.args[1] == "slot_unavailable"


def test_closing_a_day_can_move_bookings_to_another_day(service, day, make_person, read):
    [other] = service.create_clinic_days(
        LOCATION,
        clinic_days("2030-03-05"),
        "manager",
    )
    slot = day["slots"][2]  # 09:30
    code = service.book_appointment({"slot_id": slot["id"], **make_person()})["confirmation_code"]

    closed = service.close_clinic_day(
        LOCATION, day["id"], {"reason": "storm", "move_to_clinic_day_id": other["id"]}, "manager"
    )

    assert len(closed["moved"]) == 1
    moved = service.get_appointment(code)
    assert (moved["status"], moved["starts_at"]) == ("booked", "2030-03-05T14:30:00+00:00")
    [event] = read.events("appointment_rescheduled")
    assert event["payload"]["rescheduled_by"] == "staff"


def test_an_unknown_code_is_not_found(service):
    with pytest.raises(NotFound):
        service.get_appointment("ABCDEFGHJK")


def test_a_slot_of_another_product_is_not_a_reschedule_target(service, location, day, make_person):
    [moderna] = service.create_clinic_days(
        location,
        clinic_days(DAY, product_id=MODERNA, opens="11:00", closes="12:00", every_minutes=30),
        "manager",
    )
    slots = service.get_clinic_day(location, moderna["id"])["slots"]
    target = next(s for s in slots if s["product_id"] == MODERNA)
    code = service.book_appointment({"slot_id": first_slot(day)["id"], **make_person()})[
        "confirmation_code"
    ]
    with pytest.raises(Unprocessable) as error:
        service.reschedule_appointment(code, {"slot_id": target["id"]})
    assert "slot_id" in error.value.errors
