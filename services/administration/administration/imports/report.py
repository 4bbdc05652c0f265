"""The import's report: the outcome of every row (accepted, duplicate or rejected), kept as the
rows are imported so that a chunk sent again keeps the outcomes its rows had."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Row, delete, select
from sqlalchemy.orm import Session

from administration.models import AdministrationImport, ImportRow
from cvms_platform.bulk import insert_rows
from cvms_platform.errors import NotFound

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
# A stored row's outcome, read as columns (ORM objects cost more than the rest of a report).
REPORT_COLUMNS = (
    ImportRow.row_number,
    ImportRow.record_id,
    ImportRow.status,
    ImportRow.administration_id,
    ImportRow.recipient_id,
    ImportRow.errors,
)


class RowOutcome(TypedDict):
    """A row's line of the report, as the API answers it (a plain dict: a chunk has thousands)."""

    row: int
    record_id: str
    status: str
    administration_id: str | None
    recipient_id: str | None
    errors: dict[str, list[str]] | None


def outcome(
    row: int,
    record_id: str,
    status: str,
    administration_id: str | None = None,
    recipient_id: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> RowOutcome:
    return {
        "row": row,
        "record_id": record_id,
        "status": status,
        "administration_id": administration_id,
        "recipient_id": recipient_id,
        "errors": errors or None,
    }


def outcome_of(row: ImportRow | Row) -> RowOutcome:
    """The outcome of a stored row (an ImportRow, or a row of REPORT_COLUMNS)."""
    return outcome(
        row.row_number,
        row.record_id,
        row.status,
        row.administration_id,
        row.recipient_id,
        row.errors,
    )


def stored_outcomes(session: Session, import_id: str, numbers: range) -> dict[int, Row]:
    """The outcomes already kept for these rows of the import, by row number; asked for as a
    range, not a list of a thousand numbers to send and compare."""
    return {
        r.row_number: r
        for r in session.execute(
            select(*REPORT_COLUMNS).where(
                ImportRow.import_id == import_id,
                ImportRow.row_number.between(numbers[0], numbers[-1]),
            )
        )
    }


def keep_outcomes(
    session: Session, import_id: str, fresh: list[RowOutcome], stale: list[int]
) -> None:
    """Keep the outcomes of rows imported now; `stale` rows were sent before with other contents,
    and their new outcome replaces the old."""
    if stale:
        session.execute(
            delete(ImportRow).where(
                ImportRow.import_id == import_id, ImportRow.row_number.in_(stale)
            )
        )
    if fresh:
        insert_rows(
            session,
            ImportRow.__table__,
            [
                {
                    "import_id": import_id,
                    "row_number": o["row"],
                    "record_id": o["record_id"],
                    "status": o["status"],
                    "administration_id": o["administration_id"],
                    "recipient_id": o["recipient_id"],
                    "errors": o["errors"],
                }
                for o in fresh
            ],
        )


def report(session: Session, location_id: str, import_id: str) -> dict:
    record = session.get(AdministrationImport, import_id)
    if record is None or record.location_id != location_id:
        raise NotFound(f"import {import_id} not found")
    rows = [
        outcome_of(r)
        for r in session.execute(
            select(*REPORT_COLUMNS)
            .where(ImportRow.import_id == import_id)
            .order_by(ImportRow.row_number)
        )
    ]
    return summary(import_id, location_id, rows)


def summary(import_id: str, location_id: str, rows: list[RowOutcome]) -> dict:
    counts = {status: 0 for status in (ACCEPTED, DUPLICATE, REJECTED)}
    for row in rows:
        counts[row["status"]] += 1
    return {"import_id": import_id, "location_id": location_id, **counts, "rows": rows}
