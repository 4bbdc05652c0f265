"""The HTTP contract of identity: sign-in and sessions, passwords set through one-time links,
user lookups and management, and API keys."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.partner_keys import SCOPES
from gateway.schemas import INITIAL_ROLES, LOCATION_ID


class TokenRequest(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class TokenResponse(Schema):
    access_token = fields.Str()
    token_type = fields.Str(metadata={"example": "Bearer"})
    expires_in = fields.Int(metadata={"description": "Seconds until the token expires"})
    refresh_token = fields.Str(
        metadata={"description": "Opaque; exchange it at /auth/refresh. Each use replaces it."}
    )
    refresh_expires_in = fields.Int(
        metadata={"description": "Seconds until the session ends and a new sign-in is needed"}
    )
    role = fields.Str()
    locations = fields.List(fields.Str())


class RefreshRequest(Schema):
    refresh_token = fields.Str(
        required=True, validate=validate.Length(min=1, max=200), load_only=True
    )


class LogoutRequest(Schema):
    refresh_token = fields.Str(
        validate=validate.Length(min=1, max=200),
        load_only=True,
        metadata={"description": "Also end this session (a refresh token of the caller's)"},
    )


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
