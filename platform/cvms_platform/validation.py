"""marshmallow at the boundaries: one way to load input and turn failures into InvalidInput."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.errors import InvalidInput


def load(schema: Schema, data: Any) -> Any:
    """Validate and deserialize `data`, raising InvalidInput with field-level messages."""
    if not isinstance(data, dict) and not schema.many:
        raise InvalidInput({"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None


def location(location_id: Any) -> str:
    """A location id a caller named, raising InvalidInput (location_id) if it cannot be one."""
    try:
        LOCATION_ID(location_id if isinstance(location_id, str) else "")
    except ValidationError as exc:
        raise InvalidInput({"location_id": exc.messages}) from None
    return location_id
