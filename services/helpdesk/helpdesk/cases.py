"""A case's life: filed and routed, answered, noted, pending on the requester, resolved,
reopened and closed; its service levels; and the history that records every change.

Every function works in the caller's transaction and writes the events of what it changed
(`record_event`), so a change and its announcement commit together."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cvms_platform.answers.helpdesk import CLOSED, NEW, OPEN, PENDING, RESOLVED
from cvms_platform.errors import Conflict, InvalidInput
from cvms_platform.outbox import record_event
from helpdesk import attachments
from helpdesk.business_hours import TARGETS, Calendar, due_times
from helpdesk.models import Case, CaseEntry, RoutingRule, Team, TeamAgent

# A resolved case the requester does not answer closes by itself after this long.
CLOSE_AFTER = timedelta(days=7)
ACTIVE = (NEW, OPEN, PENDING)
# Reference alphabet: no 0/O, 1/I/L.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

BREACHES = Counter(
    "cvms_helpdesk_sla_breaches_total",
    "Cases that missed a service level, by kind (first_response, resolution) and priority",
    ["kind", "priority"],
)
BREACHED_OPEN = Gauge(
    "cvms_helpdesk_breached_open_cases",
    "Cases not yet resolved that have missed a service level",
)


def new_reference() -> str:
    return "HD-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def entry(
    session: Session,
    case: Case,
    kind: str,
    now: datetime,
    *,
    public: bool,
    actor: dict | None = None,
    body: str | None = None,
    **details,
) -> CaseEntry:
    row = CaseEntry(
        id=str(uuid.uuid4()),
        case_id=case.id,
        kind=kind,
        public=public,
        actor_id=(actor or {}).get("id"),
        actor_role=(actor or {}).get("role"),
        body=body,
        details=details,
        at=now,
    )
    session.add(row)
    case.updated_at = now
    return row


# -- routing -----------------------------------------------------------------------------------
def route(
    session: Session, topic: str, requester_type: str, language: str
) -> tuple[Team, str | None]:
    """The team the rules name for these (the rule naming the most conditions wins; between
    equals, the lower position, then the older), or the default team; and the rule's id."""
    rules = session.scalars(
        select(RoutingRule)
        .where(
            or_(RoutingRule.topic.is_(None), RoutingRule.topic == topic),
            or_(RoutingRule.requester_type.is_(None), RoutingRule.requester_type == requester_type),
            or_(RoutingRule.language.is_(None), RoutingRule.language == language),
        )
        .order_by(RoutingRule.position, RoutingRule.created_at, RoutingRule.id)
    ).all()
    if rules:
        # max() keeps the first of equals: the rules come in position order.
        best = max(
            rules, key=lambda r: sum(v is not None for v in (r.topic, r.requester_type, r.language))
        )
        return session.get(Team, best.team_id), best.id
    team = session.scalar(select(Team).where(Team.is_default.is_(True)))
    if team is None:  # the migration makes one and nothing removes the last
        raise Conflict("The help desk has no default team.")
    return team, None


def agents_of(session: Session, team_id: str) -> list[str]:
    return list(
        session.scalars(
            select(TeamAgent.agent_id)
            .where(TeamAgent.team_id == team_id)
            .order_by(TeamAgent.agent_id)
        )
    )


def next_agent(session: Session, team: Team) -> str | None:
    """Round robin: the team's agent after the one given the last case (the team's row is
    locked, so two cases filed at once go to two agents). None: not round robin, or no agents."""
    if not team.round_robin:
        return None
    session.refresh(team, with_for_update=True)
    agents = agents_of(session, team.id)
    if not agents:
        return None
    after = [agent for agent in agents if team.last_assignee_id and agent > team.last_assignee_id]
    chosen = after[0] if after else agents[0]
    team.last_assignee_id = chosen
    return chosen


