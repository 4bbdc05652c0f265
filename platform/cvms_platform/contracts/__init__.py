"""Event contracts: the payload schema of each (event type, version), checked both ways.

A contract names the service that owns the event; only that service publishes it, into the
`<source>.events` exchange that nameko event handlers bind to. Each publisher's schemas and
contracts are in its own module here (`inventory`, `administration`, `scheduling`,
`marketplace`, and `identity` for the gateway's); this package indexes them, builds events and
checks them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from marshmallow import ValidationError

from cvms_platform.contracts import (
    administration,
    gateway,
    helpdesk,
    identity,
    inventory,
    marketplace,
    scheduling,
)
from cvms_platform.contracts.administration import MAX_IMPORTED_DOSES  # for import chunks
from cvms_platform.envelope import ENVELOPE, Contract, Event
from cvms_platform.errors import ContractViolation

__all__ = [
    "CONTRACTS",
    "MAX_IMPORTED_DOSES",
    "Contract",
    "has_subscribers",
    "latest",
    "new_event",
    "new_events",
    "parse",
    "to_wire",
    "to_wires",
]


def _index(*owners: ModuleType) -> dict[tuple[str, int], Contract]:
    index: dict[tuple[str, int], Contract] = {}
    for owner in owners:
        for contract in owner.CONTRACTS:
            key = (contract.type, contract.version)
            if key in index:
                raise ValueError(f"two contracts for {contract.type} v{contract.version}")
            index[key] = contract
    return index


CONTRACTS: dict[tuple[str, int], Contract] = _index(
    inventory, administration, scheduling, identity, marketplace, helpdesk, gateway
)


def has_subscribers(event_type: str, version: int) -> bool:
    contract = CONTRACTS.get((event_type, version))
    return bool(contract and contract.subscribers)


def latest(event_type: str) -> Contract:
    versions = [c for (t, _), c in CONTRACTS.items() if t == event_type]
    if not versions:
        raise KeyError(f"no contract for event type {event_type!r}")
    return max(versions, key=lambda c: c.version)


def new_event(event_type: str, payload: dict[str, Any], *, correlation_id: str) -> Event:
    """Build an event of the latest contract version; raise ValueError if the payload breaks it."""
    return new_events(event_type, [payload], correlation_id=correlation_id)[0]


def new_events(
    event_type: str, payloads: list[dict[str, Any]], *, correlation_id: str
) -> list[Event]:
    """`new_event` for many payloads of one type, checked in one pass of the schema
    (marshmallow's many=True), which spares its per-call cost, not the check of any field."""
    contract = latest(event_type)
    try:
        wires = contract.schema.dump(payloads, many=True)
    except (TypeError, ValueError, AttributeError) as exc:  # e.g. a date given as text
        raise ValueError(
            f"{event_type} v{contract.version} payload breaks its contract: {exc}"
        ) from exc
    errors = contract.schema.validate(wires, many=True)
    if errors:
        # Keyed by the payload's index in a batch; one payload's errors as they are.
        found = errors[0] if len(payloads) == 1 else errors
        raise ValueError(f"{event_type} v{contract.version} payload breaks its contract: {found}")
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


def to_wire(event: Event) -> dict[str, Any]:
    return to_wires([event])[0]


def to_wires(events: list[Event]) -> list[dict[str, Any]]:
    """The envelopes of `events`, as they travel (dumped in one pass)."""
    return ENVELOPE.dump(
        [
            {
                "id": event.id,
                "type": event.type,
                "version": event.version,
                "occurred_at": event.occurred_at,
                "source": event.source,
                "correlation_id": event.correlation_id,
                "payload": event.payload,
            }
            for event in events
        ],
        many=True,
    )


def parse(body: Any, *, source: str, event_type: str) -> Event:
    """Check an incoming message against the envelope and its contract; the payload is loaded."""
    if not isinstance(body, dict):
        raise ContractViolation("event body is not a JSON object")
    try:
        envelope = ENVELOPE.load(body)
    except ValidationError as exc:
        raise ContractViolation(f"bad envelope: {exc.messages}") from None
    if envelope["type"] != event_type or envelope["source"] != source:
        raise ContractViolation(
            f"expected {source}/{event_type}, got {envelope['source']}/{envelope['type']}"
        )
    contract = CONTRACTS.get((event_type, envelope["version"]))
    if contract is None:
        raise ContractViolation(f"unknown contract {event_type} v{envelope['version']}")
    try:
        payload = contract.schema.load(envelope["payload"])
    except ValidationError as exc:
        raise ContractViolation(
            f"payload breaks {event_type} v{contract.version}: {exc.messages}"
        ) from None
    return Event(
        id=str(envelope["id"]),
        type=event_type,
        version=envelope["version"],
        source=source,
        payload=payload,
        correlation_id=envelope["correlation_id"],
        occurred_at=envelope["occurred_at"],
    )
