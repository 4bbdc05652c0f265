"""Demo data for `make run` (never in production): the seed's teams and their routing rules.
The agents are added by a help-desk admin (identity's user ids differ per database)."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cvms_platform.timeutil import utcnow
from helpdesk.models import RoutingRule, Team

DEMO_TEAMS = {
    "provider-enrollment": ("Provider Enrollment", ("enrollment",)),
    "inventory": ("Inventory", ("inventory_and_ordering", "marketplace")),
    "records-and-portal": ("Records and Portal", ("dose_records_and_portal",)),
    "scheduling": ("Scheduling", ("scheduling",)),
    "technical": ("Technical", ("technical_problem", "account_and_sign_in")),
}


def run(engine: Engine, *, demo: bool = False) -> None:
    if not demo:
        return
    now = utcnow()
    with Session(engine) as session, session.begin():
        for team_id, (name, topics) in DEMO_TEAMS.items():
            if session.get(Team, team_id) is not None:
                continue
            session.add(
                Team(id=team_id, name=name, is_default=False, round_robin=True, created_at=now)
            )
            session.flush()
            session.add_all(
                RoutingRule(
                    id=str(uuid.uuid4()),
                    topic=topic,
                    requester_type=None,
                    language=None,
                    team_id=team_id,
                    position=100,
                    created_by=None,
                    created_at=now,
                )
                for topic in topics
            )
