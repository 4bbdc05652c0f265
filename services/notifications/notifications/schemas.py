"""What notifications answers: a message's state, as staff see it (a masked address only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from notifications.models import STATES


class MessageView(Schema):
    id = fields.Str()
    message_type = fields.Str()
    channel = fields.Str()
    state = fields.Str(validate=validate.OneOf(STATES))
    masked_address = fields.Str(allow_none=True)
    language = fields.Str(allow_none=True)
    attempts = fields.Int()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.Str(allow_none=True)
