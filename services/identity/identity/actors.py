"""Who is asking: the signed-in person the gateway has authenticated, as each RPC that acts
for someone receives them: `{"user_id", "role", "organization_id", "location_ids"}`, the
last two as the access token says."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from cvms_platform import validation


class ActorSchema(Schema):
    user_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    role = fields.Str(required=True, validate=validate.Length(min=1, max=30))
    organization_id = fields.Str(load_default=None, allow_none=True)
    location_ids = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=10_000),
    )


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    organization_id: str | None = None
    location_ids: tuple[str, ...] = ()


def actor(given: object) -> Actor:
    """Raise InvalidInput unless `given` names an actor."""
    loaded = validation.load(ActorSchema(), given)
    return Actor(**{**loaded, "location_ids": tuple(loaded["location_ids"])})
