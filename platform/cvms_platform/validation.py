"""marshmallow at the boundaries: one way to load input and turn failures into InvalidInput."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from cvms_platform.errors import InvalidInput


def load(schema: Schema, data: Any) -> Any:
    """Validate and deserialize `data`, raising InvalidInput with field-level messages."""
    if not isinstance(data, dict) and not schema.many:
        raise InvalidInput({"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None
