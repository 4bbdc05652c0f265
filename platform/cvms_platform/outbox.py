"""Writing events into the outbox, in the same transaction as the state change they announce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cvms_platform.bulk import insert_rows
from cvms_platform.contracts import latest, new_event, to_wire
from cvms_platform.envelope import ENVELOPE, Event
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
    """Add many events to `session`'s transaction at once (bulk work, e.g. imports; COPY on
    PostgreSQL). Each payload is checked against its contract as `record_event` does; the
    events of one type are checked in one pass of their schema (marshmallow's many=True),
    which spares its per-call cost, not the check of any field."""
    if not events:
        return []
    by_type: dict[str, list[int]] = {}
    for index, (event_type, _) in enumerate(events):
        by_type.setdefault(event_type, []).append(index)
    built: list[Event | None] = [None] * len(events)
    for event_type, indexes in by_type.items():
        payloads = [events[i][1] for i in indexes]
        for index, event in zip(
            indexes, new_events(event_type, payloads, correlation_id), strict=True
        ):
            built[index] = event
    now = datetime.now(UTC)
    bodies = ENVELOPE.dump([_envelope(event) for event in built], many=True)
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
            for event, body in zip(built, bodies, strict=True)
        ],
    )
    return built


def new_events(event_type: str, payloads: list[dict[str, Any]], correlation_id: str) -> list[Event]:
    """`new_event` for many payloads of one type: the same dump and validation, in one pass."""
    contract = latest(event_type)
    try:
        wires = contract.schema.dump(payloads, many=True)
    except (TypeError, ValueError, AttributeError) as exc:  # e.g. a date given as text
        raise ValueError(
            f"{event_type} v{contract.version} payload breaks its contract: {exc}"
        ) from exc
    errors = contract.schema.validate(wires, many=True)
    if errors:
        raise ValueError(f"{event_type} v{contract.version} payload breaks its contract: {errors}")
    return [
        Event(
            type=event_type,
            version=contract.version,
            source=contract.source,
            payload=wire,
            correlation_id=correlation_id,
        )
        for wire in wires
    ]


def _envelope(event: Event) -> dict[str, Any]:
    """What `to_wire` dumps, for ENVELOPE.dump(many=True)."""
    return {
        "id": event.id,
        "type": event.type,
        "version": event.version,
        "occurred_at": event.occurred_at,
        "source": event.source,
        "correlation_id": event.correlation_id,
        "payload": event.payload,
    }
