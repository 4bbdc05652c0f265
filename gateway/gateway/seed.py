"""Demo data for `make run`: a demo location and one user per role (see the README)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cvms_platform.timeutil import utcnow
from gateway.models import Location, User
from gateway.security import hash_password

DEMO_LOCATION = ("demo-clinic", "Demo Community Vaccine Clinic")
DEMO_USERS = (
    ("state.admin", "demo-state-admin", "state_admin", []),
    ("clinic.manager", "demo-clinic-manager", "location_manager", ["demo-clinic"]),
    ("clinic.vaccinator", "demo-vaccinator", "vaccinator", ["demo-clinic"]),
)


def run(engine: Engine, *, demo: bool = False) -> None:
    if not demo:
        return
    with Session(engine) as session, session.begin():
        if session.get(Location, DEMO_LOCATION[0]) is None:
            session.add(Location(id=DEMO_LOCATION[0], name=DEMO_LOCATION[1], created_at=utcnow()))
        for username, password, role, locations in DEMO_USERS:
            if session.scalar(select(User).where(User.username == username)) is None:
                session.add(
                    User(
                        username=username,
                        password_hash=hash_password(password),
                        role=role,
                        location_ids=locations,
                        active=True,
                        created_at=utcnow(),
                    )
                )
