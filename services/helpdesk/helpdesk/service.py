"""The help-desk service: requesters' cases (the intake form), routed by rules a help-desk
admin maintains to teams of agents (round robin inside a team if it wants), answered in public
or noted internally, pending on the requester, resolved with notes, reopened by a reply and
closed; service levels counted in business hours, breaches flagged and counted.

Every RPC names its caller (`{"id", "role"}`, from the gateway's token). Who may call what is
the gateway's rule; whose case it is is decided here: a requester's calls reach only cases
they filed (another's is not found), agents' reach every case."""

from __future__ import annotations

import base64
import logging
from datetime import datetime

from nameko.timer import timer
from sqlalchemy import select

from cvms_platform import validation
from cvms_platform.answers import helpdesk as answers
from cvms_platform.config import float_setting
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from helpdesk import cases, knowledge, teams
from helpdesk.business_hours import Calendar
from helpdesk.models import Attachment, Case, CaseEntry, Team
from helpdesk.schemas import TeamView

log = logging.getLogger(__name__)
# How often due times are checked for breaches and old resolved cases closed.
SWEEP_S = float_setting("CVMS_HELPDESK_SWEEP_SECONDS", 60.0)

NEW_CASE = answers.NewCase()
MESSAGE = answers.NewMessage()
AGENT_REPLY = answers.AgentReply()
RESOLUTION = answers.Resolution()
REROUTING = answers.Rerouting()
ASSIGNMENT = answers.Assignment()
PRIORITY = answers.PriorityChange()
NEW_TEAM = answers.NewTeam()
TEAM_CHANGE = answers.TeamChange()
NEW_RULE = answers.NewRule()
REQUESTER_CASE = answers.RequesterCaseView()
REQUESTER_CASES = answers.RequesterCaseSummary(many=True)
AGENT_CASE = answers.AgentCaseView()
SUMMARIES = answers.CaseSummary(many=True)
ENTRY = answers.EntryView()
TEAM = TeamView()
RULES = answers.RuleView(many=True)
RULE = answers.RuleView()
NEW_ARTICLE = answers.NewArticle()
ARTICLE_CHANGE = answers.ArticleChange()
ARTICLE = answers.ArticleView()
ARTICLE_SUMMARIES = answers.ArticleSummary(many=True)
QUEUE_STATUSES = (answers.NEW, answers.OPEN)


def _caller(caller) -> dict:
    if (
        not isinstance(caller, dict)
        or not isinstance(caller.get("id"), str)
        or not isinstance(caller.get("role"), str)
        or not 0 < len(caller["id"]) <= 64
    ):
        raise InvalidInput({"caller": ["The caller's id and role."]})
    return {"id": caller["id"], "role": caller["role"][:30]}


def _language(language) -> None:
    """An article language filter: None (any), en or es."""
    if language is not None and language not in answers.LANGUAGES:
        raise InvalidInput({"lang": ["en or es."]})


def _attachments(session, case: Case) -> list[dict]:
    """The case's files, without their content."""
    found = session.execute(
        select(
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
            Attachment.created_at,
        )
        .where(Attachment.case_id == case.id)
        .order_by(Attachment.position)
    )
    return [dict(row._mapping) for row in found]


def _file(session, case: Case, attachment_id) -> dict:
    found = session.get(Attachment, validation.known_id(attachment_id, "Attachment"))
    if found is None or found.case_id != case.id:
        raise NotFound(f"Attachment {attachment_id} not found.")
    return {
        "filename": found.filename,
        "content_type": found.content_type,
        "content_base64": base64.b64encode(found.content).decode("ascii"),
    }


def _entries(session, case: Case, *, internal: bool) -> list[CaseEntry]:
    query = select(CaseEntry).where(CaseEntry.case_id == case.id).order_by(CaseEntry.seq)
    if not internal:
        query = query.where(CaseEntry.public.is_(True))
    return list(session.scalars(query))


def _view(schema, session, case: Case, *, internal: bool) -> dict:
    """A case with its files and history (internal notes only for agents)."""
    return schema.dump(
        {
            **_row(case),
            "attachments": _attachments(session, case),
            "entries": _entries(session, case, internal=internal),
        }
    )


