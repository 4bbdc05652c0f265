"""What notifications answers: a message's state as staff see it (a masked address only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

MESSAGE_STATES = ("queued", "sent", "deferred", "failed", "suppressed")


class MessageView(Schema):
    id = fields.Str()
    message_type = fields.Str(metadata={"example": "appointment_booked"})
    channel = fields.Str(metadata={"description": "email or sms"})
    state = fields.Str(
        validate=validate.OneOf(MESSAGE_STATES),
        metadata={"description": "queued, sent, deferred (tried again later), failed, suppressed"},
    )
    masked_address = fields.Str(allow_none=True, metadata={"example": "a***@example.org"})
    language = fields.Str(allow_none=True)
    attempts = fields.Int()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.Str(allow_none=True, metadata={"description": "Why it is not sent yet"})


class MessageList(Schema):
    messages = fields.List(fields.Nested(MessageView))
