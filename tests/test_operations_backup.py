"""The restore drill: back up, record more doses, restore inventory's database from the backup
(losing what it learnt since), replay administration's outbox, and stock reconciles exactly:
every dose in inventory's ledger once, on hand = received - doses recorded."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.harness import BIN, SERVICES, wait_until

DOSES_BEFORE, DOSES_AFTER, RECEIVED = 15, 15, 500


def _cvms(cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "cvms"), *args],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _db(cluster, service: str) -> str:
    return cluster.run.database_url(service).replace("postgresql+psycopg", "postgresql")


def _ledger(cluster, lot_id: str) -> list[str]:
    with psycopg.connect(_db(cluster, "inventory")) as db:
        rows = db.execute(
            "SELECT reference_id FROM ledger_entries WHERE lot_id = %s AND reason = 'administered'",
            (lot_id,),
        ).fetchall()
    return [reference for (reference,) in rows]


def _record(admin, location: str, lot: dict, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        recipient = admin.register_recipient()
        record_id = str(uuid.uuid4())
        response = admin.administer(
            location, lot["id"], recipient["id"], id=record_id, dose_number=1
        )
        assert response.status_code == 201, response.text
        ids.append(record_id)
    return ids


def _dead_letters(cluster) -> dict[str, float]:
    return {
        name: cluster.metrics(name).get(
            f'cvms_dead_letter_queue_depth{{queue="{name}.dead-letter"}}', 0.0
        )
        for name in ("inventory", "scheduling")
    }


@pytest.fixture
def backups(tmp_path) -> Path:
    return tmp_path / "backups"


def test_restore_drill_backup_more_doses_restore_replay_reconciles(
    cluster, admin, location, backups
):
    dead_letters_before = _dead_letters(cluster)
    lot = admin.receive_lot(location, doses=RECEIVED)
    before = _record(admin, location, lot, DOSES_BEFORE)
    wait_until(lambda: len(_ledger(cluster, lot["id"])) == DOSES_BEFORE, what="doses in stock")

    # Every service's database, each with its manifest.
    made = _cvms(
        cluster,
        "backup",
        "inventory",
        "administration",
        "scheduling",
        "identity",
        "--to",
        str(backups),
    )
    files = {path.name.split("-")[0]: path for path in backups.glob("*.dump")}
    assert set(files) == {"inventory", "administration", "scheduling", "identity"}, made.stdout
    for path in files.values():
        listing = subprocess.run(
            ["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True
        )
        assert "TABLE DATA public outbox" in listing.stdout
    manifest = json.loads(Path(f"{files['inventory']}.json").read_text())
    taken_at = datetime.fromisoformat(manifest["taken_at"])

    after = _record(admin, location, lot, DOSES_AFTER)
    wait_until(
        lambda: len(_ledger(cluster, lot["id"])) == DOSES_BEFORE + DOSES_AFTER,
        what="the later doses in stock",
    )

    # Restoring under a running service is refused, and changes nothing.
    refused = _cvms(cluster, "restore", "inventory", str(files["inventory"]), check=False)
    assert refused.returncode != 0 and "stop inventory" in refused.stderr, refused.stderr
    assert len(_ledger(cluster, lot["id"])) == DOSES_BEFORE + DOSES_AFTER

    cluster.stop("inventory")
    cluster.stop("inventory-relay")
    try:
        restored = _cvms(
            cluster, "restore", "inventory", str(files["inventory"]), "--drop-previous"
        )
        assert "replay-outbox" in restored.stdout
        # Inventory is back where it was: the later doses are forgotten.
        assert sorted(_ledger(cluster, lot["id"])) == sorted(before)
    finally:
        cluster.start("inventory")
        cluster.start("inventory-relay")
        cluster.wait_http(f"http://127.0.0.1:{cluster.ports['inventory']}/ready", "inventory")

    since = (taken_at - timedelta(minutes=5)).isoformat()
    replayed = _cvms(cluster, "replay-outbox", "administration", "--since", since)
    count = int(replayed.stdout.split(":")[1].split()[0])
    assert count >= DOSES_AFTER, replayed.stdout

    def reconciled():
        return sorted(_ledger(cluster, lot["id"])) == sorted(before + after)

    wait_until(reconciled, timeout=60, interval=0.5, what="the replayed doses in stock")
    # Exactly once each, and stock reconciled: received - recorded.
    ledger = _ledger(cluster, lot["id"])
    assert len(ledger) == len(set(ledger)) == DOSES_BEFORE + DOSES_AFTER
    assert admin.doses_on_hand(location, lot["id"]) == RECEIVED - DOSES_BEFORE - DOSES_AFTER
    with psycopg.connect(_db(cluster, "administration")) as db:
        recorded = db.execute(
            "SELECT count(*) FROM administrations WHERE lot_id = %s", (lot["id"],)
        ).fetchone()[0]
    assert recorded == DOSES_BEFORE + DOSES_AFTER
    with psycopg.connect(cluster.run.infra.postgres_url) as db:
        left = db.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (f"cvms_{cluster.run.run_id}_%",),
        ).fetchall()
    assert len(left) == len(SERVICES), left  # nothing left behind by the restore
    # The replay (other tests' events among it) dead-letters nothing: earlier tests in this
    # session may have left their own dead letters, so the drill compares with its start.
    wait_until(lambda: _dead_letters(cluster) == dead_letters_before, what="no new dead letters")
