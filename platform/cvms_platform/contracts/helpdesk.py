"""The events of the help-desk service: a case created, routed, answered in public, resolved,
reopened and closed. Ids and codes only: no names, addresses, summaries or message text (the
notifications service asks the help desk for a reply's text at send time)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers.helpdesk import LANGUAGES, PRIORITIES, REQUESTER_TYPES, TOPICS
from cvms_platform.envelope import Contract

_ID = validate.Length(min=1, max=64)


class CaseEventV1(Schema):
    case_id = fields.UUID(required=True)
    requester_id = fields.Str(required=True, validate=_ID)


class CaseCreatedV1(CaseEventV1):
    requester_type = fields.Str(required=True, validate=validate.OneOf(REQUESTER_TYPES))
    topic = fields.Str(required=True, validate=validate.OneOf(TOPICS))
    priority = fields.Str(required=True, validate=validate.OneOf(PRIORITIES))
    language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))


class CaseRoutedV1(CaseEventV1):
    team_id = fields.Str(required=True, validate=_ID)
    previous_team_id = fields.Str(load_default=None, allow_none=True, validate=_ID)
    rule_id = fields.Str(load_default=None, allow_none=True, validate=_ID)
    assignee_id = fields.Str(load_default=None, allow_none=True, validate=_ID)


class CaseRepliedV1(CaseEventV1):
    """An agent's public reply (never an internal note): `entry_id` names it."""

    entry_id = fields.UUID(required=True)
    language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))


class CaseResolvedV1(CaseEventV1):
    """Resolved, with notes (`entry_id` names the resolution entry)."""

    entry_id = fields.UUID(required=True)
    language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))


class CaseReopenedV1(CaseEventV1):
    by = fields.Str(required=True, validate=validate.OneOf(("requester", "agent")))


class CaseClosedV1(CaseEventV1):
    reason = fields.Str(required=True, validate=validate.OneOf(("confirmed", "timed_out")))


CONTRACTS = (
    Contract("helpdesk", "case_created", 1, CaseCreatedV1()),
    Contract("helpdesk", "case_routed", 1, CaseRoutedV1()),
    Contract("helpdesk", "case_replied", 1, CaseRepliedV1(), ("notifications",)),
    Contract("helpdesk", "case_resolved", 1, CaseResolvedV1(), ("notifications",)),
    Contract("helpdesk", "case_reopened", 1, CaseReopenedV1()),
    Contract("helpdesk", "case_closed", 1, CaseClosedV1()),
)
