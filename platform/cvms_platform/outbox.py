"""Writing events into the outbox, in the same transaction as the state change they announce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cvms_platform.bulk import insert_rows
from cvms_platform.contracts import new_events, to_wires
from cvms_platform.envelope import Event
from cvms_platform.tables import outbox


def record_event(
    session: Session, event_type: str, payload: dict[str, Any], *, correlation_id: str
) -> Event:
    """Add the event to `session`'s transaction; the relay publishes it once committed."""
    return record_events(session, [(event_type, payload)], correlation_id=correlation_id)[0]


def record_events(
    session: Session, events: list[tuple[str, dict[str, Any]]], *, correlation_id: str
) -> list[Event]:
    """Add many events to `session`'s transaction at once (bulk work, e.g. imports; COPY on
    PostgreSQL). Each payload is checked against its contract; the events of one type are
    checked in one pass of their schema (`new_events`)."""
    if not events:
        return []
    by_type: dict[str, list[int]] = {}
    for index, (event_type, _) in enumerate(events):
        by_type.setdefault(event_type, []).append(index)
    built: list[Event | None] = [None] * len(events)
    for event_type, indexes in by_type.items():
        payloads = [events[i][1] for i in indexes]
        for index, event in zip(
            indexes, new_events(event_type, payloads, correlation_id=correlation_id), strict=True
        ):
            built[index] = event
    now = datetime.now(UTC)
    insert_rows(
        session,
        outbox,
        [
            {
                "event_id": event.id,
                "event_type": event.type,
                "body": body,
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
                "unroutable": False,
            }
            for event, body in zip(built, to_wires(built), strict=True)
        ],
    )
    return built
