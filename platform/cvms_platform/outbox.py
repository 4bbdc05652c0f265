"""Writing events into the outbox, in the same transaction as the state change they announce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cvms_platform.contracts import new_event, to_wire
from cvms_platform.envelope import Event
from cvms_platform.tables import outbox


def record_event(
    session: Session, event_type: str, payload: dict[str, Any], *, correlation_id: str
) -> Event:
    """Add the event to `session`'s transaction; the relay publishes it once committed."""
    event = new_event(event_type, payload, correlation_id=correlation_id)
    now = datetime.now(UTC)
    session.execute(
        outbox.insert().values(
            event_id=event.id,
            event_type=event.type,
            body=to_wire(event),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
            unroutable=False,
        )
    )
    return event


def record_events(
    session: Session, events: list[tuple[str, dict[str, Any]]], *, correlation_id: str
) -> list[Event]:
    """Add many events to `session`'s transaction in one statement (bulk work, e.g. imports);
    each is checked against its contract as `record_event` does."""
    if not events:
        return []
    now = datetime.now(UTC)
    built = [
        new_event(event_type, payload, correlation_id=correlation_id)
        for event_type, payload in events
    ]
    session.execute(
        outbox.insert(),
        [
            {
                "event_id": event.id,
                "event_type": event.type,
                "body": to_wire(event),
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
                "unroutable": False,
            }
            for event in built
        ],
    )
    return built
