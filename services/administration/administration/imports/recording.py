"""Recording the chunk's valid rows: each dose by the same rules as the API (backdated doses
allowed), against a lot known at the location, with the lots, earlier doses and existing
records each loaded in one query for the whole chunk; then the doses, the new recipients and
their events inserted in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from administration import catalog
from administration.imports.matching import RecipientMatcher, hold_uncontactable
from administration.imports.report import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    RowOutcome,
    outcome,
)
from administration.imports.rows import CheckedRow, ImportChunk
from administration.models import COMPLETED, Administration, KnownLot, Recipient
from administration.records import (
    BEYOND_SERIES,
    CLOCK_SKEW,
    MAX_DOSE_NUMBER,
    lot_from_inventory,
    lot_problem,
    rules_broken,
)
from administration.schemas import CHANNELS
from cvms_platform.bulk import among, insert_rows
from cvms_platform.contracts import MAX_IMPORTED_DOSES
from cvms_platform.outbox import record_events
from cvms_platform.timeutil import as_utc

IMPORTED_DOSE = (
    "recipient_id",
    "location_id",
    "lot_id",
    "product_id",
    "lot_number",
    "dose_number",
    "administered_at",
)
# Record ids are per location: the dose's id is a UUID5 of both.
RECORD_NAMESPACE = uuid.UUID("5b0c9d3e-8f0a-4f6e-9a52-1d6f3c8a2e11")

LotsAt = Callable[[str], list[dict]]


@dataclass(frozen=True, slots=True)
class InventoryLookups:
    """What an import asks inventory (by RPC) when its own projections do not know yet: the
    lots at a location, and the product catalog."""

    lots_at: LotsAt
    list_products: catalog.ProductLookup | None


def dose_id(location_id: str, record_id: str) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{location_id}/{record_id}"))


def record_doses(
    session: Session,
    chunk: ImportChunk,
    checked: list[CheckedRow],
    outcomes: dict[int, RowOutcome],
    inventory: InventoryLookups,
    now: datetime,
) -> None:
    """Record the doses of the rows not recorded before; the outcome of each row goes into
    `outcomes`."""
    location_id, import_id = chunk.location_id, chunk.import_id
    ids = {item.number: dose_id(location_id, item.record_id) for item in checked}
    existing = dict(
        session.execute(
            select(Administration.id, Administration.recipient_id).where(
                among(session, Administration.id, list(ids.values()))
            )
        ).all()
    )
    todo = []
    for item in checked:
        if ids[item.number] in existing:
            outcomes[item.number] = outcome(
                item.number,
                item.record_id,
                DUPLICATE,
                ids[item.number],
                existing[ids[item.number]],
            )
        else:
            todo.append(item)
    if not todo:
        return

    lots = _lots(
        session, location_id, {item.dose["lot_number"].upper() for item in todo}, inventory.lots_at
    )
    products = {
        product_id: catalog.product(session, product_id, inventory.list_products)
        for product_id in {lot.product_id for lot in lots.values() if lot is not None}
    }
    forms = [item.recipient for item in todo]
    hold_uncontactable(session, import_id, forms)
    matcher = RecipientMatcher(session, forms, now, import_id)
    history = _history(session, matcher.existing_ids())

    doses, events = [], []
    for item in todo:
        dose = item.dose
        errors: dict[str, list[str]] = {}
        given_at: datetime = dose["administered_at"]
        if given_at > now + CLOCK_SKEW:
            errors["administered_at"] = ["A dose cannot be recorded in the future."]
        lot = lots.get(dose["lot_number"].upper())
        product = products.get(lot.product_id) if lot is not None else None
        if lot is None:
            errors["lot_number"] = [f"No lot {dose['lot_number']} at {location_id}."]
        elif problem := lot_problem(lot, location_id, given_at.date()):
            errors["lot_number"] = [problem]
        elif product is None:
            errors["lot_number"] = [f"Product {lot.product_id} of this lot is not in the catalog."]
        recipient = matcher.match(item.recipient)
        given = history.setdefault(recipient.id, [])
        dose_number = dose["dose_number"] or len(given) + 1
        if dose_number > MAX_DOSE_NUMBER:
            errors["dose_number"] = [f"A recipient has at most {MAX_DOSE_NUMBER} doses recorded."]
        if not errors:
            earlier = [at for at in given if at <= given_at]
            broken = rules_broken(
                recipient.birth_date,
                product,
                given_at,
                dose_number,
                numbered=dose["dose_number"] is not None,
                given_before=len(given),
                previous_at=max(earlier) if earlier else None,
            )
            for field, message in broken.values():
                errors.setdefault(field, []).append(message)
        if errors:
            outcomes[item.number] = outcome(
                item.number,
                item.record_id,
                REJECTED,
                recipient_id=matcher.saved_id(recipient),
                errors=errors,
            )
            continue
        given.append(given_at)
        matcher.keep(recipient)
        doses.append(
            {
                "id": ids[item.number],
                "recipient_id": recipient.id,
                "location_id": location_id,
                "lot_id": lot.id,
                "product_id": lot.product_id,
                "lot_number": lot.lot_number,
                "dose_number": dose_number,
                "administered_at": given_at,
                "recorded_at": now,
                "recorded_by": chunk.recorded_by,
                "recorded_by_user_id": chunk.recorded_by_user_id,
                "overridden_rules": None,
                "override_reason": None,
                "flags": [BEYOND_SERIES] if dose_number > product.series_doses else None,
                "site": dose["site"],
                "route": dose["route"],
                "dose_volume_ml": dose["dose_volume_ml"],
                "performer_name": dose["performer_name"],
                "status": COMPLETED,
                "import_id": import_id,
            }
        )
        outcomes[item.number] = outcome(
            item.number, item.record_id, ACCEPTED, ids[item.number], recipient.id
        )

    new_recipients = matcher.kept_new()
    if new_recipients:
        insert_rows(session, Recipient.__table__, new_recipients)
        events += [
            (
                "recipient_registered",
                {
                    "recipient_id": r["id"],
                    "preferred_language": r["preferred_language"],
                    "contact_channels": [c for c in CHANNELS if r[f"contact_{c}"]],
                },
            )
            for r in new_recipients
        ]
    if doses:
        insert_rows(session, Administration.__table__, doses)
        # The chunk's doses travel together: inventory applies them in one transaction.
        given = [{k: d[k] for k in IMPORTED_DOSE} | {"administration_id": d["id"]} for d in doses]
        events += [
            (
                "administrations_imported",
                {
                    "import_id": import_id,
                    "location_id": location_id,
                    "doses": given[start : start + MAX_IMPORTED_DOSES],
                },
            )
            for start in range(0, len(given), MAX_IMPORTED_DOSES)
        ]
    record_events(session, events, correlation_id=chunk.correlation_id)


def _lots(session: Session, location_id: str, numbers: set[str], lots_at: LotsAt) -> dict:
    """Lot number (upper case) -> the lot at the location; one RPC for the chunk when the
    projection (fed by lot_received) does not know a number yet."""

    def known() -> dict[str, KnownLot]:
        found = session.scalars(
            select(KnownLot).where(
                KnownLot.location_id == location_id, func.upper(KnownLot.lot_number).in_(numbers)
            )
        )
        by_number: dict[str, KnownLot] = {}
        for lot in found:
            # One number for lots of two products at a location is ambiguous: not guessed.
            previous = by_number.get(lot.lot_number.upper())
            by_number[lot.lot_number.upper()] = (
                lot if previous is None or previous.product_id == lot.product_id else None
            )
        return by_number

    lots = known()
    if numbers - set(lots):
        for lot in lots_at(location_id):
            if lot["lot_number"].upper() in numbers and session.get(KnownLot, lot["id"]) is None:
                insert_once(session, lot_from_inventory(lot))
        lots = known()
    return lots


def insert_once(session: Session, row: object) -> None:
    """Insert a row unless a concurrent transaction (another part of the import) did: in a
    savepoint, so losing that race does not undo the chunk's work."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass


def _history(session: Session, recipient_ids: list[str]) -> dict[str, list[datetime]]:
    history: dict[str, list[datetime]] = {rid: [] for rid in recipient_ids}
    if recipient_ids:
        for rid, at in session.execute(
            select(Administration.recipient_id, Administration.administered_at).where(
                among(session, Administration.recipient_id, recipient_ids),
                Administration.status == COMPLETED,
            )
        ):
            history[rid].append(as_utc(at))
    return history
