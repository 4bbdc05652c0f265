"""Every event queue and dead-letter queue is a quorum queue (replicated when RabbitMQ is
clustered); RPC queues stay classic."""

from __future__ import annotations

import subprocess


def _queues(vhost: str) -> dict[str, str]:
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "--no-table-headers", "list_queues", "-p", vhost, "name", "type"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return dict(line.split("\t")[:2] for line in listing.splitlines() if "\t" in line)


def test_event_and_dead_letter_queues_are_quorum_queues(cluster):
    queues = _queues(cluster.run.vhost)
    events = {name: kind for name, kind in queues.items() if name.startswith("evt-")}
    dead_letters = {name: kind for name, kind in queues.items() if name.endswith(".dead-letter")}
    # Every consumer of every service declared its queue; every service its dead-letter queue.
    assert len(events) >= 17, sorted(queues)
    assert set(dead_letters) == {
        f"{s}.dead-letter"
        for s in ("inventory", "administration", "scheduling", "notifications", "marketplace")
    }
    assert set(events.values()) == {"quorum"}, events
    assert set(dead_letters.values()) == {"quorum"}, dead_letters
    assert queues["rpc-inventory"] == "classic"