def _routed_event(session, case: Case, previous: str | None, rule_id: str | None, correlation_id):
    _case_event(
        session,
        "case_routed",
        case,
        correlation_id,
        team_id=case.team_id,
        previous_team_id=previous,
        rule_id=rule_id,
        assignee_id=case.assignee_id,
    )


# -- service levels ------------------------------------------------------------------------------
def refresh_due(case: Case) -> None:
    """What the agent's queue sorts by: the first response until there is one, then the
    resolution; nothing while pending on the requester or once resolved."""
    if case.status in (PENDING, RESOLVED, CLOSED):
        case.next_due_at = None
    elif case.first_responded_at is None:
        case.next_due_at = case.first_response_due
    else:
        case.next_due_at = case.resolution_due


def pause_resolution(case: Case, calendar: Calendar, now: datetime) -> None:
    if case.pending_since is None and case.resolution_due is not None:
        left = calendar.between(now, case.resolution_due)
        case.resolution_left_s = int(left.total_seconds())
        case.pending_since = now
        case.resolution_due = None


def resume_resolution(case: Case, calendar: Calendar, now: datetime) -> None:
    if case.pending_since is not None:
        case.resolution_due = calendar.add(now, timedelta(seconds=case.resolution_left_s or 0))
        case.pending_since = None
        case.resolution_left_s = None


# -- a case's life -------------------------------------------------------------------------------
def file(
    session: Session,
    requester: dict,
    form: dict,
    now: datetime,
    calendar: Calendar,
    correlation_id: str,
) -> Case:
    if form["requester_type"] == "vaccine_provider" and not form.get("organization_id"):
        raise InvalidInput({"organization_id": ["A vaccine provider names their organization."]})
    if form["contact_channel"] == "phone" and not form.get("contact_phone"):
        raise InvalidInput({"contact_phone": ["Give a phone number to be called on."]})
    files = attachments.decoded(form.get("attachments") or [])
    team, rule_id = route(session, form["topic"], form["requester_type"], form["language"])
    first_due, resolution_due = due_times(calendar, now, form["priority"])
    case = Case(
        id=str(uuid.uuid4()),
        reference=new_reference(),
        requester_id=requester["id"],
        status=NEW,
        team_id=team.id,
        created_at=now,
        updated_at=now,
        first_response_due=first_due,
        resolution_due=resolution_due,
        first_response_breached=False,
        resolution_breached=False,
        **{
            key: form.get(key)
            for key in (
                "requester_type",
                "topic",
                "organization_id",
                "location_id",
                "summary",
                "description",
                "language",
                "contact_channel",
                "contact_phone",
                "priority",
            )
        },
    )
    case.assignee_id = next_agent(session, team)
    refresh_due(case)
    session.add(case)
    session.flush()
    attachments.store(session, case, files, requester["id"], now)
    entry(
        session,
        case,
        "created",
        now,
        public=True,
        actor=requester,
        attachments=[attachment["filename"] for attachment, _ in files],
    )
    entry(
        session,
        case,
        "routed",
        now,
        public=False,
        team_id=team.id,
        rule_id=rule_id,
        assignee_id=case.assignee_id,
    )
    _case_event(
        session,
        "case_created",
        case,
        correlation_id,
        requester_type=case.requester_type,
        topic=case.topic,
        priority=case.priority,
        language=case.language,
    )
    _routed_event(session, case, None, rule_id, correlation_id)
    return case


def _set_status(session, case: Case, status: str, now, actor, *, public: bool = True) -> None:
    if case.status != status:
        entry(
            session,
            case,
            "status_changed",
            now,
            public=public,
            actor=actor,
            **{"from": case.status, "to": status},
        )
        case.status = status


def _open_for_work(case: Case) -> None:
    if case.status == CLOSED:
        raise Conflict("The case is closed; file a new one.")


