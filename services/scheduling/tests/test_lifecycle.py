"""Second doses, waitlists and leftover doses, reminders, check-in and no-show, walk-ins."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cvms_platform.errors import Conflict, Unprocessable
from scheduling.models import Slot

from .conftest import LOCATION, PFIZER, clinic_days


def book(service, slot, person):
    return service.book_appointment({"slot_id": slot["id"], **person})


def dose_event(make_event, appointment_id_or_recipient, *, dose_number=1, location=LOCATION):
    return make_event(
        "dose_administered",
        {
            "administration_id": str(uuid.uuid4()),
            "recipient_id": appointment_id_or_recipient,
            "location_id": location,
            "lot_id": str(uuid.uuid4()),
            "product_id": PFIZER,
            "lot_number": "FK5127",
            "dose_number": dose_number,
            "administered_at": datetime(2030, 3, 4, 14, 5, tzinfo=UTC),
        },
    )


@pytest.fixture
def checked_in(service, day, make_person, clock):
    booked = book(service, day["slots"][0], make_person())
    [staff_view] = service.list_appointments(LOCATION, "2030-03-04")
    recipient = str(uuid.uuid4())
    clock.now = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)
    service.check_in(LOCATION, staff_view["id"], {"recipient_id": recipient}, "vaccinator")
    return booked["confirmation_code"], recipient


def test_a_recorded_first_dose_completes_and_opens_the_second(
    service, checked_in, make_event, read
):
    code, recipient = checked_in

    service.on_dose_administered(dose_event(make_event, recipient))

    viewed = service.get_appointment(code)
    assert viewed["status"] == "completed"
    assert viewed["next_dose"] == {
        "dose_number": 2,
        "eligible_from": "2030-03-25",  # 21 days for Pfizer
        "location_id": LOCATION,
        "product_id": PFIZER,
        "booked": False,
    }
    [event] = read.events("appointment_completed")
    assert event["payload"]["next_dose_from"] == "2030-03-25"


def test_the_second_dose_is_bookable_from_the_interval_on_with_the_same_code(
    service, checked_in, make_event
):
    code, recipient = checked_in
    service.on_dose_administered(dose_event(make_event, recipient))
    too_early = service.create_clinic_days(LOCATION, clinic_days("2030-03-24"), "manager")[0]
    in_time = service.create_clinic_days(LOCATION, clinic_days("2030-03-25"), "manager")[0]
    early_slot = service.get_clinic_day(LOCATION, too_early["id"])["slots"][0]

    offered = service.next_dose_slots(code)
    assert offered["slots"] and all(s["starts_at"] >= "2030-03-25" for s in offered["slots"])
    with pytest.raises(Unprocessable):
        service.book_next_dose(code, {"slot_id": early_slot["id"]})

    second = service.book_next_dose(code, {"slot_id": offered["slots"][0]["id"]})

    assert second["dose_number"] == 2
    assert second["family_name"] == service.get_appointment(code)["family_name"]
    assert service.get_appointment(code)["next_dose"]["booked"] is True
    assert in_time["id"] == offered["slots"][0]["clinic_day_id"]
    with pytest.raises(Conflict):
        service.book_next_dose(code, {"slot_id": offered["slots"][1]["id"]})


def test_a_dose_for_someone_without_appointment_changes_nothing(service, day, make_event, read):
    service.on_dose_administered(dose_event(make_event, str(uuid.uuid4())))
    assert read.events("appointment_completed") == []


def test_an_imported_dose_completes_its_recipients_appointment(
    service, checked_in, make_event, read
):
    code, recipient = checked_in
    doses = [
        {
            **dose_event(make_event, r)["payload"],
            "administered_at": datetime(2030, 3, 4, 14, 5, tzinfo=UTC),
        }
        for r in (str(uuid.uuid4()), recipient)
    ]
    chunk = make_event(
        "administrations_imported",
        {"import_id": str(uuid.uuid4()), "location_id": LOCATION, "doses": doses},
    )

    service.on_administrations_imported(chunk)

    viewed = service.get_appointment(code)
    assert viewed["status"] == "completed"
    assert viewed["next_dose"]["eligible_from"] == "2030-03-25"
    [event] = read.events("appointment_completed")
    assert event["payload"]["administration_id"] == doses[1]["administration_id"]


def join(service, day, person, clock):
    clock.advance(seconds=1)  # first come, first offered
    return service.join_waitlist({"clinic_day_id": day["id"], "product_id": PFIZER, **person})


def _fill(service, day, make_person):
    return [
        book(service, slot, make_person())["confirmation_code"]
        for slot in day["slots"]
        for _ in range(slot["capacity"])
    ]


def test_the_waitlist_opens_only_when_the_day_is_full(service, day, make_person):
    with pytest.raises(Conflict) as error:
        service.join_waitlist({"clinic_day_id": day["id"], "product_id": PFIZER, **make_person()})
    assert error.value.args[1] == "seats_available"


def test_a_cancellation_is_offered_to_the_first_waiting_and_held_for_them(
    service, day, make_person, read, clock
):
    codes = _fill(service, day, make_person)
    first = join(service, day, make_person(), clock)
    second = join(service, day, make_person(), clock)

    service.cancel_appointment(codes[0])

    offer = service.get_waitlist_entry(first["code"])
    assert offer["status"] == "offered" and offer["offer_kind"] == "cancellation"
    assert service.get_waitlist_entry(second["code"])["status"] == "waiting"
    [event] = read.events("waitlist_offer_made")
    assert event["payload"]["waitlist_code"] == first["code"]
    # The seat is held for the offer: the public cannot take it.
    with pytest.raises(Conflict):
        book(service, {"id": offer["offered_slot_id"]}, make_person())

    appointment = service.accept_waitlist_offer(first["code"])
    assert appointment["slot_id"] == offer["offered_slot_id"]
    [slot] = read.all(select(Slot).where(Slot.id == offer["offered_slot_id"]))
    assert slot.booked == slot.capacity


def test_an_offer_not_accepted_in_time_passes_to_the_next(service, day, make_person, clock):
    codes = _fill(service, day, make_person)
    first = join(service, day, make_person(), clock)
    second = join(service, day, make_person(), clock)
    service.cancel_appointment(codes[0])

    clock.advance(minutes=61)
    assert service.run_offer_expiry(clock.now) == 1

    assert service.get_waitlist_entry(first["code"])["status"] == "expired"
    assert service.get_waitlist_entry(second["code"])["status"] == "offered"
    with pytest.raises(Conflict) as error:
        service.accept_waitlist_offer(first["code"])
    assert error.value.args[1] == "offer_not_open"


def test_leftover_doses_are_offered_to_the_days_waitlist(service, day, make_person, clock):
    _fill(service, day, make_person)
    waiting = [join(service, day, make_person(), clock) for _ in range(3)]
    clock.now = datetime(2030, 3, 4, 21, 0, tzinfo=UTC)  # 16:00 in New York
    service.inventory.open_vials.return_value = [
        {
            "vial_id": str(uuid.uuid4()),
            "lot_id": str(uuid.uuid4()),
            "product_id": PFIZER,
            "doses_left": 2,
            "opened_at": (clock.now - timedelta(hours=1)).isoformat(),
            "beyond_use_at": (clock.now + timedelta(hours=5)).isoformat(),
        }
    ]

    offers = service.offer_leftover_doses(LOCATION)

    assert [o["code"] for o in offers] == [w["code"] for w in waiting[:2]]
    assert service.get_waitlist_entry(waiting[2]["code"])["status"] == "waiting"
    assert service.offer_leftover_doses(LOCATION) == []  # the two doses are offered already
    taken = service.accept_waitlist_offer(waiting[0]["code"])
    assert taken["slot_id"] is None and taken["status"] == "booked"


def test_a_reminder_is_due_once_24_hours_ahead(service, day, make_person, read, clock):
    booked = book(service, day["slots"][0], make_person())  # 2030-03-04 14:00 UTC

    assert service.send_reminders(datetime(2030, 3, 3, 13, 0, tzinfo=UTC)) == 0
    assert service.send_reminders(datetime(2030, 3, 3, 14, 0, tzinfo=UTC)) == 1
    assert service.send_reminders(datetime(2030, 3, 3, 15, 0, tzinfo=UTC)) == 0

    [event] = read.events("appointment_reminder_due")
    assert event["payload"]["confirmation_code"] == booked["confirmation_code"]
    assert event["payload"]["preferred_language"] == "es"


def test_no_show_only_once_the_time_has_come(service, day, make_person, clock):
    book(service, day["slots"][0], make_person())
    [appointment] = service.list_appointments(LOCATION)
    with pytest.raises(Unprocessable):
        service.mark_no_show(LOCATION, appointment["id"], "vaccinator")

    clock.now = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
    marked = service.mark_no_show(LOCATION, appointment["id"], "vaccinator")

    assert marked["status"] == "no_show"
    history = service.appointment_history(LOCATION, appointment["id"])["history"]
    assert [h["action"] for h in history] == ["booked", "no_show"]


def test_walk_ins_are_recorded_against_the_day(service, day):
    service.record_walk_in(LOCATION, day["id"], {"product_id": PFIZER}, "vaccinator")

    assert len(service.get_clinic_day(LOCATION, day["id"])["walk_ins"]) == 1


def test_leftover_doses_are_offered_once_near_the_end_of_the_day(service, day, make_person, clock):
    _fill(service, day, make_person)
    waiting = join(service, day, make_person(), clock)
    service.inventory.open_vials.return_value = [
        {
            "vial_id": str(uuid.uuid4()),
            "lot_id": str(uuid.uuid4()),
            "product_id": PFIZER,
            "doses_left": 3,
            "opened_at": "2030-03-04T14:00:00+00:00",
            "beyond_use_at": "2030-03-04T20:00:00+00:00",
        }
    ]
    # The day's last slot ends at 10:00 in New York (15:00 UTC).
    assert service.run_day_end_leftovers(datetime(2030, 3, 4, 14, 0, tzinfo=UTC)) == 0

    at_end = datetime(2030, 3, 4, 14, 40, tzinfo=UTC)
    assert service.run_day_end_leftovers(at_end) == 1
    assert service.run_day_end_leftovers(at_end) == 0

    assert service.get_waitlist_entry(waiting["code"])["offer_kind"] == "leftover_doses"


def test_someone_holding_an_appointment_does_not_join_a_waitlist(service, day, make_person, clock):
    ana = make_person()
    book(service, day["slots"][0], ana)
    _fill(
        service,
        {"slots": [s for s in day["slots"] if s["id"] != day["slots"][0]["id"]]},
        make_person,
    )
    book(service, day["slots"][0], make_person())

    with pytest.raises(Conflict) as error:
        join(service, day, ana, clock)

    assert error.value.args[1] == "already_booked"


def test_closing_a_day_gives_back_seats_held_for_offers(service, day, make_person, read, clock):
    codes = _fill(service, day, make_person)
    waiting = join(service, day, make_person(), clock)
    service.cancel_appointment(codes[0])
    offered_slot = service.get_waitlist_entry(waiting["code"])["offered_slot_id"]

    service.close_clinic_day(LOCATION, day["id"], {"reason": "storm"}, "manager")

    assert service.get_waitlist_entry(waiting["code"])["status"] == "withdrawn"
    [slot] = read.all(select(Slot).where(Slot.id == offered_slot))
    assert slot.booked == 0


def test_seats_added_to_a_full_day_go_to_its_waitlist_first(service, day, make_person, clock):
    _fill(service, day, make_person)
    first = join(service, day, make_person(), clock)
    slot = day["slots"][0]

    raised = service.set_slot_capacity(LOCATION, slot["id"], {"capacity": 4})

    assert raised["booked"] == 3  # two booked, one held for the offer
    assert service.get_waitlist_entry(first["code"])["status"] == "offered"
    assert book(service, slot, make_person())["status"] == "booked"  # the fourth is public
