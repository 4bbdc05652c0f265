"""The audit log, searchable by state admins."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from cvms_platform import validation
from gateway.access import allow
from gateway.api.audit import schemas
from gateway.docs import doc
from gateway.identity_store import transaction
from gateway.models import AuditEvent
from gateway.routing import API_PREFIX

audit = Blueprint("audit", __name__, url_prefix=API_PREFIX)

PAGE_SIZE = 50


@audit.get("/audit-events")
@allow("state_admin")
@doc(
    "Search the audit log, newest first: `?actor=` (user or API key id), `?recipient_id=`, "
    "`?location_id=`, `?from=`/`?to=` (ISO 8601 with offset), `?page=` (50 a page)",
    tag="audit",
    responses={200: ("Audit events", schemas.AuditPage)},
)
def search_audit_events():
    query = validation.load(schemas.AuditQuery(), request.args.to_dict())
    statement = select(AuditEvent)
    if "actor" in query:
        statement = statement.where(AuditEvent.actor_id == query["actor"])
    if "recipient_id" in query:
        statement = statement.where(AuditEvent.recipient_id == query["recipient_id"])
    if "location_id" in query:
        statement = statement.where(AuditEvent.location_id == query["location_id"])
    if "from_" in query:
        statement = statement.where(AuditEvent.occurred_at >= query["from_"])
    if "to" in query:
        statement = statement.where(AuditEvent.occurred_at < query["to"])
    page = query["page"]
    with transaction() as session:
        rows = session.scalars(
            statement.order_by(AuditEvent.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        ).all()
        events = schemas.AuditEventView(many=True).dump(rows[:PAGE_SIZE])
    return jsonify(events=events, page=page, next_page=page + 1 if len(rows) > PAGE_SIZE else None)
