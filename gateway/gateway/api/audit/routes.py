"""The audit log, searchable by state admins (identity keeps it)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.access import allow
from gateway.api.audit import schemas
from gateway.docs import doc
from gateway.routing import API_PREFIX, call

audit = Blueprint("audit", __name__, url_prefix=API_PREFIX)


@audit.get("/audit-events")
@allow("state_admin")
@doc(
    "Search the audit log, newest first: `?actor=` (user or API key id), `?recipient_id=`, "
    "`?location_id=`, `?from=`/`?to=` (ISO 8601 with offset), `?page=` (50 a page)",
    responses={200: ("Audit events", schemas.AuditPage)},
)
def search_audit_events():
    return jsonify(call.identity.search_audit_events(request.args.to_dict()))
