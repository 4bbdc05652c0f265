"""What every route module shares: the RPC services of this request, a validated JSON body, a
201 answer, and the blueprints to register.

Each area of the API has its own blueprint (`gateway/api/<area>/routes.py`), all under
`API_PREFIX`, registered by `gateway.api.register`."""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from cvms_platform import validation
from gateway.errors import ApiError

API_PREFIX = "/api/v1"


def services():
    """This request's RPC proxies (from the worker's pool), carrying its request id."""
    return current_app.extensions["cvms_rpc"].services(g.request_id)


def body(schema) -> dict:
    """The JSON body, once `schema` accepts it. Unknown fields are refused, so what comes back
    is exactly the documented fields, still in their JSON form for passing on over RPC."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    validation.load(schema, data)
    return data


def created(answer: dict, location: str):
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def drop_cached_inventory(response):
    """A change routed for a location makes its cached inventory stale, whichever route (of
    whichever blueprint) made it."""
    location_id = (request.view_args or {}).get("location_id")
    if location_id and request.method != "GET" and response.status_code < 400:
        current_app.extensions["cvms_inventory_cache"].invalidate(location_id)
    return response
