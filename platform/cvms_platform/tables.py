"""The outbox and inbox tables that every service database carries beside its own tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

PENDING = text("sent_at IS NULL")


def _outbox_columns() -> list[Column]:
    return [
        Column(
            "seq",
            BigInteger().with_variant(Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("body", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text),
        Column("sent_at", DateTime(timezone=True)),
        Column("unroutable", Boolean, nullable=False, default=False),
    ]


def _inbox_columns() -> list[Column]:
    return [
        Column("event_id", String(36), primary_key=True),
        Column("consumer", String(200), primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False),
    ]


metadata = MetaData()
outbox = Table("outbox", metadata, *_outbox_columns())
inbox = Table("inbox", metadata, *_inbox_columns())


def create_messaging_tables(op) -> None:
    """For a service's first Alembic migration: create the outbox and inbox."""
    op.create_table("outbox", *_outbox_columns())
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
    op.create_table("inbox", *_inbox_columns())


def drop_messaging_tables(op) -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")
