"""The OpenAPI document, generated from the routes' declarations and marshmallow schemas."""

from __future__ import annotations

import re
from collections.abc import Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from gateway import schemas
from gateway.access import ACCESS_ATTR

DOC_ATTR = "_cvms_doc"

STANDARD_ERRORS = {
    400: "Invalid input (body or query): `fields` holds a message per field",
    401: "No token, or an invalid or expired one",
    403: "Your role, or the location, is not yours to act on",
    404: "No such object",
    409: "Conflicts with the current state",
    413: "Too large: the body, or a file in it, is over what the route takes",
    422: "Breaks a business rule: `fields` says which",
    429: "Too many requests: wait the seconds in Retry-After",
    503: "A service did not answer in time",
}


def doc(summary: str, *, tag: str | None = None, body=None, responses: dict | None = None):
    """Document a route: `tag` groups it (by default under its blueprint's name, the area's),
    `body` is the schema of its JSON body, and `responses` says what it answers beyond the
    standard errors: {status: (description, schema)}, or {status: description} for a refusal
    (an Error)."""

    def decorator(view: Callable) -> Callable:
        setattr(
            view,
            DOC_ATTR,
            {"summary": summary, "tag": tag, "body": body, "responses": responses or {}},
        )
        return view

    return decorator


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="CVMS API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "COVID-19 Vaccine Management System: the gateway's public API."},
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.security_scheme(
        "apiKey",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "A partner system's key: only operations with x-scopes accept one",
        },
    )
    spec.components.schema("Error", schema=schemas.Error)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, DOC_ATTR, None)
        if meta is None:
            continue
        access = getattr(view, ACCESS_ATTR)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations[method.lower()] = _operation(meta, access, rule)
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(meta: dict, access, rule) -> dict:
    arguments = rule.arguments
    operation = {
        "summary": meta["summary"],
        "tags": [meta["tag"] or rule.endpoint.rpartition(".")[0]],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in sorted(arguments)
        ],
        "responses": {},
    }
    if access.roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = sorted(access.roles)
        operation["x-location-scoped"] = access.location_scoped
        if access.organization_scoped:
            operation["x-organization-scoped"] = True
        if access.scopes:
            operation["security"].append({"apiKey": []})
            # A partner system's key with all of these may call it (as role partner).
            operation["x-scopes"] = sorted(access.scopes)
    if meta["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": meta["body"]}},
        }
    for status, declared in meta["responses"].items():
        # A refusal is declared by its description alone: its body is an Error.
        description, schema = (declared, "Error") if isinstance(declared, str) else declared
        content = {"application/json": {"schema": schema}} if schema is not None else None
        operation["responses"][str(status)] = {
            "description": description,
            **({"content": content} if content else {}),
        }
    # Any operation may refuse a malformed query string (?limit=, filters) with 400.
    codes = {400}
    if access.roles is not None:
        codes |= {401, 403, 503}
    if arguments or meta["body"] is not None:
        codes.add(404)  # a path's object, or one the body names (e.g. its location), unknown
    codes.add(429)  # every /api/ operation is rate-limited
    for status in sorted(codes):
        operation["responses"].setdefault(
            str(status),
            {
                "description": STANDARD_ERRORS[status],
                "content": {"application/json": {"schema": "Error"}},
            },
        )
    return operation
