"""The audit log: who read or changed a recipient's record, and who changed inventory.

What is audited is decided here, in one place, from each route's path and method, so a route
added later is covered the day it is added without anyone remembering to:
- a recipient's record, read or changed: a route with a `recipient_id`, `administration_id` or
  `appointment_id` path parameter, or a path segment `recipients`, `me` (a recipient's own
  portal), `administrations`, `appointments`, `vaccinations` or `recipient-accounts`;
- imports, read or changed: a path segment ending in `imports` (they carry recipients' rows);
- inventory, changed (not GET): a route with a `location_id`, `lot_id` or `product_id` path
  parameter, or a path segment `lots`, `transfers`, `shipments` or `products`.
The public booking pages (/public/...) are the person's own, reached with their confirmation
code, and are not audited. Each event says who (user or API key id, role), when, from where
(client IP), what (method, route template, the ids of the objects involved, outcome status).
It holds ids, never a name or any other personal data. Identity keeps the log: each event is
sent to it over RPC before the answer goes out, and its rows are only ever added (PostgreSQL
refuses UPDATE and DELETE).
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g, request

from cvms_platform.timeutil import utcnow
from gateway.errors import error_response
from gateway.hardening import client_ip
from gateway.routing import API_PREFIX, services

log = logging.getLogger(__name__)

RECIPIENT_SEGMENTS = {
    "recipients",
    "me",
    "administrations",
    "appointments",
    "vaccinations",
    "recipient-accounts",
}
RECIPIENT_PARAMETERS = {"recipient_id", "administration_id", "appointment_id"}
INVENTORY_SEGMENTS = {"lots", "transfers", "shipments", "products"}
INVENTORY_PARAMETERS = {"location_id", "lot_id", "product_id"}
UNAUDITED_PREFIX = "/public/"
READ, CHANGE = "read", "change"
_PARAMETER = re.compile(r"<(?:[^:>]+:)?([^>]+)>|\{([^}]+)\}")
_MAX_ID_LENGTH = 64


def classify(method: str, route: str) -> str | None:
    """READ, CHANGE, or None (not audited) for a route template (Flask's `<x>` or OpenAPI's
    `{x}`), with or without the API prefix."""
    path = route[len(API_PREFIX) :] if route.startswith(API_PREFIX) else route
    if path.startswith(UNAUDITED_PREFIX):
        return None
    parameters = {a or b for a, b in _PARAMETER.findall(path)}
    segments = {part for part in _PARAMETER.sub("", path).split("/") if part}
    action = READ if method.upper() in ("GET", "HEAD") else CHANGE
    if parameters & RECIPIENT_PARAMETERS or segments & RECIPIENT_SEGMENTS:
        return action
    if any(segment.endswith("imports") for segment in segments):
        return action
    if action == CHANGE and (parameters & INVENTORY_PARAMETERS or segments & INVENTORY_SEGMENTS):
        return CHANGE
    return None


def _ids(source) -> dict[str, str]:
    """The `*_id` fields of a JSON object (top level): ids only, nothing personal."""
    if not isinstance(source, dict):
        return {}
    return {
        key: str(value)[:_MAX_ID_LENGTH]
        for key, value in source.items()
        if key.endswith("_id") and isinstance(value, str | int) and not isinstance(value, bool)
    }


def event_for(response: Response, action: str) -> dict:
    principal = g.get("principal")
    objects: dict[str, str] = {}
    objects.update(_ids(request.get_json(silent=True)) if request.is_json else {})
    if response.is_json and response.status_code < 300:
        answer = response.get_json(silent=True)
        objects.update(_ids(answer))
        if isinstance(answer, dict) and request.method == "POST" and "id" in answer:
            created = str(answer["id"])[:_MAX_ID_LENGTH]
            objects["created_id"] = created
            # Named after the collection it was added to: POST .../recipients -> recipient_id.
            collection = request.url_rule.rule.rstrip("/").rsplit("/", 1)[-1]
            if collection.endswith("s") and "<" not in collection:
                objects.setdefault(f"{collection[:-1].replace('-', '_')}_id", created)
    objects.update({k: str(v)[:_MAX_ID_LENGTH] for k, v in (request.view_args or {}).items()})
    if principal is not None and principal.recipient_id and "recipient_id" not in objects:
        objects["recipient_id"] = principal.recipient_id  # a recipient's own record (/me)
    actor_type = "anonymous" if principal is None else "user"
    if principal is not None and principal.is_api_key:
        actor_type = "api_key"
    return {
        "occurred_at": utcnow().isoformat(),
        "actor_id": principal.user_id if principal else None,
        "actor_type": actor_type,
        "role": principal.role if principal else None,
        "ip": client_ip()[:64],
        "request_id": g.get("request_id"),
        "method": request.method,
        "route": request.url_rule.rule[:200],
        "action": action,
        "status": response.status_code,
        "recipient_id": objects.get("recipient_id"),
        "location_id": objects.get("location_id"),
        "lot_id": objects.get("lot_id"),
        "object_ids": objects,
    }


def record(response: Response) -> Response:
    """after_request: add the audit event of an audited route. A read that cannot be audited
    is not answered (503); a change has happened already, so its answer stands and the failure
    is logged as an error."""
    rule = request.url_rule
    if rule is None or not rule.rule.startswith(API_PREFIX):
        return response
    action = classify(request.method, rule.rule)
    if action is None:
        return response
    try:
        event = event_for(response, action)
        with services() as s:
            s.identity.record_audit_event(event)
    except Exception as exc:  # noqa: BLE001 - identity or the broker failed; decided below
        log.error("cannot write the audit event of %s %s: %s", request.method, rule.rule, exc)
        if action == READ and response.status_code < 400:
            failed = error_response(
                503, "service_unavailable", "Could not audit this read; try again shortly."
            )
            failed.headers["Retry-After"] = "5"
            return failed
    return response


def install(app: Flask) -> None:
    app.after_request(record)
