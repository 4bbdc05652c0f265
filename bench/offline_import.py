"""Offline import at scale: a filled administration CSV of `--rows` rows (100,000 by default),
each a new recipient given one dose, imported through the real path: `cvms import` (parts of
`--part-rows` rows, `--concurrency` in flight) → gateway → administration (one transaction per
chunk, bulk statements) → outbox → relay → RabbitMQ → inventory.

    python -m bench.offline_import [--rows 100000] [--part-rows 1000] [--concurrency 2]

Prints rows/s of the import itself (every row recorded by administration, report written) and
end to end (until inventory has taken every dose), and checks that inventory reconciles
exactly: doses on hand = received - rows, and one `administered` ledger entry per row.
Target: >= 2,000 rows/s. Runs on databases and a RabbitMQ vhost of its own (bench.system)."""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from bench.system import RunningSystem
from cvms_cli import importer

TARGET_ROWS_PER_S = 2000
LOCATION = "demo-clinic"
ADMIN = ("state.admin", "demo-state-admin")
LOTS = 10
EXTRA_DOSES = 100  # per lot, so stock never runs out and the balance is checked exactly


def write_csv(path: Path, rows: int, lot_numbers: list[str]) -> None:
    first_day = date(2026, 1, 5)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["record_id", "given_name", "family_name", "birth_date", "phone",
             "administered_at", "lot_number", "site", "route", "dose_volume_ml"]
        )  # fmt: skip
        for n in range(rows):
            writer.writerow(
                [
                    f"BENCH-{n:07d}",
                    f"Given{n}",
                    f"Bench{n % 997}",
                    (date(1950, 1, 1) + timedelta(days=n % 20000)).isoformat(),
                    f"217{n:07d}",
                    (first_day + timedelta(days=n % 60)).isoformat(),
                    lot_numbers[n % len(lot_numbers)],
                    "LD" if n % 2 else "RD",
                    "IM",
                    "0.3",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--part-rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument("--reconcile-timeout", type=float, default=3600.0)
    args = parser.parse_args()

    # The filled CSV and its report (tens of MB at full size) go when the run ends.
    with (
        tempfile.TemporaryDirectory(prefix="cvms-bench-import-") as scratch,
        RunningSystem(gateway_workers=args.gateway_workers) as cvms,
    ):
        admin = cvms.api.as_user(*ADMIN)
        per_lot = args.rows // LOTS + EXTRA_DOSES
        lots = [admin.receive_lot(LOCATION, doses=per_lot) for _ in range(LOTS)]
        received = per_lot * LOTS
        workdir = Path(scratch)
        path = workdir / "filled.csv"
        write_csv(path, args.rows, [lot["lot_number"] for lot in lots])
        print(f"{args.rows:,} rows in {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)

        started = time.perf_counter()
        totals = importer.run(
            path,
            LOCATION,
            url=cvms.cluster.gateway_url,
            username=ADMIN[0],
            password=ADMIN[1],
            report=workdir / "report.csv",
            part_rows=args.part_rows,
            concurrency=args.concurrency,
        )
        imported = time.perf_counter() - started
        print(f"import: {totals}", flush=True)

        lot_ids = [lot["id"] for lot in lots]
        inventory = cvms.run.database_url("inventory").replace("postgresql+psycopg", "postgresql")

        # One connection for the whole wait: the machine's PostgreSQL is shared.
        with psycopg.connect(inventory, autocommit=True) as db:

            def balance() -> tuple[int, int]:
                on_hand = db.execute(
                    "SELECT coalesce(sum(doses_on_hand), 0) FROM lots WHERE id = ANY(%s)",
                    (lot_ids,),
                ).fetchone()[0]
                taken = db.execute(
                    "SELECT count(*) FROM ledger_entries "
                    "WHERE lot_id = ANY(%s) AND reason = 'administered'",
                    (lot_ids,),
                ).fetchone()[0]
                return int(on_hand), int(taken)

            deadline = time.monotonic() + args.reconcile_timeout
            while balance()[1] < totals["accepted"] and time.monotonic() < deadline:
                time.sleep(1.0)
            end_to_end = time.perf_counter() - started
            on_hand, taken = balance()

    exact = (
        totals["accepted"] == args.rows and on_hand == received - args.rows and taken == args.rows
    )
    import_rate = args.rows / imported
    print()
    print("| figure | measured | target |")
    print("| --- | --- | --- |")
    print(f"| rows | {args.rows:,} (parts of {args.part_rows}, {args.concurrency} in flight) | |")
    print(
        f"| import (gateway → administration, report written) | {imported:.1f} s, "
        f"**{import_rate:,.0f} rows/s** | >= {TARGET_ROWS_PER_S:,} rows/s "
        f"{'✅' if import_rate >= TARGET_ROWS_PER_S else '❌'} |"
    )
    print(
        f"| end to end (until inventory took every dose) | {end_to_end:.1f} s, "
        f"{args.rows / end_to_end:,.0f} rows/s | |"
    )
    print(
        f"| inventory reconciles | received {received:,}, on hand {on_hand:,} "
        f"(= received − {received - on_hand:,}), {taken:,} `administered` entries | "
        f"exact {'✅' if exact else '❌'} |"
    )
    if not exact:
        raise SystemExit("inventory does not reconcile with the rows imported")


if __name__ == "__main__":
    main()
