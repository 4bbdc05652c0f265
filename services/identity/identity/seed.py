"""Demo data for `make run`: an approved demo organization owning a demo location, one user
per staff role, and the demo recipient's claimed account (see the README)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cvms_platform.timeutil import utcnow
from identity.accounts import active_user, username_taken
from identity.models import Location, Organization

DEMO_ORGANIZATION = "demo-org"
DEMO_ADDRESS = {
    "line1": "1 Demo Way",
    "line2": None,
    "city": "Springfield",
    "state": "IL",
    "zip": "62701",
}
DEMO_LOCATION = ("demo-clinic", "Demo Community Vaccine Clinic")
DEMO_USERS = (
    ("state.admin", "demo-state-admin", "state_admin", [], None),
    ("clinic.manager", "demo-clinic-manager", "location_manager", ["demo-clinic"], "demo-org"),
    ("clinic.vaccinator", "demo-vaccinator", "vaccinator", ["demo-clinic"], "demo-org"),
    ("helpdesk.agent", "demo-helpdesk", "helpdesk", [], None),
    # An organization admin acts for the organization's locations (read at sign-in).
    ("org.admin", "demo-org-admin", "org_admin", [], "demo-org"),
)
# The demo recipient's claimed account, linked to administration's demo recipient (Rosa Demo,
# born 1985-04-12, one dose of lot DEMO-FK5127 on 2026-01-15: administration/seed.py).
DEMO_RECIPIENT = (
    "demo.recipient",
    "demo-recipient-password",
    "5eed0000-0000-4000-8000-00000000d001",
)


def run(engine: Engine, *, demo: bool = False) -> None:
    if not demo:
        return
    now = utcnow()
    with Session(engine) as session, session.begin():
        if session.get(Organization, DEMO_ORGANIZATION) is None:
            session.add(
                Organization(
                    id=DEMO_ORGANIZATION,
                    legal_name="Demo Community Health, Inc.",
                    address=DEMO_ADDRESS,
                    created_at=now,
                )
            )
        location = session.get(Location, DEMO_LOCATION[0])
        if location is None:
            location = Location(id=DEMO_LOCATION[0], name=DEMO_LOCATION[1], created_at=now)
            session.add(location)
        if location.organization_id is None:
            location.organization_id = DEMO_ORGANIZATION
            location.details = {
                "address": DEMO_ADDRESS,
                "phone": "+1 217 555 0100",
                "type": "clinic",
                "storage_capacity": {
                    "refrigerated_doses": 2000,
                    "frozen_doses": 1000,
                    "ultra_cold_doses": 0,
                },
            }
        for name, password, role, places, org in DEMO_USERS:
            if not username_taken(session, name):
                session.add(
                    active_user(name, password, role, locations=places, organization_id=org, at=now)
                )
        username, password, recipient_id = DEMO_RECIPIENT
        if not username_taken(session, username):
            session.add(
                active_user(
                    username, password, "recipient", locations=[], recipient_id=recipient_id, at=now
                )
            )
