"""Nothing lost, nothing applied twice: the outbox relay, the inbox and the dead-letter queue
against the real broker and databases."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pika
import pytest
from sqlalchemy import text

from cvms_platform.contracts import new_event, to_wire
from tests.harness import metric, wait_until

DOSE_EVENTS = {"service": "inventory", "event_type": "dose_administered"}


def _outbox_backlog(cluster, service: str) -> float:
    return metric(cluster.metrics(service), "cvms_outbox_backlog", service=service)


def _consumed(cluster, outcome: str) -> float:
    return metric(
        cluster.metrics("inventory"), "cvms_events_consumed_total", outcome=outcome, **DOSE_EVENTS
    )


@pytest.fixture
def broker(cluster):
    connection = pika.BlockingConnection(pika.URLParameters(cluster.run.amqp_uri))
    channel = connection.channel()
    channel.confirm_delivery()
    yield channel
    connection.close()


def _publish(channel, body: bytes, routing_key: str = "dose_administered") -> None:
    channel.basic_publish(
        exchange="administration.events",
        routing_key=routing_key,
        body=body,
        properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
        mandatory=True,
    )


def _dose_event(location: str, lot: dict, recipient: dict) -> bytes:
    event = new_event(
        "dose_administered",
        {
            "administration_id": str(uuid.uuid4()),
            "recipient_id": recipient["id"],
            "location_id": location,
            "lot_id": lot["id"],
            "product_id": lot["product_id"],
            "lot_number": lot["lot_number"],
            "dose_number": 1,
            "administered_at": datetime.now(UTC),
        },
        correlation_id=f"test-{uuid.uuid4().hex}",
    )
    return json.dumps(to_wire(event)).encode()


def test_relay_killed_between_commit_and_publish_loses_nothing_and_applies_once(
    cluster, admin, location
):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    wait_until(lambda: _outbox_backlog(cluster, "administration") == 0, what="an idle outbox")
    duplicates_before = _consumed(cluster, "duplicate")

    cluster.stop("administration-relay")
    try:
        assert admin.administer(location, lot["id"], recipient["id"]).status_code == 201
        # Committed, not yet published: the event waits in the outbox, stock is untouched.
        assert _outbox_backlog(cluster, "administration") == 1
        assert admin.doses_on_hand(location, lot["id"]) == 10

        # This relay dies right after the broker confirms, before it can mark the row sent.
        crashing = cluster.start("administration-relay", CVMS_RELAY_FAULT="exit-after-publish")
        assert wait_until(lambda: crashing.poll() is not None, what="the relay to crash") is True
        assert crashing.returncode == 17
        cluster.processes.pop("administration-relay")
        wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 9, what="the dose taken")
        assert _outbox_backlog(cluster, "administration") == 1
    finally:
        if "administration-relay" not in cluster.processes:
            cluster.start("administration-relay")

    # The restarted relay publishes the row again; inventory's inbox recognises it.
    wait_until(lambda: _outbox_backlog(cluster, "administration") == 0, what="the outbox drained")
    wait_until(
        lambda: _consumed(cluster, "duplicate") == duplicates_before + 1, what="the duplicate"
    )
    assert admin.doses_on_hand(location, lot["id"]) == 9


def test_the_same_event_delivered_twice_takes_one_dose(cluster, admin, location, broker):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    duplicates_before = _consumed(cluster, "duplicate")
    body = _dose_event(location, lot, recipient)
    _publish(broker, body)
    _publish(broker, body)
    wait_until(
        lambda: _consumed(cluster, "duplicate") == duplicates_before + 1, what="the duplicate"
    )
    assert admin.doses_on_hand(location, lot["id"]) == 9


def test_malformed_events_go_to_the_dead_letter_queue_and_good_ones_keep_flowing(
    cluster, admin, location, broker
):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    dlq = "inventory.dead-letter"
    depth_before = broker.queue_declare(dlq, passive=True).method.message_count

    breaks_contract = json.loads(_dose_event(location, lot, recipient))
    del breaks_contract["payload"]["lot_id"]
    _publish(broker, json.dumps(breaks_contract).encode())
    _publish(broker, b"{this is not json")
    _publish(broker, _dose_event(location, lot, recipient))

    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 9, what="the good event applied")
    wait_until(
        lambda: (
            broker.queue_declare(dlq, durable=True, passive=True).method.message_count
            == depth_before + 2
        ),
        what="two dead letters",
    )
    samples = cluster.metrics("inventory")
    assert metric(samples, "cvms_events_dead_lettered_total", reason="contract", **DOSE_EVENTS) >= 1
    assert (
        metric(samples, "cvms_events_dead_lettered_total", reason="undecodable", **DOSE_EVENTS) >= 1
    )
    assert metric(samples, "cvms_dead_letter_queue_depth", queue=dlq) == depth_before + 2

    method, properties, body = broker.basic_get(dlq, auto_ack=False)
    reasons = set()
    while method is not None:
        reasons.add(properties.headers["x-cvms-dead-letter-reason"])
        method, properties, body = broker.basic_get(dlq, auto_ack=False)
    assert {"contract", "undecodable"} <= reasons


@pytest.mark.parametrize("doses_in_lot, concurrent_doses", [(1, 2), (5, 20)])
def test_concurrent_doses_never_take_stock_below_zero_and_keep_the_extra_as_discrepancies(
    cluster, admin, location, inventory_db, doses_in_lot, concurrent_doses
):
    lot = admin.receive_lot(location, doses=doses_in_lot)
    recipients = [admin.register_recipient() for _ in range(concurrent_doses)]
    with ThreadPoolExecutor(max_workers=concurrent_doses) as pool:
        responses = list(
            pool.map(lambda r: admin.administer(location, lot["id"], r["id"]), recipients)
        )
    # Every dose given is recorded: a vaccinated person is never turned into a lost record.
    assert [r.status_code for r in responses] == [201] * concurrent_doses

    extra = concurrent_doses - doses_in_lot

    def discrepancies():
        return admin.get(f"/locations/{location}/discrepancies").json()

    wait_until(lambda: len(discrepancies()) == extra, what="the discrepancies recorded")
    assert admin.doses_on_hand(location, lot["id"]) == 0
    with inventory_db.connect() as db:
        administered = db.execute(
            text(
                "SELECT count(*) FROM ledger_entries "
                "WHERE lot_id = :lot AND reason = 'administered'"
            ),
            {"lot": lot["id"]},
        ).scalar_one()
    assert administered == doses_in_lot
    found = discrepancies()
    assert {d["reason"] for d in found} == {"no_stock"}
    assert {d["administration_id"] for d in found} <= {r.json()["id"] for r in responses}

    resolved = admin.post(
        f"/locations/{location}/discrepancies/{found[0]['id']}/resolve",
        json={"resolution": "Dose drawn from a vial counted in the wrong lot; lot recounted."},
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_at"]
    assert len(discrepancies()) == extra - 1
