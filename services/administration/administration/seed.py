"""Demo data for `make run`: one demo recipient with a recorded dose at the demo clinic, whose
account (`demo.recipient`, seeded by the gateway) lets someone click through the recipient
portal. Idempotent; never loaded without --demo."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from administration.models import Administration, Recipient

# The gateway's demo.recipient account is linked to this id (gateway/gateway/seed.py).
DEMO_RECIPIENT_ID = "5eed0000-0000-4000-8000-00000000d001"
DEMO_DOSE_ID = "5eed0000-0000-4000-8000-00000000d002"
DEMO_LOT_ID = "5eed0000-0000-4000-8000-00000000d003"
# As printed on the demo recipient's vaccination card (the details that claim an account).
DEMO_LOT_NUMBER = "DEMO-FK5127"
DEMO_GIVEN_AT = datetime(2026, 1, 15, 15, 30, tzinfo=UTC)


def run(engine: Engine, *, demo: bool = False) -> None:
    if not demo:
        return
    with Session(engine) as session, session.begin():
        if session.get(Recipient, DEMO_RECIPIENT_ID) is not None:
            return  # seeded already: keep what the demo recipient changed
        session.add(
            Recipient(
                id=DEMO_RECIPIENT_ID,
                given_name="Rosa",
                family_name="Demo",
                birth_date=date(1985, 4, 12),
                created_at=DEMO_GIVEN_AT,
                address_line1="1 Demo Way",
                city="Springfield",
                state="IL",
                postal_code="62701",
                phone="+1 217 555 0199",
                email="rosa.demo@example.org",
                preferred_language="en",
                contact_email=True,
            )
        )
        session.flush()
        session.add(
            Administration(
                id=DEMO_DOSE_ID,
                recipient_id=DEMO_RECIPIENT_ID,
                location_id="demo-clinic",
                lot_id=DEMO_LOT_ID,
                product_id="pfizer-gray-12plus",
                lot_number=DEMO_LOT_NUMBER,
                dose_number=1,
                administered_at=DEMO_GIVEN_AT,
                recorded_at=DEMO_GIVEN_AT,
                recorded_by="demo-seed",
                site="LD",
                route="IM",
                dose_volume_ml=0.3,
            )
        )
