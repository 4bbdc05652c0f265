"""The inbox: which events a consumer has already applied, recorded in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cvms_platform.tables import inbox

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def claim(session: Session, event_id: str, consumer: str) -> bool:
    """Record `event_id` as handled by `consumer`; False if it already was.

    A concurrent duplicate waits on the unique key until the first commits, then sees the
    conflict, so two deliveries of one event can never both apply.
    """
    return event_id in claim_many(session, [event_id], consumer)


def claim_many(session: Session, event_ids: list[str], consumer: str) -> set[str]:
    """Record each of `event_ids` as handled by `consumer`, in one statement; the ids that were
    not before (an id named twice counts once)."""
    if not event_ids:
        return set()
    insert = _INSERTS[session.get_bind().dialect.name]
    now = datetime.now(UTC)
    rows = [
        {"event_id": event_id, "consumer": consumer, "handled_at": now}
        for event_id in dict.fromkeys(event_ids)
    ]
    # RETURNING, not rowcount: with psycopg 3 the rowcount of this INSERT came back 0 even
    # when the row was inserted.
    inserted = session.execute(
        insert(inbox).values(rows).on_conflict_do_nothing().returning(inbox.c.event_id)
    )
    return {row.event_id for row in inserted}
