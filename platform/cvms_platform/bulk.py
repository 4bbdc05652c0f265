"""Bulk work in one statement, cheap for the client: many rows into one table (PostgreSQL's
COPY; a bulk INSERT elsewhere, e.g. the unit tests' SQLite), and a column among many values.

COPY sends the rows as one stream: a multi-row INSERT through SQLAlchemy and psycopg's pipeline
costs several times more per row in the client (statement compilation, parameters, a wait on
the server for each batch of statements), which is what bounded an offline import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (each naming the same columns) into `table`, in `session`'s transaction.
    Values go through each column type's bind processing, as an INSERT would take them."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # One row is one INSERT (a single event, the outbox's commonest write): COPY pays off over
    # many rows and costs a round trip more than an INSERT.
    if dialect.name != "postgresql" or len(rows) == 1:
        session.execute(insert(table), rows)
        return
    session.flush()  # as session.execute would: pending objects first (rows may refer to them)
    names = list(rows[0])
    processors = [
        (index, process)
        for index, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    quote = dialect.identifier_preparer
    statement = (
        f"COPY {quote.format_table(table)} ({', '.join(quote.quote(n) for n in names)}) FROM STDIN"
    )
    with (
        connection.connection.driver_connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            values = [row[name] for name in names]
            for index, process in processors:
                values[index] = process(values[index])
            copy.write_row(values)


def among(db: Session | Connection, column: ColumnElement, values: Iterable) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(array)`, one parameter rather than one
    per value: SQLAlchemy and psycopg rebuild a statement of a thousand placeholders on every
    call (psycopg caches none over 50), which costs the client more than the query costs."""
    values = list(values)
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
