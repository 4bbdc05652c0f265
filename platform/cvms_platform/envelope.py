"""The versioned envelope every CVMS event travels in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

# The nameko context-data key that carries a request's correlation id across RPC calls.
CORRELATION_KEY = "correlation_id"


@dataclass(frozen=True)
class Event:
    type: str
    version: int
    source: str
    payload: dict[str, Any]
    correlation_id: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    source = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    correlation_id = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    payload = fields.Dict(required=True)


ENVELOPE = EnvelopeSchema()
