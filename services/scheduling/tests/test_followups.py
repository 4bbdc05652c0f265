"""A voided dose reopens its appointment; expired leftover-dose offers pass on; the product's
minimum age at booking; a public reschedule stays at its location."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cvms_platform.errors import Conflict, Unprocessable
from scheduling import catalog
from scheduling.models import Slot

from .conftest import DAY, LOCATION, PFIZER, clinic_days, settings

GIVEN_AT = datetime(2030, 3, 4, 14, 5, tzinfo=UTC)


def book(service, slot, person):
    return service.book_appointment({"slot_id": slot["id"], **person})


@pytest.fixture
def completed(service, day, make_person, make_event, clock):
    """A checked-in appointment completed by a recorded first dose: (code, id, administration)."""
    booked = book(service, day["slots"][0], make_person())
    [staff_view] = service.list_appointments(LOCATION, "2030-03-04")
    recipient = str(uuid.uuid4())
    clock.now = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)
    service.check_in(LOCATION, staff_view["id"], {"recipient_id": recipient}, "vaccinator")
    administration = str(uuid.uuid4())
    service.on_dose_administered(
        make_event("dose_administered", _dose(administration, recipient), occurred_at=GIVEN_AT)
    )
    assert service.get_appointment(booked["confirmation_code"])["status"] == "completed"
    return booked["confirmation_code"], staff_view["id"], administration, recipient


def _dose(administration: str, recipient: str) -> dict:
    return {
        "administration_id": administration,
        "recipient_id": recipient,
        "location_id": LOCATION,
        "lot_id": str(uuid.uuid4()),
        "product_id": PFIZER,
        "lot_number": "FK5127",
        "dose_number": 1,
        "administered_at": GIVEN_AT,
    }


def _voided(make_event, administration: str, recipient: str):
    return make_event(
        "administration_voided",
        {
            "administration_id": administration,
            "recipient_id": recipient,
            "location_id": LOCATION,
            "lot_id": str(uuid.uuid4()),
            "product_id": PFIZER,
            "reason": "Recorded for the wrong person.",
            "voided_by": "manager",
            "voided_at": GIVEN_AT + timedelta(hours=1),
        },
        occurred_at=GIVEN_AT + timedelta(hours=1),
    )


# -- a voided dose reopens the appointment it completed -------------------------------------------
def test_a_voided_dose_reopens_its_appointment_and_withdraws_the_next_dose(
    service, completed, make_event, read
):
    code, appointment_id, administration, recipient = completed
    voided = _voided(make_event, administration, recipient)

    service.on_administration_voided(voided)
    service.on_administration_voided(voided)  # delivered twice: applied once

    viewed = service.get_appointment(code)
    assert (viewed["status"], viewed["next_dose"]) == ("checked_in", None)
    history = service.appointment_history(LOCATION, appointment_id)["history"]
    assert [h["action"] for h in history] == ["booked", "checked_in", "completed", "reopened"]
    assert history[-1]["reason"] == "Recorded for the wrong person."
    assert history[-1]["actor"] == "manager"
    [event] = read.events("appointment_reopened")
    assert event["payload"] == {
        "appointment_id": appointment_id,
        "confirmation_code": code,
        "location_id": LOCATION,
        "product_id": PFIZER,
        "dose_number": 1,
        "status": "checked_in",
        "voided_administration_id": administration,
        "reason": "Recorded for the wrong person.",
        "next_dose_withdrawn": True,
        "next_dose_appointment_id": None,
    }
    with pytest.raises(Conflict) as error:
        service.next_dose_slots(code)
    assert error.value.args[1] == "no_next_dose"


def test_the_dose_recorded_again_completes_the_reopened_appointment(
    service, completed, make_event, read
):
    code, _, administration, recipient = completed
    service.on_administration_voided(_voided(make_event, administration, recipient))

    again = str(uuid.uuid4())
    service.on_dose_administered(make_event("dose_administered", _dose(again, recipient)))

    viewed = service.get_appointment(code)
    assert viewed["status"] == "completed"
    assert viewed["next_dose"]["eligible_from"] == "2030-03-25"
    assert [e["payload"]["administration_id"] for e in read.events("appointment_completed")] == [
        administration,
        again,
    ]


def test_a_booked_next_dose_is_kept_and_named(service, completed, make_event, read):
    code, _, administration, recipient = completed
    later = service.create_clinic_days(
        LOCATION,
        clinic_days("2030-03-26"),
        "manager",
    )[0]
    slot = service.get_clinic_day(LOCATION, later["id"])["slots"][0]
    second = service.book_next_dose(code, {"slot_id": slot["id"]})
    [second_id] = [
        a["id"]
        for a in service.list_appointments(LOCATION, "2030-03-26")
        if a["confirmation_code"] == second["confirmation_code"]
    ]

    service.on_administration_voided(_voided(make_event, administration, recipient))

    viewed = service.get_appointment(code)
    assert viewed["status"] == "checked_in" and viewed["next_dose"]["booked"] is True
    assert service.get_appointment(second["confirmation_code"])["status"] == "booked"
    [event] = read.events("appointment_reopened")
    assert event["payload"]["next_dose_withdrawn"] is False
    assert event["payload"]["next_dose_appointment_id"] == second_id


def test_a_voided_dose_no_appointment_waited_for_changes_nothing(service, day, make_event, read):
    service.on_administration_voided(_voided(make_event, str(uuid.uuid4()), str(uuid.uuid4())))

    assert read.events("appointment_reopened") == []


def test_a_voided_dose_of_someone_who_booked_again_cancels_the_old_appointment(
    service, completed, day, make_event, read
):
    code, appointment_id, administration, recipient = completed
    person = {
        k: v
        for k, v in service.get_appointment(code).items()
        if k in ("given_name", "family_name", "birth_date", "email", "preferred_language")
    }
    rebooked = book(service, day["slots"][1], person)  # dose 1 again, as if never given

    service.on_administration_voided(_voided(make_event, administration, recipient))

    assert service.get_appointment(code)["status"] == "cancelled"
    assert service.get_appointment(rebooked["confirmation_code"])["status"] == "booked"
    assert read.events("appointment_reopened") == []
    [cancelled] = read.events("appointment_cancelled")
    assert cancelled["payload"]["reason"] == "administration_voided"
    assert cancelled["payload"]["cancelled_by"] == "system"


# -- expired leftover-dose offers pass on ---------------------------------------------------------
def _fill(service, day, make_person):
    for slot in day["slots"]:
        for _ in range(slot["capacity"]):
            book(service, slot, make_person())


def _join(service, day, person, clock):
    clock.advance(seconds=1)  # first come, first offered
    return service.join_waitlist({"clinic_day_id": day["id"], "product_id": PFIZER, **person})


def _vial(now: datetime, doses_left: int) -> dict:
    return {
        "vial_id": str(uuid.uuid4()),
        "lot_id": str(uuid.uuid4()),
        "product_id": PFIZER,
        "doses_left": doses_left,
        "opened_at": (now - timedelta(hours=1)).isoformat(),
        "beyond_use_at": (now + timedelta(hours=5)).isoformat(),
    }


@pytest.fixture
def leftover_offered(service, day, make_person, clock):
    """A full day, three people waiting, one leftover dose offered to the first."""
    _fill(service, day, make_person)
    waiting = [_join(service, day, make_person(), clock) for _ in range(3)]
    clock.now = datetime(2030, 3, 4, 21, 0, tzinfo=UTC)  # 16:00 in New York
    service.inventory.open_vials.return_value = [_vial(clock.now, 1)]
    [offer] = service.offer_leftover_doses(LOCATION)
    assert offer["code"] == waiting[0]["code"]
    return waiting


def test_an_expired_leftover_dose_offer_passes_to_the_next_waiting(
    service, leftover_offered, clock, read
):
    first, second, third = leftover_offered
    clock.advance(minutes=31)

    assert service.run_offer_expiry(clock.now) == 1

    assert service.get_waitlist_entry(first["code"])["status"] == "expired"
    passed = service.get_waitlist_entry(second["code"])
    assert (passed["status"], passed["offer_kind"]) == ("offered", "leftover_doses")
    assert service.get_waitlist_entry(third["code"])["status"] == "waiting"
    offers = read.events("waitlist_offer_made")
    assert [o["payload"]["waitlist_code"] for o in offers] == [first["code"], second["code"]]
    service.inventory.open_vials.assert_called_with(LOCATION)


def test_a_leftover_dose_gone_meanwhile_is_not_passed_on(service, leftover_offered, clock):
    first, second, _ = leftover_offered
    service.inventory.open_vials.return_value = []  # a walk-in had it
    clock.advance(minutes=31)

    assert service.run_offer_expiry(clock.now) == 1

    assert service.get_waitlist_entry(first["code"])["status"] == "expired"
    assert service.get_waitlist_entry(second["code"])["status"] == "waiting"


def test_an_accepted_leftover_dose_is_not_offered_again(service, day, make_person, clock):
    _fill(service, day, make_person)
    waiting = [_join(service, day, make_person(), clock) for _ in range(3)]
    clock.now = datetime(2030, 3, 4, 21, 0, tzinfo=UTC)
    service.inventory.open_vials.return_value = [_vial(clock.now, 2)]
    service.offer_leftover_doses(LOCATION)  # to the first two
    service.accept_waitlist_offer(waiting[0]["code"])  # coming, not vaccinated yet
    clock.advance(minutes=31)

    assert service.run_offer_expiry(clock.now) == 1  # the second's offer

    # The vial still holds two doses, one of them promised to the first: one passes on.
    assert service.get_waitlist_entry(waiting[2]["code"])["status"] == "offered"
    assert service.offer_leftover_doses(LOCATION) == []


def test_no_answer_about_vials_leaves_the_expiry_done(service, leftover_offered, clock):
    first, second, _ = leftover_offered
    service.inventory.open_vials.side_effect = RuntimeError("inventory is down")
    clock.advance(minutes=31)

    assert service.run_offer_expiry(clock.now) == 1

    assert service.get_waitlist_entry(first["code"])["status"] == "expired"
    assert service.get_waitlist_entry(second["code"])["status"] == "waiting"


# -- the product's minimum age ---------------------------------------------------------------------
def test_someone_too_young_for_the_product_is_not_booked(service, day, make_person, read):
    slot = day["slots"][0]  # Pfizer Gray, 12 and over; the day is 2030-03-04

    with pytest.raises(Unprocessable) as error:
        book(service, slot, make_person(birth_date="2018-03-05"))  # 12 on 2030-03-05

    assert list(error.value.errors) == ["birth_date"]
    assert "12" in error.value.errors["birth_date"][0]
    [seats] = read.all(select(Slot).where(Slot.id == slot["id"]))
    assert seats.booked == 0
    assert book(service, slot, make_person(birth_date="2018-03-04"))["status"] == "booked"


def test_someone_too_young_hears_about_their_age_even_when_the_slot_is_full(
    service, day, make_person
):
    _fill(service, day, make_person)
    slot = day["slots"][0]

    with pytest.raises(Unprocessable) as error:
        book(service, slot, make_person(birth_date="2018-03-05"))

    # Told what no other slot would change, rather than to try another slot.
    assert list(error.value.errors) == ["birth_date"]
    with pytest.raises(Conflict) as full:
        book(service, slot, make_person(birth_date="1980-01-01"))
    assert full.value.args[1:] == ("slot_full",)


def test_someone_too_young_does_not_join_a_waitlist(service, day, make_person, clock):
    _fill(service, day, make_person)

    with pytest.raises(Unprocessable) as error:
        _join(service, day, make_person(birth_date="2020-01-01"), clock)

    assert list(error.value.errors) == ["birth_date"]


def test_a_product_without_a_minimum_age_takes_anyone(service, day, make_person):
    service.inventory.list_products.return_value = [
        {"id": PFIZER, "name": "Pfizer", "series_doses": 2, "min_interval_days": 21}
    ]
    catalog.forget()  # the catalog as inventory answers it now

    assert book(service, day["slots"][0], make_person(birth_date="2025-01-01"))["status"]


# -- a public reschedule stays at its location -----------------------------------------------------
def test_a_reschedule_to_another_location_is_refused(service, day, make_person, read):
    booked = book(service, day["slots"][0], make_person())
    service.save_location_settings("clinic-2", settings(name="Clinic Two"), "manager")
    [elsewhere] = service.create_clinic_days(
        "clinic-2",
        clinic_days(DAY, opens="11:00", closes="12:00"),
        "manager",
    )
    target = service.get_clinic_day("clinic-2", elsewhere["id"])["slots"][0]

    with pytest.raises(Unprocessable) as error:
        service.reschedule_appointment(booked["confirmation_code"], {"slot_id": target["id"]})

    assert "another location" in error.value.errors["slot_id"][0]
    assert service.get_appointment(booked["confirmation_code"])["slot_id"] == day["slots"][0]["id"]
    [seats] = read.all(select(Slot).where(Slot.id == target["id"]))
    assert seats.booked == 0
    moved = service.reschedule_appointment(
        booked["confirmation_code"], {"slot_id": day["slots"][1]["id"]}
    )
    assert moved["slot_id"] == day["slots"][1]["id"]
