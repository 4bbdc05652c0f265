"""Bulk writes: `record_events` (many events, each checked against its contract) and
`insert_rows` (COPY on PostgreSQL, a bulk INSERT on SQLite) give the rows one at a time would."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from cvms_platform.bulk import insert_rows
from cvms_platform.contracts import parse, to_wire
from cvms_platform.db import UtcDateTime
from cvms_platform.outbox import record_events
from cvms_platform.tables import outbox

from .conftest import lot_received_payload


def registered_payload():
    return {
        "recipient_id": str(uuid.uuid4()),
        "preferred_language": "es",
        "contact_channels": ["sms"],
    }


def outbox_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(outbox).order_by(outbox.c.seq)).all()


def test_record_events_writes_each_event_in_order_as_record_event_would(any_engine):
    before = datetime.now(UTC)
    payloads = [
        ("recipient_registered", registered_payload()),
        ("lot_received", lot_received_payload(expiration_date=date(2031, 6, 30))),
        ("recipient_registered", registered_payload()),
    ]
    with Session(any_engine) as session, session.begin():
        events = record_events(session, payloads, correlation_id="req-bulk")

    rows = outbox_rows(any_engine)
    assert [row.event_id for row in rows] == [event.id for event in events]
    assert [row.event_type for row in rows] == [t for t, _ in payloads]
    for row, event, (event_type, _) in zip(rows, events, payloads, strict=True):
        assert row.body == to_wire(event)
        assert row.body["correlation_id"] == "req-bulk"
        assert (row.attempts, row.sent_at, row.unroutable, row.last_error) == (0, None, False, None)
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)
        assert row.next_attempt_at == row.created_at
        # What the relay will publish is what a consumer accepts.
        source = "inventory" if event_type == "lot_received" else "administration"
        assert parse(row.body, source=source, event_type=event_type).id == event.id
    assert events[1].payload["expiration_date"] == "2031-06-30"


def test_record_events_is_part_of_the_callers_transaction(any_engine):
    session = Session(any_engine)
    session.begin()
    record_events(session, [("lot_received", lot_received_payload())], correlation_id="c")
    session.rollback()
    session.close()
    assert outbox_rows(any_engine) == []


def test_record_events_refuses_a_batch_with_one_bad_payload_and_writes_nothing(any_engine):
    events = [("lot_received", lot_received_payload()) for _ in range(3)]
    events.insert(2, ("lot_received", lot_received_payload(doses=0, doses_on_hand=0)))
    with (
        Session(any_engine) as session,
        session.begin(),
        pytest.raises(ValueError, match=r"lot_received v1 payload breaks its contract.*2"),
    ):
        record_events(session, events, correlation_id="c")
    with any_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox)) == 0


def test_insert_rows_takes_values_as_an_insert_would(any_engine):
    table = Table(
        f"bulk_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(50)),
        Column("details", JSON),
        Column("at", UtcDateTime),
        Column("plain_at", DateTime(timezone=True)),
    )
    table.create(any_engine)
    at = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    rows = [
        {"name": "tab\tand\nnewline \\ back", "details": {"a": [1, "x"]}, "at": at, "plain_at": at},
        {"name": None, "details": ["é", None], "at": None, "plain_at": None},
    ]
    with Session(any_engine) as session, session.begin():
        insert_rows(session, table, rows)
        insert_rows(session, table, [])

    with any_engine.connect() as connection:
        found = connection.execute(select(table).order_by(table.c.id)).all()
    assert [row.id for row in found] == [1, 2]  # the database's defaults still apply
    assert [row.name for row in found] == [rows[0]["name"], None]
    assert [row.details for row in found] == [{"a": [1, "x"]}, ["é", None]]
    assert found[0].at == at
    assert found[1].at is None


def test_insert_rows_refuses_a_naive_time_as_utc_datetime_does(any_engine):
    table = Table(
        f"bulk_{uuid.uuid4().hex[:8]}", MetaData(), Column("at", UtcDateTime, primary_key=True)
    )
    table.create(any_engine)
    with (
        Session(any_engine) as session,
        session.begin(),
        pytest.raises(Exception, match="aware datetimes only"),
    ):
        insert_rows(session, table, [{"at": datetime(2026, 3, 1, 7, 30)}])
