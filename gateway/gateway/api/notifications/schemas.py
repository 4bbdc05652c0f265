"""The HTTP contract of Twilio's inbound SMS webhook: the form Twilio posts (its fields we read;
it sends many more, which are kept as they are since the signature covers them all)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate


class InboundSms(Schema):
    class Meta:
        unknown = INCLUDE  # MessageSid, AccountSid, To, NumMedia, FromCity, ...

    sender = fields.Str(data_key="From", required=True, validate=validate.Length(min=1, max=30))
    text = fields.Str(data_key="Body", load_default="", validate=validate.Length(max=1600))
