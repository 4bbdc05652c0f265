"""The HTTP contract of the audit log: a page of events and the search's query."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


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
