"""Scheduling end to end through the gateway: the booking rush, atomic rescheduling, capacity,
second doses, the waitlist, stock status from inventory's events, and the public locator."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from threading import Barrier
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from scheduling.appointments import send_due_reminders
from tests.conftest import new_location, receive_lot
from tests.harness import wait_until

PFIZER = "pfizer-gray-12plus"
# A clinic day far enough ahead that "today" in any US time zone is before it.
CLINIC_DATE = (date.today() + timedelta(days=3)).isoformat()


class Public:
    """The public side of the API: no token, as a person booking from home."""

    def __init__(self, api):
        self.base = f"{api.base}/public"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.base}{path}", timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.base}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def public(api) -> Public:
    return Public(api)


def publish(admin, location: str, zip_code: str = "10001", **overrides) -> dict:
    response = admin.request(
        "PUT",
        f"/locations/{location}/public-settings",
        json={
            "name": f"Clinic {location}",
            "address": {"line1": "1 Main St", "city": "Somewhere", "state": "NY", "zip": zip_code},
            "products": [PFIZER],
            "accepting_appointments": True,
            "published": True,
            **overrides,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def clinic_day(
    admin, location: str, *, capacity: int, on: str = CLINIC_DATE, slots: int = 1, opens: int = 9
) -> dict:
    """A clinic day of quarter-hour slots from `opens` o'clock, with its detail (slots)."""
    response = admin.post(
        f"/locations/{location}/clinic-days",
        json={
            "dates": [on],
            "product_id": PFIZER,
            "opens": f"{opens:02d}:00",
            "closes": f"{opens + slots // 4:02d}:{(slots % 4) * 15:02d}",
            "every_minutes": 15,
            "capacity": capacity,
        },
    )
    assert response.status_code == 201, response.text
    [day] = response.json()
    detail = admin.get(f"/locations/{location}/clinic-days/{day['id']}")
    assert detail.status_code == 200, detail.text
    return detail.json()


def person(**overrides) -> dict:
    return {
        "given_name": "Sam",
        "family_name": f"Rivera-{uuid.uuid4().hex[:8]}",
        "birth_date": "1958-07-04",
        "phone": "555-010-2000",
        **overrides,
    }


def book(public: Public, slot_id: str, who: dict | None = None) -> requests.Response:
    return public.post("/appointments", json={"slot_id": slot_id, **(who or person())})


def slot_of(admin, location: str, day_id: str, slot_id: str) -> dict:
    day = admin.get(f"/locations/{location}/clinic-days/{day_id}").json()
    return next(s for s in day["slots"] if s["id"] == slot_id)


def test_300_concurrent_bookers_get_exactly_100_seats(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=100)
    [slot] = day["slots"]

    def attempt(_):
        # A client that is told "overloaded, retry after" comes back, as a browser would.
        for _ in range(200):
            response = book(public, slot["id"])
            if response.status_code != 503:
                return response
            assert response.headers.get("Retry-After")
            time.sleep(0.05)
        return response

    with ThreadPoolExecutor(max_workers=300) as pool:
        answers = list(pool.map(attempt, range(300)))

    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 100
    assert statuses.count(409) == 200
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"slot_full"}
    codes = {a.json()["confirmation_code"] for a in answers if a.status_code == 201}
    assert len(codes) == 100
    seats = slot_of(admin, location, day["id"], slot["id"])
    assert (seats["booked"], seats["available"]) == (100, 0)
    listed = admin.get(f"/locations/{location}/appointments").json()
    assert len([a for a in listed if a["status"] == "booked"]) == 100


def test_one_person_cannot_hold_two_appointments_for_a_dose(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=5, slots=2)
    same = person()
    assert book(public, day["slots"][0]["id"], same).status_code == 201

    again = book(
        public, day["slots"][1]["id"], {**same, "family_name": same["family_name"].upper()}
    )

    assert again.status_code == 409, again.text
    assert again.json()["error"] == "already_booked"
    assert slot_of(admin, location, day["id"], day["slots"][1]["id"])["booked"] == 0


def test_reschedule_is_atomic_under_a_race_for_the_last_seat(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=1, slots=8)
    pairs = list(zip(day["slots"][0::2], day["slots"][1::2], strict=True))
    for held, wanted in pairs:
        code = book(public, held["id"]).json()["confirmation_code"]

        def move(code=code, wanted=wanted):
            return public.post(f"/appointments/{code}/reschedule", json={"slot_id": wanted["id"]})

        def rival(wanted=wanted):
            return book(public, wanted["id"])

        with ThreadPoolExecutor(max_workers=2) as pool:
            moved, rivalled = pool.submit(move), pool.submit(rival)
            moved, rivalled = moved.result(), rivalled.result()

        # Exactly one of them got the seat; the other was told it is full.
        assert (moved.status_code, rivalled.status_code) in ((200, 409), (409, 201))
        mine = public.get(f"/appointments/{code}").json()
        old = slot_of(admin, location, day["id"], held["id"])
        new = slot_of(admin, location, day["id"], wanted["id"])
        assert new["booked"] == 1  # the last seat went to exactly one of them
        if moved.status_code == 200:
            assert (mine["slot_id"], old["booked"]) == (wanted["id"], 0)
        else:
            assert moved.json()["error"] == "slot_full"
            assert (mine["slot_id"], old["booked"]) == (held["id"], 1)


