"""What the help desk answers and is asked: a case as its requester sees it and as agents see
it, the intake form, replies, teams and routing rules. The gateway documents its HTTP API with
these classes; the help-desk service loads its RPC input and dumps its answers with them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers.common import LOCATION_ID

# "I am a": who the requester is to CVMS.
REQUESTER_TYPES = ("vaccine_provider", "recipient", "public")
TOPICS = (
    "enrollment",
    "inventory_and_ordering",
    "dose_records_and_portal",
    "scheduling",
    "marketplace",
    "account_and_sign_in",
    "technical_problem",
    "other",
)
PRIORITIES = ("low", "normal", "high", "urgent")
CONTACT_CHANNELS = ("email", "phone")
LANGUAGES = ("en", "es")
NEW, OPEN, PENDING, RESOLVED, CLOSED = "new", "open", "pending", "resolved", "closed"
STATUSES = (NEW, OPEN, PENDING, RESOLVED, CLOSED)
# What a case's history records (public: the requester sees it too).
ENTRY_KINDS = (
    "created",
    "routed",
    "rerouted",
    "assigned",
    "status_changed",
    "priority_changed",
    "reply",
    "note",
    "requester_reply",
    "resolved",
    "reopened",
    "closed",
    "first_response_breached",
    "resolution_breached",
)
TEAM_ID = validate.Regexp(
    r"^[a-z0-9][a-z0-9-]{0,63}$", error="Lower-case letters, digits and hyphens, up to 64."
)
USER_ID = validate.Length(min=1, max=64)
BODY = validate.Length(min=1, max=10_000)
# Files a requester attaches when filing a case: how many, how large each, of which types.
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ALLOWED_ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")
# base64 of MAX_ATTACHMENT_BYTES (4 characters per 3 bytes, padded).
MAX_ATTACHMENT_BASE64 = 4 * -(-MAX_ATTACHMENT_BYTES // 3)


class NewAttachment(Schema):
    filename = fields.Str(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,199}$",
            error="Letters, digits, spaces and . _ ( ) -, up to 200.",
        ),
    )
    content_type = fields.Str(
        required=True,
        validate=validate.OneOf(ALLOWED_ATTACHMENT_TYPES),
        metadata={"description": "application/pdf, image/png, image/jpeg or text/plain"},
    )
    content_base64 = fields.Str(
        required=True,
        validate=validate.Length(min=4),
        metadata={"description": f"The file, base64; at most {MAX_ATTACHMENT_BYTES} bytes"},
    )


class AttachmentView(Schema):
    id = fields.Str()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int(metadata={"description": "Bytes"})
    created_at = fields.AwareDateTime()


class NewCase(Schema):
    """The intake form ("Get Help")."""

    requester_type = fields.Str(
        required=True,
        validate=validate.OneOf(REQUESTER_TYPES),
        metadata={"description": "I am a: vaccine_provider, recipient or public"},
    )
    topic = fields.Str(required=True, validate=validate.OneOf(TOPICS))
    organization_id = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Providers: their organization"},
    )
    location_id = fields.Str(
        load_default=None,
        allow_none=True,
        validate=LOCATION_ID,
        metadata={"description": "Providers: the location the case is about"},
    )
    summary = fields.Str(required=True, validate=validate.Length(min=3, max=200))
    description = fields.Str(required=True, validate=BODY)
    language = fields.Str(load_default="en", validate=validate.OneOf(LANGUAGES))
    contact_channel = fields.Str(load_default="email", validate=validate.OneOf(CONTACT_CHANNELS))
    contact_phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{7,20}$", error="Not a phone number."),
        metadata={"description": "Needed when contact_channel is phone"},
    )
    priority = fields.Str(load_default="normal", validate=validate.OneOf(PRIORITIES))
    attachments = fields.List(
        fields.Nested(NewAttachment),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
        metadata={
            "description": f"Up to {MAX_ATTACHMENTS} files of at most {MAX_ATTACHMENT_BYTES} "
            "bytes each (a larger one: 413, and no case is filed)"
        },
    )


class NewMessage(Schema):
    body = fields.Str(required=True, validate=BODY)


class AgentReply(NewMessage):
    status = fields.Str(
        load_default=PENDING,
        validate=validate.OneOf((OPEN, PENDING)),
        metadata={"description": "pending (waiting on the requester, the default) or open"},
    )


class Resolution(Schema):
    notes = fields.Str(
        required=True,
        validate=BODY,
        metadata={"description": "The resolution notes, e-mailed to the requester"},
    )


class Rerouting(Schema):
    team_id = fields.Str(required=True, validate=TEAM_ID)
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


class Assignment(Schema):
    agent_id = fields.Str(required=True, allow_none=True, validate=USER_ID)


class PriorityChange(Schema):
    priority = fields.Str(required=True, validate=validate.OneOf(PRIORITIES))


class EntryView(Schema):
    id = fields.Str()
    kind = fields.Str(validate=validate.OneOf(ENTRY_KINDS))
    public = fields.Bool(metadata={"description": "False: an internal note or change"})
    actor_id = fields.Str(allow_none=True)
    actor_role = fields.Str(allow_none=True)
    body = fields.Str(allow_none=True)
    details = fields.Dict(metadata={"description": "What changed (from, to, team ids)"})
    at = fields.AwareDateTime()


class _CaseListed(Schema):
    """What every list of cases shows of one, the requester's and the agents'."""

    id = fields.Str()
    reference = fields.Str(metadata={"example": "HD-7K3Q9X2M"})
    status = fields.Str(validate=validate.OneOf(STATUSES))
    requester_type = fields.Str()
    topic = fields.Str()
    summary = fields.Str()
    language = fields.Str()
    priority = fields.Str()
    created_at = fields.AwareDateTime()


class _CaseDetails(Schema):
    """What the requester's list and the agents' view both show of a case besides."""

    organization_id = fields.Str(allow_none=True)
    location_id = fields.Str(allow_none=True)
    contact_channel = fields.Str()
    updated_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    resolution_notes = fields.Str(allow_none=True)


class RequesterCaseSummary(_CaseListed, _CaseDetails):
    """A case in its requester's list: no team or agent."""