class HelpdeskService(CvmsService):
    name = "helpdesk"

    def now(self) -> datetime:
        """The clock; tests replace it to drive time."""
        return utcnow()

    def calendar(self) -> Calendar:
        return Calendar.from_env()

    # -- what requesters do -----------------------------------------------------------------------
    def _own_case(self, session, requester: dict, case_id, *, lock: bool = False) -> Case:
        case = self._case(session, case_id, lock=lock)
        if case.requester_id != requester["id"]:
            raise NotFound(f"Case {case.id} not found.")
        return case

    def _requester_view(self, session, case: Case) -> dict:
        return _view(REQUESTER_CASE, session, case, internal=False)

    @rpc
    def file_case(self, requester, form) -> dict:
        """The intake form: a new case, routed to the team the rules name (or the default)."""
        who = _caller(requester)
        given = validation.load(NEW_CASE, form)
        with self.db.transaction() as session:
            case = cases.file(session, who, given, self.now(), self.calendar(), self.correlation_id)
            answer = self._requester_view(session, case)
        log.info("case %s filed (%s) to team %s", case.id, case.topic, case.team_id)
        return answer

    @rpc
    def my_cases(self, requester) -> list[dict]:
        """The requester's own cases, newest first."""
        who = _caller(requester)
        found = self.db.session.scalars(
            select(Case)
            .where(Case.requester_id == who["id"])
            .order_by(Case.created_at.desc(), Case.id)
        ).all()
        return REQUESTER_CASES.dump([_row(case) for case in found])

    @rpc
    def my_case(self, requester, case_id) -> dict:
        """One of the requester's cases with its public history (no internal notes)."""
        who = _caller(requester)
        session = self.db.session
        return self._requester_view(session, self._own_case(session, who, case_id))

    @rpc
    def my_attachment(self, requester, case_id, attachment_id) -> dict:
        """A file of one of the requester's cases: `{filename, content_type, content_base64}`."""
        who = _caller(requester)
        session = self.db.session
        return _file(session, self._own_case(session, who, case_id), attachment_id)

    @rpc
    def requester_reply(self, requester, case_id, message) -> dict:
        """The requester answers their case: a pending or resolved one opens again."""
        who = _caller(requester)
        given = validation.load(MESSAGE, message)
        with self.db.transaction() as session:
            case = self._own_case(session, who, case_id, lock=True)
            cases.requester_reply(
                session, case, who, given["body"], self.now(), self.calendar(), self.correlation_id
            )
            return self._requester_view(session, case)

    @rpc
    def confirm_resolution(self, requester, case_id) -> dict:
        """The requester agrees their resolved case is done: it closes."""
        who = _caller(requester)
        with self.db.transaction() as session:
            case = self._own_case(session, who, case_id, lock=True)
            cases.close(session, case, who, self.now(), self.correlation_id, reason="confirmed")
            return self._requester_view(session, case)

    # -- what agents do ---------------------------------------------------------------------------
    def _case(self, session, case_id, *, lock: bool = False) -> Case:
        case_id = validation.known_id(case_id, "Case")
        case = session.get(Case, case_id, with_for_update=lock)
        if case is None:
            raise NotFound(f"Case {case_id} not found.")
        return case

    def _agent_view(self, session, case: Case) -> dict:
        return _view(AGENT_CASE, session, case, internal=True)

    @rpc
    def attachment(self, case_id, attachment_id) -> dict:
        """A file of any case (agents): `{filename, content_type, content_base64}`."""
        session = self.db.session
        return _file(session, self._case(session, case_id), attachment_id)

    @rpc
    def queue(self, agent, team_id=None, include_pending=False, limit=100) -> list[dict]:
        """The cases of the agent's teams (or of `team_id`) still to work on, what is due
        first first (cases pending on the requester last, with `include_pending`)."""
        who = _caller(agent)
        limit = validation.limit(limit)
        session = self.db.session
        if team_id is None:
            team_ids = teams.teams_of_agent(session, who["id"])
        else:
            team_ids = [validation.known_id(team_id, "Team")]
        statuses = (*QUEUE_STATUSES, answers.PENDING) if include_pending else QUEUE_STATUSES
        found = session.scalars(
            select(Case)
            .where(Case.team_id.in_(team_ids), Case.status.in_(statuses))
            .order_by(Case.next_due_at.is_(None), Case.next_due_at, Case.created_at)
            .limit(limit)
        ).all()
        return SUMMARIES.dump([_row(case) for case in found])

    @rpc
    def search_cases(self, filters, limit=100) -> list[dict]:
        """Every case, by status, team, requester or reference; newest first."""
        if not isinstance(filters, dict):
            raise InvalidInput({"_schema": ["Expected a JSON object."]})
        limit = validation.limit(limit)
        query = select(Case)
        for key in ("status", "team_id", "requester_id", "reference", "assignee_id"):
            value = filters.get(key)
            if value is not None:
                query = query.where(getattr(Case, key) == validation.text(value, key, most=64))
        found = self.db.session.scalars(
            query.order_by(Case.created_at.desc(), Case.id).limit(limit)
        ).all()
        return SUMMARIES.dump([_row(case) for case in found])

    @rpc
    def case(self, case_id) -> dict:
        """A case with its whole history, internal notes included (agents only)."""
        session = self.db.session
        return self._agent_view(session, self._case(session, case_id))

    def _agent_change(self, agent, case_id, change) -> dict:
        who = _caller(agent)
        with self.db.transaction() as session:
            case = self._case(session, case_id, lock=True)
            change(session, case, who)
            session.flush()
            return self._agent_view(session, case)

    @rpc
    def reply(self, agent, case_id, message) -> dict:
        """A public reply to the requester (they are e-mailed)."""
        given = validation.load(AGENT_REPLY, message)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.reply(
                session,
                case,
                who,
                given["body"],
                given["status"],
                self.now(),
                self.calendar(),
                self.correlation_id,
            ),
        )

    @rpc
    def add_note(self, agent, case_id, message) -> dict:
        """An internal note: never shown or sent to the requester."""
        given = validation.load(MESSAGE, message)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.note(session, case, who, given["body"], self.now()),
        )

    @rpc
    def resolve_case(self, agent, case_id, resolution) -> dict:
        """Resolved with notes, which the requester is e-mailed once."""
        given = validation.load(RESOLUTION, resolution)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.resolve(
                session, case, who, given["notes"], self.now(), self.correlation_id
            ),
        )

    @rpc
    def reroute_case(self, agent, case_id, rerouting) -> dict:
        given = validation.load(REROUTING, rerouting)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.reroute(
                session,
                case,
                who,
                given["team_id"],
                given["reason"],
                self.now(),
                self.correlation_id,
            ),
        )

    @rpc
    def assign_case(self, agent, case_id, assignment) -> dict:
        given = validation.load(ASSIGNMENT, assignment)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.assign(
                session, case, who, given["agent_id"], self.now()
            ),
        )

    @rpc
    def change_priority(self, agent, case_id, change) -> dict:
        given = validation.load(PRIORITY, change)
        return self._agent_change(
            agent,
            case_id,
            lambda session, case, who: cases.set_priority(
                session, case, who, given["priority"], self.now(), self.calendar()
            ),
        )

    # -- what help-desk admins maintain -----------------------------------------------------------
    @rpc
    def list_teams(self) -> list[dict]:
        session = self.db.session
        return [TEAM.dump(view) for view in teams.views(session)]

    @rpc
    def create_team(self, admin, team) -> dict:
        _caller(admin)
        given = validation.load(NEW_TEAM, team)
        with self.db.transaction() as session:
            created = teams.create(session, given, self.now())
            return TEAM.dump(teams.view(session, created))

    @rpc
    def update_team(self, admin, team_id, change) -> dict:
        _caller(admin)
        given = validation.load(TEAM_CHANGE, change)
        with self.db.transaction() as session:
            team = session.get(Team, validation.known_id(team_id, "Team"), with_for_update=True)
            if team is None:
                raise NotFound(f"Team {team_id} not found.")
            teams.change(session, team, given, self.now())
            return TEAM.dump(teams.view(session, team))

    @rpc
    def list_rules(self) -> list[dict]:
        return RULES.dump(teams.rules(self.db.session))

    @rpc
    def create_rule(self, admin, rule) -> dict:
        who = _caller(admin)
        given = validation.load(NEW_RULE, rule)
        with self.db.transaction() as session:
            return RULE.dump(teams.add_rule(session, given, who, self.now()))

    @rpc
    def delete_rule(self, admin, rule_id) -> None:
        _caller(admin)
        with self.db.transaction() as session:
            teams.remove_rule(session, validation.known_id(rule_id, "Rule"))

    # -- the knowledge base ------------------------------------------------------------------------
    @rpc
    def search_articles(self, words, language=None, limit=10) -> list[dict]:
        """Published articles matching `words` (full text), best first: what readers find,
        and what the intake form suggests from a case's summary."""
        words = validation.text(words, "q", most=200).strip()
        _language(language)
        if not words:
            return []
        found = knowledge.search(self.db.session, words, language, validation.limit(limit))
        return ARTICLE_SUMMARIES.dump(found)

    @rpc
    def article(self, article_id, include_drafts=False) -> dict:
        """An article; a draft only for its writers (`include_drafts`)."""
        found = knowledge.get(
            self.db.session,
            validation.known_id(article_id, "Article"),
            published_only=not include_drafts,
        )
        return ARTICLE.dump(found)

    @rpc
    def list_articles(self, language=None, status=None, limit=100) -> list[dict]:
        """Every article, drafts included (its writers), newest change first."""
        _language(language)
        if status is not None and status not in answers.ARTICLE_STATUSES:
            raise InvalidInput({"status": ["draft or published."]})
        found = knowledge.listing(self.db.session, language, status, validation.limit(limit))
        return ARTICLE_SUMMARIES.dump([knowledge.summary(a) for a in found])

    @rpc
    def create_article(self, author, article) -> dict:
        """A new article, as a draft."""
        who = _caller(author)
        given = validation.load(NEW_ARTICLE, article)
        with self.db.transaction() as session:
            return ARTICLE.dump(knowledge.create(session, given, who, self.now()))

    @rpc
    def update_article(self, author, article_id, change) -> dict:
        """Change an article's title, body or topic, or publish it (status published) or take
        it back to a draft."""
        _caller(author)
        given = validation.load(ARTICLE_CHANGE, change)
        with self.db.transaction() as session:
            found = knowledge.get(
                session, validation.known_id(article_id, "Article"), published_only=False
            )
            knowledge.change(session, found, given, self.now())
            return ARTICLE.dump(found)

    # -- what notifications asks at send time -----------------------------------------------------
    @rpc
    def message_for_delivery(self, case_id, entry_id) -> dict | None:
        """The text of a public reply or a resolution the requester is to be e-mailed, with
        the case's reference, summary and language; None for anything else (an internal note
        is never answered here)."""
        session = self.db.session
        found = session.scalar(
            select(CaseEntry).where(
                CaseEntry.id == validation.known_id(entry_id, "Entry"),
                CaseEntry.case_id == validation.known_id(case_id, "Case"),
            )
        )
        if found is None or not found.public or found.kind not in ("reply", "resolved"):
            return None
        case = session.get(Case, found.case_id)
        return {
            "case_id": case.id,
            "requester_id": case.requester_id,
            "reference": case.reference,
            "summary": case.summary,
            "language": case.language,
            "kind": found.kind,
            "body": found.body,
        }

    # -- timers ------------------------------------------------------------------------------------
    @timer(interval=SWEEP_S)
    def sweep(self) -> dict:
        """Breached service levels flagged (and counted) once; resolved cases closed after
        seven days without an answer."""
        now = self.now()
        with self.db.transaction() as session:
            flagged = cases.flag_breaches(session, now)
        with self.db.transaction() as session:
            closed = cases.close_expired(session, now, self.correlation_id)
        return {"flagged": flagged, "closed": closed}

    def observe(self) -> None:
        with self.db.transaction() as session:
            cases.observe_breached(session)


def _row(case: Case) -> dict:
    return {column.key: getattr(case, column.key) for column in Case.__table__.columns}