def reply(session, case: Case, agent: dict, body: str, status: str, now, calendar, correlation_id):
    """An agent's public reply: the first response if it is the first; the case waits on the
    requester (pending, the resolution clock paused) or stays open."""
    _open_for_work(case)
    if case.status == RESOLVED:
        raise Conflict("The case is resolved; reopen it by a requester's reply.")
    row = entry(session, case, "reply", now, public=True, actor=agent, body=body)
    if case.first_responded_at is None:
        case.first_responded_at = now
    if status == PENDING:
        pause_resolution(case, calendar, now)
    else:
        resume_resolution(case, calendar, now)
    _set_status(session, case, status, now, agent)
    refresh_due(case)
    session.flush()
    _case_event(
        session, "case_replied", case, correlation_id, entry_id=row.id, language=case.language
    )
    return row


def note(session, case: Case, agent: dict, body: str, now) -> CaseEntry:
    """An internal note: agents only, never shown or sent to the requester. A new case is
    open once an agent works on it."""
    _open_for_work(case)
    row = entry(session, case, "note", now, public=False, actor=agent, body=body)
    if case.status == NEW:
        _set_status(session, case, OPEN, now, agent)
    return row


def requester_reply(session, case: Case, requester: dict, body: str, now, calendar, correlation_id):
    """The requester answers: a pending or resolved case opens again (resolved: reopened)."""
    _open_for_work(case)
    row = entry(session, case, "requester_reply", now, public=True, actor=requester, body=body)
    if case.status == RESOLVED:
        reopen(session, case, requester, now, calendar, correlation_id, by="requester")
    elif case.status == PENDING:
        resume_resolution(case, calendar, now)
        _set_status(session, case, OPEN, now, requester)
    refresh_due(case)
    return row


def reopen(session, case: Case, actor: dict, now, calendar, correlation_id, *, by: str) -> None:
    """A resolved case opens again, with a new resolution clock from its priority."""
    entry(session, case, "reopened", now, public=True, actor=actor)
    case.status = OPEN
    case.resolved_at = None
    case.resolution_due = calendar.add(now, TARGETS[case.priority][1])
    case.resolution_breached = False
    case.pending_since = None
    case.resolution_left_s = None
    refresh_due(case)
    _case_event(session, "case_reopened", case, correlation_id, by=by)


def resolve(session, case: Case, agent: dict, notes: str, now, correlation_id) -> CaseEntry:
    _open_for_work(case)
    if case.status == RESOLVED:
        raise Conflict("The case is resolved already.")
    row = entry(session, case, "resolved", now, public=True, actor=agent, body=notes)
    case.status = RESOLVED
    case.resolved_at = now
    case.resolution_notes = notes
    case.pending_since = None
    case.resolution_left_s = None
    if case.first_responded_at is None:
        case.first_responded_at = now
    refresh_due(case)
    session.flush()
    _case_event(
        session, "case_resolved", case, correlation_id, entry_id=row.id, language=case.language
    )
    return row


def close(session, case: Case, actor: dict | None, now, correlation_id, *, reason: str) -> None:
    if case.status != RESOLVED:
        raise Conflict("Only a resolved case can be closed.")
    entry(session, case, "closed", now, public=True, actor=actor, reason=reason)
    case.status = CLOSED
    case.closed_at = now
    refresh_due(case)
    _case_event(session, "case_closed", case, correlation_id, reason=reason)


def reroute(session, case: Case, agent: dict, team_id: str, reason, now, correlation_id) -> None:
    """To another team: the history keeps where it was and why; round robin in the new team."""
    _open_for_work(case)
    team = session.get(Team, team_id)
    if team is None:
        raise InvalidInput({"team_id": [f"No team {team_id}."]})
    if team.id == case.team_id:
        raise Conflict(f"The case is with {team_id} already.")
    previous = case.team_id
    case.team_id = team.id
    case.assignee_id = next_agent(session, team)
    entry(
        session,
        case,
        "rerouted",
        now,
        public=False,
        actor=agent,
        body=reason,
        from_team_id=previous,
        to_team_id=team.id,
        assignee_id=case.assignee_id,
    )
    _routed_event(session, case, previous, None, correlation_id)


