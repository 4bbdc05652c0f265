"""The versioned envelope every CVMS event travels in, and the contract that names the schema of
its payload (each publisher's contracts are in `cvms_platform.contracts`)."""

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


@dataclass(frozen=True)
class Contract:
    source: str
    type: str
    version: int
    schema: Schema
    # The services that consume this event. The relay waits (a grace period) for their queues
    # to be bound before it gives an unroutable event up; an event nobody consumes yet is
    # published once and recorded as unroutable, not retried.
    subscribers: tuple[str, ...] = ()