def test_capacity_cannot_drop_below_the_bookings(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=5)
    [slot] = day["slots"]
    for _ in range(3):
        assert book(public, slot["id"]).status_code == 201
    path = f"/locations/{location}/slots/{slot['id']}"

    refused = admin.request("PATCH", path, json={"capacity": 2})
    reduced = admin.request("PATCH", path, json={"capacity": 3})

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "capacity_below_booked"
    assert reduced.status_code == 200 and reduced.json()["capacity"] == 3
    full = book(public, slot["id"])
    assert full.status_code == 409 and full.json()["error"] == "slot_full"


def appointment_id(admin, location: str, code: str) -> str:
    listed = admin.get(f"/locations/{location}/appointments").json()
    return next(a["id"] for a in listed if a["confirmation_code"] == code)


def checked_in_booking(admin, public: Public, location: str) -> tuple[str, str, dict, dict]:
    """A booking on a new clinic day at a published `location`, checked in for a recipient
    just registered, and a lot of 6 doses there: (code, appointment id, recipient, lot)."""
    publish(admin, location)
    day = clinic_day(admin, location, capacity=2)
    code = book(public, day["slots"][0]["id"]).json()["confirmation_code"]
    appointment = appointment_id(admin, location, code)
    recipient = admin.register_recipient()
    lot = admin.receive_lot(location, doses=6)
    checked_in = admin.post(
        f"/locations/{location}/appointments/{appointment}/check-in",
        json={"recipient_id": recipient["id"]},
    )
    assert checked_in.status_code == 200, checked_in.text
    return code, appointment, recipient, lot


def test_a_recorded_first_dose_offers_the_second_from_the_minimum_interval(admin, public, location):
    code, _, recipient, lot = checked_in_booking(admin, public, location)

    given_at = datetime.now(UTC).replace(microsecond=0)
    dose = admin.administer(
        location, lot["id"], recipient["id"], administered_at=given_at.isoformat()
    )
    assert dose.status_code == 201, dose.text

    def completed():
        viewed = public.get(f"/appointments/{code}").json()
        return viewed if viewed["status"] == "completed" else None

    viewed = wait_until(completed, what="the appointment completed by the recorded dose")
    given_on = given_at.astimezone(ZoneInfo("America/New_York")).date()  # ZIP 10001's zone
    eligible = (given_on + timedelta(days=21)).isoformat()
    assert viewed["next_dose"]["eligible_from"] == eligible
    too_early = clinic_day(
        admin,
        location,
        capacity=2,
        on=(date.fromisoformat(eligible) - timedelta(days=1)).isoformat(),
    )
    in_time = clinic_day(admin, location, capacity=2, on=eligible)

    offered = public.get(f"/appointments/{code}/next-dose")
    assert offered.status_code == 200, offered.text
    assert {s["clinic_day_id"] for s in offered.json()["slots"]} == {in_time["id"]}
    early = public.post(
        f"/appointments/{code}/next-dose", json={"slot_id": too_early["slots"][0]["id"]}
    )
    assert early.status_code == 422, early.text
    second = public.post(
        f"/appointments/{code}/next-dose", json={"slot_id": in_time["slots"][0]["id"]}
    )
    assert second.status_code == 201, second.text
    assert second.json()["dose_number"] == 2


def test_a_cancellation_is_offered_to_the_waitlist(admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=1)
    [slot] = day["slots"]
    code = book(public, slot["id"]).json()["confirmation_code"]
    full = book(public, slot["id"])
    assert full.json()["error"] == "slot_full"
    joined = public.post(
        "/waitlist", json={"clinic_day_id": day["id"], "product_id": PFIZER, **person()}
    )
    assert joined.status_code == 201, joined.text
    entry_code = joined.json()["code"]

    cancelled = public.post(f"/appointments/{code}/cancel", json={"reason": "Cannot come."})

    assert cancelled.status_code == 200, cancelled.text
    offer = public.get(f"/waitlist/{entry_code}").json()
    assert (offer["status"], offer["offered_slot_id"]) == ("offered", slot["id"])
    # The seat is held for the person offered it, not released to the public.
    assert book(public, slot["id"]).json()["error"] == "slot_full"
    accepted = public.post(f"/waitlist/{entry_code}/accept")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["slot_id"] == slot["id"]
    history = admin.get(
        f"/locations/{location}/appointments/"
        + next(
            a["id"]
            for a in admin.get(f"/locations/{location}/appointments").json()
            if a["confirmation_code"] == code
        )
    ).json()["history"]
    assert [h["action"] for h in history] == ["booked", "cancelled"]


