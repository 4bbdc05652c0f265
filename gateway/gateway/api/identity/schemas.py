"""The HTTP contract of identity: sign-in and sessions, passwords set through one-time links,
user lookups and management, and API keys."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers.identity import (
    ApiKeyView,
    InvitedUser,
    IssuedApiKey,
    LocationSummary,
    NewApiKey,
    NewLocationUser,
    PasswordLink,
    UserView,
)

__all__ = [  # the shapes identity answers with, documented here as they are
    "ApiKeyView",
    "InvitedUser",
    "IssuedApiKey",
    "LocationSummary",
    "NewApiKey",
    "NewLocationUser",
    "PasswordLink",
    "UserView",
]


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


class LocationList(Schema):
    locations = fields.List(fields.Nested(LocationSummary))


class ApiKeyList(Schema):
    api_keys = fields.List(fields.Nested(ApiKeyView))
