"""marshmallow schemas of identity's RPC inputs that only identity reads. The shapes the gateway
shares (the enrollment form, new users and keys, every answer) are in
`cvms_platform.answers.identity`."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.codes import ROLES

TEXT_64 = validate.Length(max=64)


class Credentials(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=254))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class NewPassword(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class AuditEventRecord(Schema):
    """An audit event as the gateway sends it (ids only, never personal data)."""

    occurred_at = fields.AwareDateTime(required=True)
    actor_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_64)
    actor_type = fields.Str(
        required=True, validate=validate.OneOf(("user", "api_key", "anonymous"))
    )
    role = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(ROLES))
    ip = fields.Str(required=True, validate=TEXT_64)
    request_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_64)
    method = fields.Str(required=True, validate=validate.Length(min=1, max=10))
    route = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    action = fields.Str(required=True, validate=validate.OneOf(("read", "change")))
    status = fields.Int(required=True, validate=validate.Range(min=100, max=599))
    recipient_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_64)
    location_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_64)
    lot_id = fields.Str(load_default=None, allow_none=True, validate=TEXT_64)
    object_ids = fields.Dict(
        keys=fields.Str(validate=TEXT_64), values=fields.Str(validate=TEXT_64), required=True
    )


class RequesterRegistration(Schema):
    """A help-desk account: the address (its username) and a password, and the language of
    the verification e-mail."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    language = fields.Str(load_default="en", validate=validate.OneOf(("en", "es")))


class RecipientAccount(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=3, max=100))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    recipient_id = fields.Str(required=True, validate=validate.Length(min=1, max=36))
