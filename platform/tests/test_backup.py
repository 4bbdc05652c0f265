"""`cvms backup` / `cvms restore` / `cvms replay-outbox` on a development (SQLite) database; the
PostgreSQL path is drilled end to end in tests/test_operations_backup.py."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from cvms_platform import backup
from cvms_platform.db import make_engine
from cvms_platform.migrate import upgrade
from cvms_platform.tables import outbox


def _event(sent_at: datetime | None) -> dict:
    now = datetime.now(UTC)
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "lot_received",
        "body": {"id": "x"},
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 1,
        "sent_at": sent_at,
        "unroutable": False,
    }


def _count(url: str, *where) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            return db.scalar(select(func.count()).select_from(outbox).where(*where))
    finally:
        engine.dispose()


def _add(url: str, *rows: dict) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as db:
            db.execute(insert(outbox), list(rows))
    finally:
        engine.dispose()


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    upgrade("inventory", url=url)
    return url


def test_backup_then_restore_brings_the_database_back(database, tmp_path):
    _add(database, _event(datetime.now(UTC)))
    made = backup.backup("inventory", tmp_path / "backups", url=database)
    manifest = json.loads(made.manifest.read_text())
    assert manifest["service"] == "inventory" and manifest["format"] == "sqlite"

    _add(database, _event(None), _event(None))
    assert _count(database) == 3
    previous = backup.restore("inventory", made.path, url=database)
    assert _count(database) == 1
    assert previous is not None and _count(f"sqlite:///{previous}") == 3  # kept beside


def test_a_backup_restores_only_into_its_own_service(database, tmp_path):
    made = backup.backup("inventory", tmp_path / "backups", url=database)
    with pytest.raises(backup.BackupError, match="backup of inventory"):
        backup.restore("administration", made.path, url=database)


def test_replay_marks_what_was_sent_since_then_as_unsent(database):
    now = datetime.now(UTC)
    old, recent = _event(now - timedelta(hours=2)), _event(now - timedelta(minutes=1))
    _add(database, old, recent, _event(None))
    assert backup.replay_outbox("inventory", now - timedelta(minutes=10), url=database) == 1
    assert _count(database, outbox.c.sent_at.is_(None)) == 2
    assert _count(database, outbox.c.event_id == old["event_id"], outbox.c.sent_at.is_not(None))


def test_a_restore_leaves_no_write_ahead_log_of_the_replaced_database(database, tmp_path):
    """Rows written after the backup and still only in the WAL (a connection held open, so no
    checkpoint) must not reappear in the restored copy."""
    made = backup.backup("inventory", tmp_path / "backups", url=database)
    holder, writer = make_engine(database), make_engine(database)
    held = holder.connect()  # keeps the WAL from being checkpointed and removed
    try:
        with writer.begin() as db:
            db.execute(insert(outbox), [_event(None), _event(None)])
        writer.dispose()
        assert Path(f"{database.removeprefix('sqlite:///')}-wal").exists()
        previous = backup.restore("inventory", made.path, url=database)
    finally:
        held.close()
        holder.dispose()
    assert _count(database) == 0
    assert _count(f"sqlite:///{previous}") == 2  # the replaced database, with its log
