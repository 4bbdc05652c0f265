"""The audit log: who read or changed a recipient's record or a location's inventory.

The gateway decides what is audited (from each route) and sends each event here; rows are only
ever added (PostgreSQL refuses UPDATE and DELETE on the table). Events hold ids, never a name
or other personal data.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from identity.models import AuditEvent

PAGE_SIZE = 50


def record(session: Session, event: dict) -> None:
    session.add(AuditEvent(**event))


def search(session: Session, query: dict) -> dict:
    """A page of events, newest first, matching the loaded AuditQuery."""
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
    rows = session.scalars(
        statement.order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ).all()
    return {
        "events": rows[:PAGE_SIZE],
        "page": page,
        "next_page": page + 1 if len(rows) > PAGE_SIZE else None,
    }
