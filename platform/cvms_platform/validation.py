"""marshmallow at the boundaries: one way to load input and turn failures into InvalidInput; and
the checks of an RPC's plain arguments (an id, a search text, a limit) that need no schema."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.errors import InvalidInput, NotFound


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


def text(value: Any, field: str, *, most: int) -> str:
    """A text argument of at most `most` characters, raising InvalidInput (`field`) otherwise."""
    if not isinstance(value, str) or len(value) > most:
        raise InvalidInput({field: [f"Text of at most {most} characters."]})
    return value


def limit(value: Any) -> int:
    """How many rows a caller asks for: a whole number from 1 to 1000 (InvalidInput otherwise)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
        raise InvalidInput({"limit": ["A whole number from 1 to 1000."]})
    return value


def known_id(value: Any, kind: str) -> str:
    """The id of a `kind` a caller named (text of at most 64 characters): anything else cannot
    name one, and is not found (NotFound, "<kind> <value> not found.")."""
    if not isinstance(value, str) or len(value) > 64:
        raise NotFound(f"{kind} {value} not found.")
    return value