class RequesterCaseView(RequesterCaseSummary):
    """A case as its requester sees it: public entries only (no internal notes)."""

    description = fields.Str()
    attachments = fields.List(fields.Nested(AttachmentView))
    entries = fields.List(fields.Nested(EntryView))


class CaseSummary(_CaseListed):
    """A case in an agent's queue or search."""

    requester_id = fields.Str()
    team_id = fields.Str()
    assignee_id = fields.Str(allow_none=True)
    first_response_due = fields.AwareDateTime()
    first_responded_at = fields.AwareDateTime(allow_none=True)
    resolution_due = fields.AwareDateTime(allow_none=True)
    next_due_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "What is due next (none while pending)"}
    )
    first_response_breached = fields.Bool()
    resolution_breached = fields.Bool()


class AgentCaseView(CaseSummary, _CaseDetails):
    """A case as agents see it: every entry, internal notes included."""

    description = fields.Str()
    contact_phone = fields.Str(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentView))
    entries = fields.List(fields.Nested(EntryView))


ARTICLE_STATUSES = ("draft", "published")


class NewArticle(Schema):
    """A knowledge-base article: written as a draft, published when ready; one language each
    (the same subject in English and Spanish is two articles)."""

    title = fields.Str(required=True, validate=validate.Length(min=3, max=200))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=50_000))
    language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))
    topic = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(TOPICS))


class ArticleChange(Schema):
    title = fields.Str(validate=validate.Length(min=3, max=200))
    body = fields.Str(validate=validate.Length(min=1, max=50_000))
    topic = fields.Str(allow_none=True, validate=validate.OneOf(TOPICS))
    status = fields.Str(
        validate=validate.OneOf(ARTICLE_STATUSES),
        metadata={"description": "published: readers find it; draft: withdrawn"},
    )


class ArticleView(Schema):
    id = fields.Str()
    title = fields.Str()
    body = fields.Str()
    language = fields.Str()
    topic = fields.Str(allow_none=True)
    status = fields.Str(validate=validate.OneOf(ARTICLE_STATUSES))
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)


class ArticleSummary(Schema):
    id = fields.Str()
    title = fields.Str()
    language = fields.Str()
    topic = fields.Str(allow_none=True)
    status = fields.Str(validate=validate.OneOf(ARTICLE_STATUSES))
    excerpt = fields.Str(metadata={"description": "The body's first 200 characters"})


class NewTeam(Schema):
    id = fields.Str(required=True, validate=TEAM_ID)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    agent_ids = fields.List(fields.Str(validate=USER_ID), load_default=list)
    round_robin = fields.Bool(load_default=False)
    default = fields.Bool(
        load_default=False, metadata={"description": "Cases no rule names go to this team"}
    )


class TeamChange(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=100))
    agent_ids = fields.List(fields.Str(validate=USER_ID))
    round_robin = fields.Bool()
    default = fields.Bool(metadata={"description": "true only: make this the default team"})


class TeamView(Schema):
    id = fields.Str()
    name = fields.Str()
    agent_ids = fields.List(fields.Str())
    round_robin = fields.Bool()
    default = fields.Bool()


class NewRule(Schema):
    """Which team a case goes to; an empty condition matches any value. The rule naming the
    most conditions wins; between equals, the lower position."""

    topic = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(TOPICS))
    requester_type = fields.Str(
        load_default=None, allow_none=True, validate=validate.OneOf(REQUESTER_TYPES)
    )
    language = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(LANGUAGES))
    team_id = fields.Str(required=True, validate=TEAM_ID)
    position = fields.Int(load_default=100, validate=validate.Range(min=0, max=10_000))


class RuleView(NewRule):
    id = fields.Str()
