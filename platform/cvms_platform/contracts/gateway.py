"""The events of the gateway itself: what reaches CVMS at its edge and must outlive the service
that handles it being away. The gateway keeps no database, so it has no outbox: it publishes
with the broker's confirm (mandatory: a queue must take it) before it answers, and a caller
that gets no 2xx sends again."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.envelope import Contract


class SmsReplyReceivedV1(Schema):
    """A phone replied STOP or START to CVMS's texts (Twilio's inbound webhook, its signature
    checked). No phone number on the bus: its digest, as notifications keys suppressions."""

    message_sid = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    phone_digest = fields.Str(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    reply = fields.Str(required=True, validate=validate.OneOf(("stop", "start")))
    received_at = fields.AwareDateTime(required=True)


CONTRACTS = (
    Contract("gateway", "sms_reply_received", 1, SmsReplyReceivedV1(), ("notifications",)),
)
