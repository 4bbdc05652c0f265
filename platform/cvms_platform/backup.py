"""Backups of a service's database, restoring one, and replaying an outbox after a restore.

    cvms backup inventory administration --to /backups      # pg_dump, custom format, + manifest
    cvms restore inventory /backups/inventory-20261125T034400Z.dump
    cvms replay-outbox administration --since 2026-11-25T03:39:00Z

A backup is `pg_dump --format=custom` of the service's database (a copy made with SQLite's
backup API for a development database), next to a manifest (`.json`) that records when the dump
began: everything committed before that moment is in it.

Restoring loads the dump into a new database and swaps it in by renaming, so a failed restore
leaves the current database as it was; the replaced one is kept as `<name>_pre_<time>` until
you drop it (`--drop-previous` drops it at once). The service must be stopped: restore refuses
while anything else is connected (`--force` disconnects them).

A restored service has forgotten what it did after the backup. What it learnt from events since
then comes back by replaying, from the other services' outboxes, the events sent since shortly
before the backup (`replay-outbox … --since`): its inbox, restored too, skips the ones it had
applied before the backup, and every other consumer's inbox skips them all. What it had been
told directly (API calls: lots received, doses recorded) after the backup is lost: take backups
more often than you can afford to lose, and keep the outbox's retention (7 days) longer than the
interval. See docs/operations.md.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text, update
from sqlalchemy.engine import URL, make_url

from cvms_platform import config
from cvms_platform.db import make_engine
from cvms_platform.outbox_wakeup import OUTBOX_CHANNEL
from cvms_platform.tables import outbox
from cvms_platform.timeutil import utcnow

# How long before a backup's start replaying begins by default: an event sent just before the
# dump began may have been applied just after it.
REPLAY_MARGIN = timedelta(minutes=5)
OUTBOX_RETENTION = timedelta(days=7)  # the relay's default `retention`


class BackupError(Exception):
    pass


@dataclass
class Backup:
    service: str
    path: Path
    taken_at: datetime
    database: str
    format: str

    @property
    def manifest(self) -> Path:
        return manifest_of(self.path)

    @classmethod
    def read(cls, path: Path) -> Backup:
        manifest = manifest_of(path)
        if not manifest.exists():
            raise BackupError(
                f"{path} has no manifest ({manifest.name}); was it made by cvms backup?"
            )
        data = json.loads(manifest.read_text())
        return cls(
            service=data["service"],
            path=path,
            taken_at=datetime.fromisoformat(data["taken_at"]),
            database=data["database"],
            format=data["format"],
        )


def manifest_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def _libpq_env(url: URL, database: str | None = None) -> dict[str, str]:
    """The connection for pg_dump / pg_restore / psql, in the environment (never in argv, where
    `ps` would show the password)."""
    env = {**os.environ, "PGDATABASE": database or url.database or ""}
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
    ):
        if value is not None:
            env[key] = str(value)
    sslmode = url.query.get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def backup(service: str, directory: Path, *, url: str | None = None) -> Backup:
    """Dump `service`'s database into `directory`; returns the backup with its manifest."""
    database_url = make_url(url or config.database_url(service))
    directory.mkdir(parents=True, exist_ok=True)
    taken_at = utcnow()
    stamp = taken_at.strftime("%Y%m%dT%H%M%S%fZ")
    if _postgres(database_url):
        path = directory / f"{service}-{stamp}.dump"
        _run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={path}",
            ],
            _libpq_env(database_url),
        )
        kind = "pg_dump-custom"
    else:
        path = directory / f"{service}-{stamp}.sqlite"
        with sqlite3.connect(database_url.database) as source, sqlite3.connect(path) as target:
            source.backup(target)
        kind = "sqlite"
    made = Backup(service, path, taken_at, database_url.database or "", kind)
    made.manifest.write_text(
        json.dumps(
            {
                "service": service,
                "taken_at": taken_at.isoformat(),
                "database": made.database,
                "format": kind,
                "bytes": path.stat().st_size,
            },
            indent=2,
        )
        + "\n"
    )
    return made


def _others_connected(admin, database: str) -> list[tuple[int, str]]:
    return admin.execute(
        text(
            "SELECT pid, coalesce(application_name, '') FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"
        ),
        {"db": database},
    ).all()


