"""The HTTP contract of identity: passwords set through one-time links, user lookups and
management, API keys and the audit log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.api.enrollment.schemas import INITIAL_ROLES
from gateway.partner_keys import SCOPES
from gateway.schemas import LOCATION_ID


class SetPassword(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=200), load_only=True)
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class PasswordResetRequest(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=254))


class Accepted(Schema):
    message = fields.Str()


class PasswordLink(Schema):
    user_id = fields.UUID()
    link_id = fields.UUID()
    token = fields.Str(metadata={"description": "One-time: POST it to /auth/password/set"})
    expires_at = fields.AwareDateTime()


class UserView(Schema):
    id = fields.UUID()
    username = fields.Str()
    display_name = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    role = fields.Str()
    active = fields.Bool()
    organization_id = fields.Str(allow_none=True)
    location_ids = fields.List(fields.Str())
    locked_for_seconds = fields.Int(
        metadata={"description": "How long sign-in stays locked after failures (0: not locked)"}
    )
    created_at = fields.AwareDateTime()


class UserList(Schema):
    users = fields.List(fields.Nested(UserView))


class Account(Schema):
    """The signed-in person, as a front end lays out its pages for them."""

    user_id = fields.Str()
    username = fields.Str()
    display_name = fields.Str(allow_none=True)
    role = fields.Str()
    organization_id = fields.Str(allow_none=True)
    location_ids = fields.List(fields.Str())


class LocationSummary(Schema):
    id = fields.Str()
    name = fields.Str()
    organization_id = fields.Str(allow_none=True)


class LocationList(Schema):
    locations = fields.List(fields.Nested(LocationSummary))


class NewLocationUser(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Str(required=True, validate=validate.OneOf(INITIAL_ROLES))
    location_ids = fields.List(
        fields.Str(validate=LOCATION_ID), required=True, validate=validate.Length(min=1, max=100)
    )


class InvitedUser(Schema):
    user = fields.Nested(UserView)
    set_password = fields.Nested(PasswordLink)


class NewApiKey(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(
        fields.Str(validate=validate.OneOf(SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
    )


class ApiKeyView(Schema):
    id = fields.UUID()
    organization_id = fields.Str()
    name = fields.Str()
    prefix = fields.Str(metadata={"description": "The key's first characters, to tell keys apart"})
    scopes = fields.List(fields.Str())
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    last_used_at = fields.AwareDateTime(allow_none=True)


class IssuedApiKey(ApiKeyView):
    key = fields.Str(metadata={"description": "Shown once: send it as the X-API-Key header"})


class ApiKeyList(Schema):
    api_keys = fields.List(fields.Nested(ApiKeyView))


class AuditEventView(Schema):
    id = fields.Int()
    occurred_at = fields.AwareDateTime()
    actor_id = fields.Str(allow_none=True)
    actor_type = fields.Str()
    role = fields.Str(allow_none=True)
    ip = fields.Str()
    request_id = fields.Str(allow_none=True)
    method = fields.Str()
    route = fields.Str()
    action = fields.Str(metadata={"description": "read or change"})
    status = fields.Int()
    recipient_id = fields.Str(allow_none=True)
    location_id = fields.Str(allow_none=True)
    lot_id = fields.Str(allow_none=True)
    object_ids = fields.Dict(keys=fields.Str(), values=fields.Str())


class AuditPage(Schema):
    events = fields.List(fields.Nested(AuditEventView))
    page = fields.Int()
    next_page = fields.Int(allow_none=True)


class AuditQuery(Schema):
    actor = fields.Str(validate=validate.Length(min=1, max=64))
    recipient_id = fields.Str(validate=validate.Length(min=1, max=64))
    location_id = fields.Str(validate=validate.Length(min=1, max=64))
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
