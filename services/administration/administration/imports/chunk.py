"""Importing one chunk of an import, in one transaction: rows sent before keep their outcome,
the others are validated, recorded, and their outcomes kept for the report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from administration.imports.recording import InventoryLookups, insert_once, record_doses
from administration.imports.report import (
    RowOutcome,
    keep_outcomes,
    outcome_of,
    stored_outcomes,
)
from administration.imports.rows import (
    ImportChunk,
    NumberedRow,
    blank_to_none,
    record_id_of,
    validated_rows,
)
from administration.models import AdministrationImport
from cvms_platform.errors import NotFound
from cvms_platform.timeutil import utcnow


def import_chunk(
    session: Session, chunk: ImportChunk, inventory: InventoryLookups
) -> list[RowOutcome]:
    """The outcome of each of the chunk's rows, in order."""
    now = utcnow()
    _open_import(session, chunk, now)

    # A chunk sent again (a retry) keeps the outcomes its rows had.
    numbers = chunk.numbers()
    earlier = stored_outcomes(session, chunk.import_id, numbers)
    outcomes: dict[int, RowOutcome] = {}
    pending: list[NumberedRow] = []
    stale: list[int] = []
    for number, cells in zip(numbers, chunk.rows, strict=True):
        values = blank_to_none(cells)
        previous = earlier.get(number)
        if previous is not None and previous.record_id == record_id_of(values):
            outcomes[number] = outcome_of(previous)
            continue
        if previous is not None:
            stale.append(number)
        pending.append(NumberedRow(number, values))

    checked = validated_rows(pending, outcomes)
    if checked:
        record_doses(session, chunk, checked, outcomes, inventory, now)
    keep_outcomes(session, chunk.import_id, [outcomes[row.number] for row in pending], stale)
    # Last, so that parts of one import in flight at once do not queue on the import's row for
    # a whole chunk's transaction, only for its commit.
    session.execute(
        update(AdministrationImport)
        .where(AdministrationImport.id == chunk.import_id)
        .values(updated_at=utcnow())
    )
    return [outcomes[n] for n in numbers]


def _open_import(session: Session, chunk: ImportChunk, now: datetime) -> None:
    """Create the import on its first chunk; a chunk of another location's import is not found."""
    record = session.get(AdministrationImport, chunk.import_id)
    if record is None:
        # Parts of one import may arrive at once: the first to commit creates it.
        insert_once(
            session,
            AdministrationImport(
                id=chunk.import_id,
                location_id=chunk.location_id,
                recorded_by=chunk.recorded_by,
                created_at=now,
                updated_at=now,
            ),
        )
        record = session.get(AdministrationImport, chunk.import_id)
    if record.location_id != chunk.location_id:
        raise NotFound(f"import {chunk.import_id} not found")
