import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cvms_platform import inbox, migrate
from cvms_platform.contracts import parse, to_wire
from cvms_platform.db import make_engine
from cvms_platform.outbox import record_event
from cvms_platform.tables import inbox as inbox_table
from cvms_platform.tables import outbox

from .conftest import lot_received_payload


def inbox_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(inbox_table)).all()


# -- inbox ----------------------------------------------------------------------------------------
def test_claim_is_true_the_first_time_and_false_after(any_engine):
    event_id = str(uuid.uuid4())
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "Consumer.on_event") is True
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "Consumer.on_event") is False
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "Consumer.on_event") is False

    rows = inbox_rows(any_engine)
    assert [(r.event_id, r.consumer) for r in rows] == [(event_id, "Consumer.on_event")]
    assert rows[0].handled_at is not None


def test_claim_twice_in_one_transaction(any_engine):
    event_id = str(uuid.uuid4())
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "C.h") is True
        assert inbox.claim(session, event_id, "C.h") is False


def test_claims_are_per_consumer(any_engine):
    event_id = str(uuid.uuid4())
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "A.handle") is True
        assert inbox.claim(session, event_id, "B.handle") is True
        assert inbox.claim(session, str(uuid.uuid4()), "A.handle") is True
    assert len(inbox_rows(any_engine)) == 3


def test_a_rolled_back_claim_leaves_the_event_unhandled(any_engine):
    event_id = str(uuid.uuid4())
    session = Session(any_engine)
    session.begin()
    assert inbox.claim(session, event_id, "C.h") is True
    session.rollback()
    session.close()
    with Session(any_engine) as session, session.begin():
        assert inbox.claim(session, event_id, "C.h") is True


def _two_deliveries(engine) -> tuple[Session, eventlet.greenthread.GreenThread]:
    """Two deliveries of one event in flight at once: the first has claimed it in a transaction
    still open (returned), the second is claiming it in a green thread of its own."""
    event_id = str(uuid.uuid4())
    first = Session(engine)
    first.begin()
    assert inbox.claim(first, event_id, "C.h") is True

    def second_delivery():
        with Session(engine) as session, session.begin():
            return inbox.claim(session, event_id, "C.h")

    second = eventlet.spawn(second_delivery)
    eventlet.sleep(0)  # let it start and block on the row lock
    return first, second


def test_a_concurrent_duplicate_waits_for_the_first_and_then_sees_it(postgres_engine):
    """The second delivery waits on the unique key until the first commits, then claims
    nothing."""
    first, pending = _two_deliveries(postgres_engine)
    # Not decided while the first is undecided ...
    with pytest.raises(eventlet.Timeout), eventlet.Timeout(0.3):
        pending.wait()
    first.commit()
    first.close()
    # ... and a duplicate once it is.
    assert pending.wait() is False
    assert len(inbox_rows(postgres_engine)) == 1


def test_a_concurrent_duplicate_applies_if_the_first_rolls_back(postgres_engine):
    first, pending = _two_deliveries(postgres_engine)
    first.rollback()
    first.close()
    assert pending.wait() is True


# -- outbox ---------------------------------------------------------------------------------------
def test_record_event_writes_a_pending_row_with_the_wire_body(any_engine):
    before = datetime.now(UTC)
    with Session(any_engine) as session, session.begin():
        event = record_event(
            session, "lot_received", lot_received_payload(), correlation_id="req-42"
        )

    with any_engine.connect() as connection:
        row = connection.execute(select(outbox)).one()
    assert row.event_id == event.id
    assert row.event_type == "lot_received"
    assert row.body == to_wire(event)
    assert row.body["correlation_id"] == "req-42"
    assert row.attempts == 0
    assert row.sent_at is None
    assert row.unroutable is False
    assert row.last_error is None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)
    assert row.next_attempt_at == row.created_at  # due at once
    # What the relay will publish is what a consumer accepts.
    assert parse(row.body, source="inventory", event_type="lot_received").id == event.id


def test_record_event_is_part_of_the_callers_transaction(sqlite_engine):
    session = Session(sqlite_engine)
    session.begin()
    record_event(session, "lot_received", lot_received_payload(), correlation_id="c")
    session.rollback()
    session.close()
    with sqlite_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox)) == 0


def test_record_event_refuses_a_bad_payload_and_writes_nothing(sqlite_engine):
    with Session(sqlite_engine) as session, session.begin(), pytest.raises(ValueError):
        record_event(session, "lot_received", lot_received_payload(doses=0), correlation_id="c")
    with sqlite_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outbox)) == 0


def test_an_event_id_is_recorded_once(sqlite_engine):
    with Session(sqlite_engine) as session, session.begin():
        event = record_event(session, "lot_received", lot_received_payload(), correlation_id="c")
    with pytest.raises(IntegrityError), Session(sqlite_engine) as session, session.begin():
        session.execute(
            outbox.insert().values(
                event_id=event.id,
                event_type="lot_received",
                body={},
                created_at=datetime.now(UTC),
                next_attempt_at=datetime.now(UTC),
                attempts=0,
                unroutable=False,
            )
        )


# -- migrations -----------------------------------------------------------------------------------
def test_a_service_migration_creates_the_outbox_and_inbox(tmp_path):
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate.upgrade("inventory", url=url)
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        assert {"outbox", "inbox"} <= set(inspector.get_table_names())
        assert {c["name"] for c in inspector.get_columns("outbox")} == set(outbox.c.keys())
        assert {c["name"] for c in inspector.get_columns("inbox")} == set(inbox_table.c.keys())
        assert "ix_outbox_pending" in {i["name"] for i in inspector.get_indexes("outbox")}
        # and the tables work with the platform's own helpers
        make_session = sessionmaker(bind=engine)
        with make_session() as session, session.begin():
            record_event(session, "lot_received", lot_received_payload(), correlation_id="c")
            assert inbox.claim(session, str(uuid.uuid4()), "X.y") is True
        # upgrading again is harmless
        migrate.upgrade("inventory", url=url)
    finally:
        engine.dispose()