def restore(
    service: str,
    path: Path,
    *,
    url: str | None = None,
    force: bool = False,
    drop_previous: bool = False,
) -> str | None:
    """Replace `service`'s database with the backup at `path`. Returns the name the replaced
    database is kept under (None when dropped, or for SQLite where it is a file beside)."""
    made = Backup.read(path)
    if made.service != service:
        raise BackupError(f"{path} is a backup of {made.service}, not {service}")
    database_url = make_url(url or config.database_url(service))
    if not _postgres(database_url):
        if made.format != "sqlite":
            raise BackupError("a PostgreSQL dump restores only into PostgreSQL")
        target = Path(database_url.database)
        previous = None
        if target.exists():
            previous = target.with_name(f"{target.name}.pre-{utcnow():%Y%m%dT%H%M%SZ}")
            target.rename(previous)
        # The write-ahead log goes with the file it belongs to: left beside the restored copy,
        # SQLite would replay the replaced database's last writes into it.
        for suffix in ("-wal", "-shm"):
            side = target.with_name(target.name + suffix)
            if side.exists():
                if previous is not None:
                    side.rename(previous.with_name(previous.name + suffix))
                else:
                    side.unlink()
        shutil.copyfile(path, target)
        if previous is not None and drop_previous:
            previous.unlink()
        return str(previous) if previous and not drop_previous else None
    if made.format != "pg_dump-custom":
        raise BackupError("an SQLite copy restores only into SQLite")

    database = database_url.database
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    restoring = f"{database[:40]}_restoring_{stamp}"
    previous = f"{database[:45]}_pre_{stamp}"
    admin_engine = make_engine(
        database_url.set(database="postgres").render_as_string(hide_password=False),
        pool_size=1,
    )
    try:
        with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            admin.execute(text(f'CREATE DATABASE "{restoring}"'))
            try:
                _run(
                    [
                        _tool("pg_restore"),
                        "--no-owner",
                        "--no-privileges",
                        "--single-transaction",
                        "--exit-on-error",
                        f"--dbname={restoring}",
                        str(path),
                    ],
                    _libpq_env(database_url, restoring),
                )
            except BackupError:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{restoring}"'))
                raise
            connected = _others_connected(admin, database)
            if connected and not force:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{restoring}"'))
                names = ", ".join(sorted({name or "?" for _, name in connected}))
                raise BackupError(
                    f"{len(connected)} connections to {database} ({names}): stop {service} and "
                    "its relay first, or pass --force to disconnect them"
                )
            # Disconnect whoever is there (with --force) and swap in one short window; a
            # process reconnecting in between finds no database and retries.
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
            admin.execute(text(f'ALTER DATABASE "{database}" RENAME TO "{previous}"'))
            admin.execute(text(f'ALTER DATABASE "{restoring}" RENAME TO "{database}"'))
            if drop_previous:
                admin.execute(text(f'DROP DATABASE "{previous}" WITH (FORCE)'))
                return None
            return previous
    finally:
        admin_engine.dispose()


def replay_outbox(service: str, since: datetime, *, url: str | None = None) -> int:
    """Mark every event `service` published since `since` as unsent, so its relay publishes it
    again (the consumers' inboxes skip what they applied). Returns how many."""
    engine = make_engine(url or config.database_url(service), pool_size=1)
    try:
        with engine.begin() as db:
            result = db.execute(
                update(outbox)
                .where(
                    outbox.c.sent_at.is_not(None),
                    outbox.c.sent_at >= since,
                    outbox.c.unroutable.is_(False),
                )
                .values(sent_at=None, next_attempt_at=utcnow(), last_error="replayed")
            )
            if db.dialect.name == "postgresql":
                db.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
        return result.rowcount
    finally:
        engine.dispose()


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the `cvms` subcommands ----------------------------------------------------------------------
def add_commands(commands) -> None:
    """Add `backup`, `restore` and `replay-outbox` to the `cvms` command's subparsers."""
    made = commands.add_parser("backup", help="pg_dump services' databases, with a manifest")
    made.add_argument("services", nargs="+", metavar="SERVICE")
    made.add_argument("--to", default="backups", help="directory (default: ./backups)")
    back = commands.add_parser(
        "restore", help="replace a service's database with a backup (stop the service first)"
    )
    back.add_argument("service")
    back.add_argument("file")
    back.add_argument("--force", action="store_true", help="disconnect whoever is connected")
    back.add_argument(
        "--drop-previous", action="store_true", help="drop the replaced database at once"
    )
    replay = commands.add_parser(
        "replay-outbox", help="publish again the events a service sent since a moment"
    )
    replay.add_argument("service")
    replay.add_argument(
        "--since", required=True, help="ISO time, e.g. a backup's taken_at minus 5 minutes"
    )


def run(args) -> bool:
    """Run the subcommand if it is one of these; False otherwise."""
    try:
        if args.command == "backup":
            for service in args.services:
                made = backup(service, Path(args.to))
                print(f"{service}: {made.path} (taken at {made.taken_at.isoformat()})")
            return True
        if args.command == "restore":
            path = Path(args.file)
            made = Backup.read(path)
            previous = restore(
                args.service, path, force=args.force, drop_previous=args.drop_previous
            )
            print(f"restored {args.service} from {path} (taken at {made.taken_at.isoformat()})")
            if previous:
                print(f"the replaced database is kept as {previous}; drop it once all is well")
            since = (made.taken_at - REPLAY_MARGIN).isoformat()
            print(
                "now start the service and its relay, then replay what the others sent since:\n"
                f"  cvms replay-outbox SERVICE --since {since}   "
                "(for each other service whose events it consumes)"
            )
            return True
        if args.command == "replay-outbox":
            since = _when(args.since)
            count = replay_outbox(args.service, since)
            print(f"{args.service}: {count} events will be published again")
            if since < utcnow() - OUTBOX_RETENTION:
                print(
                    f"warning: sent events are purged after {OUTBOX_RETENTION.days} days; "
                    "those older could not be replayed"
                )
            return True
    except BackupError as exc:
        raise SystemExit(f"error: {exc}") from exc
    return False
