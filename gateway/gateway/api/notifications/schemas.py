"""The HTTP contract of notifications: Twilio's inbound SMS webhook (the form Twilio posts: its
fields we read; it sends many more, which are kept as they are since the signature covers them
all), and stopping reminders from a reminder's link."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate


class InboundSms(Schema):
    class Meta:
        unknown = INCLUDE  # MessageSid, AccountSid, To, NumMedia, FromCity, ...

    sender = fields.Str(data_key="From", required=True, validate=validate.Length(min=1, max=30))
    text = fields.Str(data_key="Body", load_default="", validate=validate.Length(max=1600))


class StopReminders(Schema):
    message_id = fields.UUID(
        required=True, metadata={"description": "The `m` of the link in a reminder e-mail"}
    )


class RemindersStopped(Schema):
    masked_address = fields.Str(metadata={"example": "a***@example.org"})
    channel = fields.Str(metadata={"example": "email"})
