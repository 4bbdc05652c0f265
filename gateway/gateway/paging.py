"""Page sizes for list endpoints: a client may ask for fewer rows, never for more than
MAX_PAGE_SIZE, so no request can make the gateway or a service read a whole table."""

from __future__ import annotations

from flask import request

from gateway.errors import ApiError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_size(parameter: str = "limit") -> int:
    """The `?limit=` of this request: DEFAULT_PAGE_SIZE when absent; 400 unless 1..MAX."""
    given = request.args.get(parameter)
    if given is None:
        return DEFAULT_PAGE_SIZE
    if not given.isdigit() or not 1 <= int(given) <= MAX_PAGE_SIZE:
        raise ApiError(
            400,
            "invalid_input",
            "The request has invalid fields.",
            {parameter: [f"Must be a whole number from 1 to {MAX_PAGE_SIZE}."]},
        )
    return int(given)
