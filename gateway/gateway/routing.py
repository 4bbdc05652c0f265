"""What every route module shares: the RPC services of this request (or one call in a block of
its own), a validated JSON body (the one the route documents) or query string, a 201 answer, a
download, and the blueprints to register.

Each area of the API has its own blueprint (`gateway/api/<area>/routes.py`), all under
`API_PREFIX`, registered by `gateway.api.register`."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from flask import current_app, g, jsonify, request

from cvms_platform import validation
from gateway.docs import DOC_ATTR
from gateway.errors import ApiError

API_PREFIX = "/api/v1"


def services():
    """This request's RPC proxies (from the worker's pool), carrying its request id."""
    return current_app.extensions["cvms_rpc"].services(g.request_id)


class _OneCall:
    """`call.<service>.<method>(*args)`: one RPC, in a block of this request's services of its
    own, as `with services() as s: return s.<service>.<method>(*args)` would make it."""

    def __init__(self, service: str | None = None):
        self._service = service

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._service is None:
            return _OneCall(name)
        service = self._service

        def method(*args):
            with services() as s:
                return getattr(getattr(s, service), name)(*args)

        return method


call = _OneCall()


@functools.cache
def _body_schema(schema_cls: type, partial: bool):
    """One instance per documented body schema (and partial), built on first use: building one
    costs some times more than a load with it, and a loaded schema keeps no state."""
    return schema_cls(partial=partial)


def body(*, partial: bool = False) -> dict:
    """The JSON body, once the schema the route documents as its body (`@doc(body=...)`)
    accepts it (with `partial`, any of its fields may be left out): a route checks exactly what
    it documents. Unknown fields are refused, so what comes back is exactly the documented
    fields, still in their JSON form for passing on over RPC."""
    schema = getattr(current_app.view_functions[request.endpoint], DOC_ATTR)["body"]
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    validation.load(_body_schema(schema, partial), data)
    return data


def query(schema) -> dict:
    """The query string, as `schema` loads it (400 with a message per field otherwise)."""
    return validation.load(schema, request.args.to_dict())


def created(answer, location: str, *, new: bool = True):
    """`answer` as JSON, 201 with its Location; 200 (the Location still said) when it is not
    `new`: an idempotent request repeated."""
    response = jsonify(answer)
    response.status_code = 201 if new else 200
    response.headers["Location"] = location
    return response


def wants_csv(args: Mapping) -> bool:
    """Whether the client asks for CSV: `?format=csv`, or no `format` and an Accept header that
    prefers text/csv to JSON."""
    return args.get("format") == "csv" or (
        "format" not in args
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )


def attachment(content, mimetype: str, filename: str, *, disposition: str = "attachment"):
    """A file to download (or, `disposition="inline"`, to show) under `filename`."""
    response = current_app.response_class(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def drop_cached_inventory(response):
    """A change routed for a location makes its cached inventory stale, whichever route (of
    whichever blueprint) made it."""
    location_id = (request.view_args or {}).get("location_id")
    if location_id and request.method != "GET" and response.status_code < 400:
        current_app.extensions["cvms_inventory_cache"].invalidate(location_id)
    return response
