"""Offline operations: doses recorded on paper (the Vaccine Administration form) and typed into
a CSV, imported in chunks. Each row registers or matches its recipient and records the dose by
the same rules as the API (backdated doses allowed); the outcome of every row is kept for the
import's report.

A chunk is one transaction with bulk statements and no RPC per row: the rows are validated
one by one (rows), then recipients (matching), lots, earlier doses and existing records
(recording) are each loaded in one query for the whole chunk. Each row carries a client record
id; the dose's id is derived from the location and that id, so importing the same file again
(whole or in part, under any import id) records nothing twice: those rows are reported as
duplicates (report)."""

from administration.imports.chunk import import_chunk
from administration.imports.recording import InventoryLookups
from administration.imports.report import report, summary
from administration.imports.rows import ImportChunk, checked_rows

__all__ = [
    "ImportChunk",
    "InventoryLookups",
    "checked_rows",
    "import_chunk",
    "report",
    "summary",
]
