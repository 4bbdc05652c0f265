"""The help desk's request and answer shapes: the service's own (cvms_platform.answers.helpdesk),
and the help-desk account's registration and verification, which identity keeps."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers.helpdesk import (
    ARTICLE_STATUSES,
    LANGUAGES,
    STATUSES,
    TEAM_ID,
    AgentCaseView,
    AgentReply,
    ArticleChange,
    ArticleSummary,
    ArticleView,
    Assignment,
    CaseSummary,
    NewArticle,
    NewCase,
    NewMessage,
    NewRule,
    NewTeam,
    PriorityChange,
    RequesterCaseSummary,
    RequesterCaseView,
    Rerouting,
    Resolution,
    RuleView,
    TeamChange,
    TeamView,
)

__all__ = [
    "AgentCaseView",
    "AgentReply",
    "ArticleChange",
    "ArticleSummary",
    "ArticleView",
    "Assignment",
    "CaseSummary",
    "NewArticle",
    "NewCase",
    "NewMessage",
    "NewRule",
    "NewTeam",
    "PriorityChange",
    "RequesterCaseSummary",
    "RequesterCaseView",
    "Rerouting",
    "Resolution",
    "RuleView",
    "TeamChange",
    "TeamView",
]


class Registration(Schema):
    email = fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata={"description": "Also the username to sign in with at /auth/token"},
    )
    password = fields.Str(
        required=True,
        load_only=True,
        validate=validate.Length(min=12, max=200),
        metadata={"description": "At least 12 characters"},
    )
    language = fields.Str(load_default="en", validate=validate.OneOf(LANGUAGES))


class Registered(Schema):
    status = fields.Str(metadata={"example": "verification_sent"})
    message = fields.Str()


class Verification(Schema):
    token = fields.Str(
        required=True,
        validate=validate.Length(min=20, max=200),
        metadata={"description": "The token of the link e-mailed to the address"},
    )


class Verified(Schema):
    status = fields.Str(metadata={"example": "verified"})
    username = fields.Str()


class QueueQuery(Schema):
    team_id = fields.Str(load_default=None, validate=TEAM_ID)
    include_pending = fields.Bool(load_default=False)
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class ArticleSearch(Schema):
    q = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Words to find (a case's summary, for suggestions)"},
    )
    lang = fields.Str(load_default=None, validate=validate.OneOf(LANGUAGES))
    limit = fields.Int(load_default=10, validate=validate.Range(min=1, max=50))


class ArticleListQuery(Schema):
    lang = fields.Str(load_default=None, validate=validate.OneOf(LANGUAGES))
    status = fields.Str(load_default=None, validate=validate.OneOf(ARTICLE_STATUSES))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class CaseQuery(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    team_id = fields.Str(load_default=None, validate=TEAM_ID)
    requester_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    assignee_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    reference = fields.Str(load_default=None, validate=validate.Length(min=1, max=20))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))