def assign(session, case: Case, agent: dict, agent_id: str | None, now) -> None:
    _open_for_work(case)
    if agent_id is not None and agent_id not in agents_of(session, case.team_id):
        raise InvalidInput({"agent_id": [f"Not an agent of the case's team ({case.team_id})."]})
    previous = case.assignee_id
    case.assignee_id = agent_id
    entry(
        session,
        case,
        "assigned",
        now,
        public=False,
        actor=agent,
        **{"from": previous, "to": agent_id},
    )
    if case.status == NEW:
        _set_status(session, case, OPEN, now, agent)


def set_priority(session, case: Case, agent: dict, priority: str, now, calendar) -> None:
    """Due times are counted again from when the case was filed (the resolution clock from
    now if it is paused or reopened)."""
    _open_for_work(case)
    if case.priority == priority:
        return
    entry(
        session,
        case,
        "priority_changed",
        now,
        public=False,
        actor=agent,
        **{"from": case.priority, "to": priority},
    )
    case.priority = priority
    first_due, resolution_due = due_times(calendar, case.created_at, priority)
    case.first_response_due = first_due
    if case.status in (NEW, OPEN):
        case.resolution_due = resolution_due
    elif case.status == PENDING:
        target = TARGETS[priority][1] - calendar.between(case.created_at, case.pending_since)
        case.resolution_left_s = max(0, int(target.total_seconds()))
    refresh_due(case)


def _case_event(session: Session, name: str, case: Case, correlation_id, **fields) -> None:
    """Event `name` about `case`: its id and requester, then `fields`."""
    record_event(
        session,
        name,
        {"case_id": case.id, "requester_id": case.requester_id, **fields},
        correlation_id=correlation_id,
    )


# -- timers ------------------------------------------------------------------------------------
def flag_breaches(session: Session, now: datetime, limit: int = 200) -> int:
    """Cases past a due time, flagged once each (the rows are claimed with SKIP LOCKED, so
    two instances do not both count one), with a history entry and the metric."""
    first = _flag_breached(
        session,
        now,
        limit,
        "first_response",
        Case.first_responded_at.is_(None),
        Case.first_response_breached.is_(False),
        Case.status.in_(ACTIVE),
        Case.first_response_due <= now,
    )
    late = _flag_breached(
        session,
        now,
        limit,
        "resolution",
        Case.resolution_breached.is_(False),
        Case.status.in_((NEW, OPEN)),
        Case.resolution_due.is_not(None),
        Case.resolution_due <= now,
    )
    return first + late


def _flag_breached(session: Session, now: datetime, limit: int, clock: str, *where) -> int:
    """Flag the cases `where` selects as past their `clock` (`first_response` or
    `resolution`): `<clock>_breached` set, a history entry with the due time, the metric."""
    cases = session.scalars(
        select(Case).where(*where).limit(limit).with_for_update(skip_locked=True)
    ).all()
    for case in cases:
        setattr(case, f"{clock}_breached", True)
        due = getattr(case, f"{clock}_due")
        entry(session, case, f"{clock}_breached", now, public=False, due=due.isoformat())
        BREACHES.labels(clock, case.priority).inc()
    return len(cases)


def close_expired(session: Session, now: datetime, correlation_id: str, limit: int = 200) -> int:
    """Resolved cases nobody answered for CLOSE_AFTER: closed (`timed_out`)."""
    due = session.scalars(
        select(Case)
        .where(Case.status == RESOLVED, Case.resolved_at <= now - CLOSE_AFTER)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for case in due:
        close(session, case, None, now, correlation_id, reason="timed_out")
    return len(due)


def observe_breached(session: Session) -> None:
    BREACHED_OPEN.set(
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(
                Case.status.in_(ACTIVE),
                or_(Case.first_response_breached.is_(True), Case.resolution_breached.is_(True)),
            )
        )
    )