def _stock(public, location: str) -> str | None:
    feed = public.get("/locations/feed").json()
    mine = next((loc for loc in feed if loc["location_id"] == location), None)
    return mine and mine["products"][0]["stock_status"]


def test_stock_status_follows_inventory_events(admin, public, location):
    publish(admin, location)
    assert _stock(public, location) == "out_of_stock"
    unit = f"freezer-{uuid.uuid4().hex[:6]}"
    lot = receive_lot(admin, location, 6, storage_unit=unit)
    wait_until(lambda: _stock(public, location) == "in_stock", what="in stock after receipt")

    excursion = admin.post(
        f"/locations/{location}/storage-units/{unit}/excursions",
        json={"observed_at": "2026-01-10T03:15:00Z", "max_c": 15.5, "note": "Power cut."},
    )
    assert excursion.status_code == 201, excursion.text
    wait_until(
        lambda: _stock(public, location) == "out_of_stock", what="out of stock in quarantine"
    )

    released = admin.post(
        f"/locations/{location}/lots/{lot['id']}/release", json={"note": "Maker: stable."}
    )
    assert released.status_code == 200, released.text
    wait_until(lambda: _stock(public, location) == "in_stock", what="in stock once released")

    wasted = admin.post(
        f"/locations/{location}/lots/{lot['id']}/wastage",
        json={"doses": 6, "reason": "broken_vial", "note": "Tray dropped."},
    )
    assert wasted.status_code in (200, 201), wasted.text
    wait_until(lambda: _stock(public, location) == "out_of_stock", what="out of stock at zero")


def test_public_search_by_radius(admin, public, location, cluster):
    # A second location of this run, in Newark (about 9 miles from Midtown Manhattan).
    newark = new_location(cluster, "Newark")
    publish(admin, location, zip_code="10001")
    publish(admin, newark, zip_code="07102")
    clinic_day(admin, location, capacity=7)

    near = public.get("/locations", params={"zip": "10018", "radius_miles": "3"})
    wide = public.get("/locations", params={"zip": "10018", "radius_miles": "15"})
    by_point = public.get(
        "/locations", params={"latitude": "40.7357", "longitude": "-74.1724", "radius_miles": "2"}
    )

    assert near.status_code == 200, near.text
    near_ids = [loc["location_id"] for loc in near.json()]
    wide_ids = [loc["location_id"] for loc in wide.json()]
    assert location in near_ids and newark not in near_ids
    assert wide_ids.index(location) < wide_ids.index(newark)
    assert newark in [loc["location_id"] for loc in by_point.json()]
    mine = next(loc for loc in near.json() if loc["location_id"] == location)
    assert mine["products"][0]["appointments_available"] == 7
    bad = public.get("/locations", params={"radius_miles": "3"})
    assert bad.status_code == 400 and "zip" in bad.json()["fields"]


def test_reminders_are_due_once_with_several_instances_at_once(admin, public, location, cluster):
    """Two instances' reminder timers run at the same moment on the real database: each
    appointment's reminder is claimed by exactly one of them."""
    publish(admin, location)
    day = clinic_day(admin, location, capacity=10, slots=4)
    codes = {
        book(public, slot["id"]).json()["confirmation_code"]
        for slot in day["slots"]
        for _ in range(2)
    }
    # A clock a day before the clinic day: its appointments are all due, whatever the real time.
    due_at = datetime.fromisoformat(day["slots"][0]["starts_at"]) - timedelta(hours=23)
    engine = create_engine(cluster.run.database_url("scheduling"), pool_size=4)
    start = Barrier(2)

    def instance() -> int:
        with Session(engine) as session, session.begin():
            start.wait()
            return send_due_reminders(session, due_at, "test-instance")

    with ThreadPoolExecutor(max_workers=2) as pool:
        claimed = list(pool.map(lambda _: instance(), range(2)))

    with engine.connect() as db:
        reminded = (
            db.execute(
                text(
                    "SELECT body->'payload'->>'confirmation_code' FROM outbox "
                    "WHERE event_type = 'appointment_reminder_due'"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    mine = [code for code in reminded if code in codes]
    assert sorted(mine) == sorted(codes)  # every one reminded, none twice
    assert sum(claimed) >= len(codes)
