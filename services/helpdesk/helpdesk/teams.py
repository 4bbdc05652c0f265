"""Teams with their agents (identity's user ids), the default team, and the routing rules a
help-desk admin maintains."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cvms_platform.errors import Conflict, InvalidInput, NotFound
from helpdesk.cases import agents_of
from helpdesk.models import RoutingRule, Team, TeamAgent


def view(session: Session, team: Team, agent_ids: list[str] | None = None) -> dict:
    return {
        "id": team.id,
        "name": team.name,
        "agent_ids": agents_of(session, team.id) if agent_ids is None else agent_ids,
        "round_robin": team.round_robin,
        "is_default": team.is_default,
    }


def views(session: Session) -> list[dict]:
    """Every team with its agents: two queries, not one per team."""
    agents: dict[str, list[str]] = {}
    for team_id, agent_id in session.execute(
        select(TeamAgent.team_id, TeamAgent.agent_id).order_by(TeamAgent.agent_id)
    ):
        agents.setdefault(team_id, []).append(agent_id)
    return [
        view(session, team, agents.get(team.id, []))
        for team in session.scalars(select(Team).order_by(Team.id))
    ]


def teams_of_agent(session: Session, agent_id: str) -> list[str]:
    return list(session.scalars(select(TeamAgent.team_id).where(TeamAgent.agent_id == agent_id)))


def _set_agents(session: Session, team: Team, agent_ids: list[str], now: datetime) -> None:
    wanted = list(dict.fromkeys(agent_ids))
    session.execute(
        delete(TeamAgent).where(TeamAgent.team_id == team.id, TeamAgent.agent_id.not_in(wanted))
    )
    have = set(agents_of(session, team.id))
    session.add_all(
        TeamAgent(team_id=team.id, agent_id=agent, added_at=now)
        for agent in wanted
        if agent not in have
    )


def _make_default(session: Session, team: Team) -> None:
    # The old default stops being one first: the unique index allows one at a time.
    session.execute(
        update(Team).where(Team.is_default.is_(True), Team.id != team.id).values(is_default=False)
    )
    session.flush()
    team.is_default = True


def create(session: Session, given: dict, now: datetime) -> Team:
    if session.get(Team, given["id"]) is not None:
        raise Conflict(f"Team {given['id']} exists already.")
    team = Team(
        id=given["id"],
        name=given["name"],
        is_default=False,
        round_robin=given["round_robin"],
        created_at=now,
    )
    session.add(team)
    session.flush()
    _set_agents(session, team, given["agent_ids"], now)
    if given["default"]:
        _make_default(session, team)
    return team


def change(session: Session, team: Team, given: dict, now: datetime) -> None:
    if "name" in given:
        team.name = given["name"]
    if "round_robin" in given:
        team.round_robin = given["round_robin"]
    if "agent_ids" in given:
        _set_agents(session, team, given["agent_ids"], now)
        if team.last_assignee_id not in given["agent_ids"]:
            team.last_assignee_id = None
    if "default" in given:
        if given["default"]:
            _make_default(session, team)
        elif team.is_default:
            raise InvalidInput(
                {"default": ["There is always a default team: make another one the default."]}
            )


def rules(session: Session) -> list[RoutingRule]:
    return list(
        session.scalars(
            select(RoutingRule).order_by(
                RoutingRule.position, RoutingRule.created_at, RoutingRule.id
            )
        )
    )


def add_rule(session: Session, given: dict, admin: dict, now: datetime) -> RoutingRule:
    if session.get(Team, given["team_id"]) is None:
        raise InvalidInput({"team_id": [f"No team {given['team_id']}."]})
    rule = RoutingRule(
        id=str(uuid.uuid4()),
        topic=given["topic"],
        requester_type=given["requester_type"],
        language=given["language"],
        team_id=given["team_id"],
        position=given["position"],
        created_by=admin["id"],
        created_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def remove_rule(session: Session, rule_id: str) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"Rule {rule_id} not found.")
    session.delete(rule)
