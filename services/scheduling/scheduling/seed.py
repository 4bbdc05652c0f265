"""Demo data for `make run`: the demo clinic's public settings (published) and a week of clinic
days with slots, so the locator and self-scheduling have something to show."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cvms_platform.timeutil import utcnow
from scheduling import clinics
from scheduling.models import LocationSettings

DEMO_LOCATION = "demo-clinic"
DEMO_SETTINGS = {
    "name": "Demo Community Vaccine Clinic",
    "address": {
        "line1": "200 Peachtree St NW",
        "line2": None,
        "city": "Atlanta",
        "state": "GA",
        "zip": "30303",
    },
    "latitude": 33.7590,
    "longitude": -84.3880,
    "time_zone": "America/New_York",
    "phone": "404-555-0100",
    "website": "https://example.org/demo-clinic",
    "hours": {
        day: [{"opens": "09:00", "closes": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
    },
    "products": ["pfizer-gray-12plus", "moderna-red-18plus"],
    "walk_ins_accepted": True,
    "accepting_appointments": True,
    "published": True,
    "public_notes": "Free parking behind the building. Bring a photo ID if you have one.",
}


def run(engine: Engine, *, demo: bool = False) -> None:
    if not demo:
        return
    with Session(engine) as session, session.begin():
        if session.get(LocationSettings, DEMO_LOCATION) is not None:
            return  # seeded already: keep what the demo manager changed
        now = utcnow()
        clinics.save_settings(session, DEMO_LOCATION, DEMO_SETTINGS, "demo-seed", now)
        session.flush()
        today = now.date()
        dates = [today + timedelta(days=n) for n in range(1, 8)]
        for product in DEMO_SETTINGS["products"]:
            clinics.create_clinic_days(
                session,
                DEMO_LOCATION,
                {
                    "dates": dates,
                    "product_id": product,
                    "opens": "09:00",
                    "closes": "17:00",
                    "every_minutes": 15,
                    "capacity": 10,
                },
                "demo-seed",
                now,
            )
