"""An idle relay is woken by committed outbox rows (PostgreSQL LISTEN/NOTIFY), not by polling."""

import threading

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform import outbox_wakeup
from cvms_platform.outbox import record_event
from cvms_platform.relay import OutboxRelay
from cvms_platform.tables import outbox

from .conftest import commit_event, lot_received_payload


def migrate(engine) -> None:
    with engine.begin() as connection:
        outbox_wakeup.install(Operations(MigrationContext.configure(connection)))


@pytest.fixture
def wakeup(postgres_engine):
    migrate(postgres_engine)
    waiter = outbox_wakeup.OutboxWakeup(postgres_engine, poll_interval=0.02)
    assert waiter.wait(0) is False  # listening from here on
    yield waiter
    waiter.close()


def test_a_committed_outbox_row_wakes_the_listener_and_nothing_else_does(postgres_engine, wakeup):
    with Session(postgres_engine) as session, session.begin():
        record_event(session, "lot_received", lot_received_payload(), correlation_id="c")
        session.rollback()  # never committed: nothing to send, nothing announced
    assert wakeup.wait(0.3) is False

    commit_event(postgres_engine)
    commit_event(postgres_engine)

    assert wakeup.wait(10) is True
    # Once what was announced is taken, nothing more wakes it.
    assert any(wakeup.wait(0.3) is False for _ in range(5))


def test_an_idle_relay_publishes_a_new_event_without_waiting_for_its_fallback_poll(
    postgres_engine, broker, amqp_uri, poll
):
    migrate(postgres_engine)
    queue = broker.bind_queue("inventory", "lot_received")
    # Idle, it looks for itself only every 10 minutes: only the notification can wake it here.
    relay = OutboxRelay(
        "inventory", postgres_engine, amqp_uri, idle_wait=600.0, idle_interval=600.0
    )
    assert relay.wakeup is not None
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        poll(lambda: relay.wakeup.connection is not None)  # idle and listening
        commit_event(postgres_engine)

        poll(lambda: broker.depth(queue) == 1)
        with postgres_engine.connect() as connection:
            assert connection.scalar(select(outbox.c.sent_at)) is not None
    finally:
        relay.stopping.set()
        runner.join(timeout=15)
    assert not runner.is_alive()


def test_sqlite_has_no_trigger_and_its_relay_polls(sqlite_engine):
    migrate(sqlite_engine)  # a no-op there
    assert not outbox_wakeup.OutboxWakeup.supported(sqlite_engine)
