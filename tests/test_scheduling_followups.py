"""Scheduling's follow-ups end to end: a voided dose reopens its appointment, an expired
leftover-dose offer passes on (with inventory's open vials), the product's minimum age at
booking, and a public reschedule that stays at its location."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import new_location
from tests.harness import wait_until
from tests.test_scheduling import (
    PFIZER,
    Public,
    book,
    checked_in_booking,
    clinic_day,
    person,
    publish,
)


@pytest.fixture(scope="module")
def public(api) -> Public:
    return Public(api)


def test_a_voided_dose_reopens_the_appointment_it_completed(admin, public, location):
    code, appointment_id, recipient, lot = checked_in_booking(admin, public, location)
    dose = admin.administer(
        location, lot["id"], recipient["id"], administered_at=datetime.now(UTC).isoformat()
    )
    assert dose.status_code == 201, dose.text
    wait_until(
        lambda: public.get(f"/appointments/{code}").json()["next_dose"],
        what="the appointment completed, its next dose open",
    )

    voided = admin.post(
        f"/administrations/{dose.json()['id']}/void", json={"reason": "Wrong recipient chosen."}
    )
    assert voided.status_code == 201, voided.text

    viewed = wait_until(
        lambda: (v := public.get(f"/appointments/{code}").json())["status"] == "checked_in" and v,
        what="the appointment reopened by the void",
    )
    assert viewed["next_dose"] is None
    history = admin.get(f"/locations/{location}/appointments/{appointment_id}").json()["history"]
    assert [h["action"] for h in history] == ["booked", "checked_in", "completed", "reopened"]
    assert history[-1]["reason"] == "Wrong recipient chosen."
    assert public.get(f"/appointments/{code}/next-dose").status_code == 409


def test_someone_too_young_for_the_product_gets_a_422_on_the_birth_date(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=2)
    eleven = date.today().replace(year=date.today().year - 11) - timedelta(days=30)

    refused = book(public, day["slots"][0]["id"], person(birth_date=eleven.isoformat()))

    assert refused.status_code == 422, refused.text
    assert list(refused.json()["fields"]) == ["birth_date"]
    assert "12" in refused.json()["fields"]["birth_date"][0]
    detail = admin.get(f"/locations/{location}/clinic-days/{day['id']}").json()
    assert detail["slots"][0]["booked"] == 0


def test_a_public_reschedule_stays_at_its_location(admin, public, location, cluster):
    other = new_location(cluster, "Other")
    publish(admin, location)
    publish(admin, other)
    here = clinic_day(admin, location, capacity=2, slots=2)
    there = clinic_day(admin, other, capacity=2)
    code = book(public, here["slots"][0]["id"]).json()["confirmation_code"]

    moved_away = public.post(
        f"/appointments/{code}/reschedule", json={"slot_id": there["slots"][0]["id"]}
    )
    moved_here = public.post(
        f"/appointments/{code}/reschedule", json={"slot_id": here["slots"][1]["id"]}
    )

    assert moved_away.status_code == 422, moved_away.text
    assert "another location" in moved_away.json()["fields"]["slot_id"][0]
    assert moved_here.status_code == 200, moved_here.text
    assert moved_here.json()["location_id"] == location


def _zone_at_eight_in_the_morning() -> str:
    """A fixed-offset zone where it is about 08:00 now: a clinic day today with slots ahead,
    whenever the test runs. (Etc/GMT-N is UTC+N.)"""
    offset = (8 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def test_an_expired_leftover_dose_offer_passes_to_the_next_waiting(
    admin, public, location, cluster
):
    zone = _zone_at_eight_in_the_morning()
    publish(admin, location, time_zone=zone)
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    day = clinic_day(admin, location, capacity=1, on=today, opens=11)
    [slot] = day["slots"]
    assert book(public, slot["id"]).status_code == 201
    waiting = []
    for _ in range(2):
        joined = public.post(
            "/waitlist", json={"clinic_day_id": day["id"], "product_id": PFIZER, **person()}
        )
        assert joined.status_code == 201, joined.text
        waiting.append(joined.json()["code"])
    # Five doses of a six-dose vial given: one dose is left in the open vial.
    lot = admin.receive_lot(location, doses=6)
    for _ in range(5):
        given = admin.administer(
            location,
            lot["id"],
            admin.register_recipient()["id"],
            administered_at=datetime.now(UTC).isoformat(),
        )
        assert given.status_code == 201, given.text
    wait_until(
        lambda: (
            [v["doses_left"] for v in admin.get(f"/locations/{location}/open-vials").json()] == [1]
        ),
        what="one dose left in the open vial",
    )
    offered = admin.post(f"/locations/{location}/leftover-doses/offers")
    assert offered.status_code == 200, offered.text
    assert [o["code"] for o in offered.json()] == waiting[:1]

    # The first offer's time runs out (the expiry timer: every 2 s in the tests, on real time).
    engine = create_engine(cluster.run.database_url("scheduling"))
    with engine.begin() as db:
        db.execute(
            text("UPDATE waitlist_entries SET offer_expires_at = :past WHERE code = :code"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "code": waiting[0]},
        )
    engine.dispose()

    passed = wait_until(
        lambda: (e := public.get(f"/waitlist/{waiting[1]}").json())["status"] == "offered" and e,
        timeout=90,
        what="the leftover dose offered to the next person waiting",
    )
    assert passed["offer_kind"] == "leftover_doses"
    assert public.get(f"/waitlist/{waiting[0]}").json()["status"] == "expired"
