"""The inventory levels report over a ledger of 1,000,000 entries.

    python -m bench.inventory_report [--entries 1000000] [--locations 200] [--requests 300]

Creates a scratch PostgreSQL database (dropped afterwards), migrates inventory into it, loads
the ledger in bulk with INSERT ... SELECT generate_series (lots × products × locations, entries
spread over the last 365 days), VACUUM ANALYZE, then:

- EXPLAINs (ANALYZE, BUFFERS) one location's 30-day report and fails if the ledger is read by
  a sequential scan;
- calls `inventory.levels.inventory_levels` directly, a fresh Session per call (as a service
  worker does), for one location over the last 30 days, `--requests` times, and prints p50/p99;
  the same with a product filter, and a few runs of the every-location report (with totals);
- unless `--no-rpc` (or without rabbitmqctl): starts `cvms-service inventory` on that database
  and a RabbitMQ vhost of its own (deleted afterwards) and calls the `inventory_levels` RPC the
  same way, as the gateway does (nameko's ClusterRpcProxy, JSON).

Target: p99 < 50 ms for one location's report. The server is CVMS_TEST_POSTGRES_URL (default:
the machine's PostgreSQL on loopback, as the cross-service tests use).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.loadgen import percentile
from cvms_platform import migrate
from cvms_platform.db import make_engine
from cvms_platform.testing import BROKER, rabbitmqctl
from cvms_platform.timeutil import utcnow
from inventory import levels

TARGET_P99_MS = 50.0
LOTS_PER_PRODUCT = 5

LOAD_LOTS = """
INSERT INTO lots (id, location_id, shipment_id, product_id, lot_number, expiration_date,
                  storage_unit, doses_received, doses_on_hand, received_at, updated_at, status)
SELECT md5(l || '-' || p || '-' || k)::uuid::text,
       'loc-' || lpad(l::text, 4, '0'),
       'SHP-' || l || '-' || p || '-' || k,
       products.ids[p],
       'LOT' || l || p || k,
       current_date + (k * 25 - 40 + p),
       'freezer-A', 100000, 0, now() - interval '366 days', now(), 'usable'
FROM generate_series(1, %(locations)s) l,
     generate_series(1, %(products)s) p,
     generate_series(1, %(lots)s) k,
     (SELECT array_agg(id ORDER BY id) AS ids FROM products) products
"""

# Entry n belongs to lot (n mod number-of-lots): the first entry of each lot receives it, the
# others are doses (most), wastage (1 in 20, by reason) and corrections (1 in 97), at random
# times over the last 365 days. They are written in time order, as a real ledger is, so one
# location's entries are spread all over the table; ids are sequential in that order.
LOAD_LEDGER = """
WITH numbered AS (
    SELECT id, location_id, product_id, (row_number() OVER (ORDER BY id)) - 1 AS i FROM lots
), reasons AS (
    SELECT ARRAY['broken_vial', 'drawn_not_administered', 'open_vial_time_limit',
                 'temperature_excursion', 'expired', 'other'] AS names
), generated AS (
    SELECT g.n, l.id AS lot_id, l.location_id, l.product_id,
           CASE WHEN g.n < %(lot_count)s THEN now() - interval '366 days'
                ELSE now() - random() * interval '365 days' END AS recorded_at
    FROM generate_series(0, %(entries)s - 1) g(n)
    JOIN numbered l ON l.i = g.n %% %(lot_count)s
)
INSERT INTO ledger_entries (id, lot_id, location_id, product_id, reason, delta, balance_after,
                            recorded_at, wastage_reason)
SELECT 'e' || lpad((row_number() OVER (ORDER BY recorded_at, n))::text, 35, '0'),
       lot_id, location_id, product_id,
       CASE WHEN n < %(lot_count)s THEN 'received'
            WHEN n %% 20 = 0 THEN 'wasted'
            WHEN n %% 97 = 0 THEN 'correction'
            ELSE 'administered' END,
       CASE WHEN n < %(lot_count)s THEN 100000
            WHEN n %% 20 = 0 THEN -1 - (n %% 3)
            WHEN n %% 97 = 0 THEN 1 - 2 * (n %% 2)
            ELSE -1 END,
       0,
       recorded_at,
       CASE WHEN n %% 20 = 0 AND n >= %(lot_count)s THEN reasons.names[1 + (n / 20) %% 6] END
FROM generated CROSS JOIN reasons
ORDER BY recorded_at, n
"""

SET_ON_HAND = """
UPDATE lots SET doses_on_hand = sums.total
FROM (SELECT lot_id, sum(delta) AS total FROM ledger_entries GROUP BY lot_id) sums
WHERE sums.lot_id = lots.id
"""


def _server_url() -> str:
    return os.environ.get("CVMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _timed(call, count: int) -> dict:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    ordered = sorted(times)
    return {
        "n": count,
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "mean_ms": statistics.fmean(ordered),
        "max_ms": ordered[-1],
    }


def _line(figures: dict) -> str:
    return (
        f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
        f"max {figures['max_ms']:.1f} ms ({figures['n']} calls)"
    )


def run(
    *, entries: int, locations: int, requests: int, report_index: bool = True, rpc: bool = True
) -> dict:
    server = _server_url()
    database = f"cvms_bench_report_{secrets.token_hex(4)}"
    url = urlsplit(server)._replace(scheme="postgresql+psycopg", path=f"/{database}").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    engine = None
    try:
        migrate.upgrade("inventory", url=url)
        engine = make_engine(url, pool_size=2)
        figures = _load(engine, entries=entries, locations=locations)
        if not report_index:  # for comparison: the ledger's indexes as before migration 0003
            with engine.begin() as db:
                db.exec_driver_sql("DROP INDEX ix_ledger_report")
            print("without ix_ledger_report (for comparison)")
        location = f"loc-{max(1, locations // 2):04d}"  # one in the middle
        figures.update(_measure(engine, location, requests=requests))
        if rpc and shutil.which("rabbitmqctl") is not None:
            figures["rpc_one_location"] = _measure_rpc(url, location, requests=requests)
        return figures
    finally:
        if engine is not None:
            engine.dispose()
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _load(engine, *, entries: int, locations: int) -> dict:
    began = time.perf_counter()
    with engine.begin() as db:
        products = db.execute(text("SELECT count(*) FROM products")).scalar()
        db.exec_driver_sql(
            LOAD_LOTS, {"locations": locations, "products": products, "lots": LOTS_PER_PRODUCT}
        )
        lot_count = db.execute(text("SELECT count(*) FROM lots")).scalar()
        db.exec_driver_sql(LOAD_LEDGER, {"entries": entries, "lot_count": lot_count})
        db.exec_driver_sql(SET_ON_HAND)
    loaded = time.perf_counter() - began
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.exec_driver_sql("VACUUM ANALYZE lots")
        db.exec_driver_sql("VACUUM ANALYZE ledger_entries")
        count = db.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
        size = db.execute(text("SELECT pg_size_pretty(pg_total_relation_size('ledger_entries'))"))
        size = size.scalar()
    total = time.perf_counter() - began
    print(
        f"loaded {count:,} ledger entries ({lot_count:,} lots, {locations} locations × "
        f"{products} products) in {loaded:.1f} s, vacuum analyze included {total:.1f} s; "
        f"ledger with indexes: {size}",
        flush=True,
    )
    return {"entries": count, "lots": lot_count, "load_s": loaded, "load_and_vacuum_s": total}


def _measure(engine, location: str, *, requests: int) -> dict:
    date_to = utcnow().date()
    date_from = date_to - timedelta(days=29)
    with engine.connect() as db:
        product = db.execute(
            text("SELECT product_id FROM lots WHERE location_id = :l ORDER BY product_id LIMIT 1"),
            {"l": location},
        ).scalar()
        statement = levels.page_query(location, date_from, date_to).compile(dialect=engine.dialect)
        plan = [
            row[0]
            for row in db.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement.string, statement.params
            )
        ]
    print(f"\nEXPLAIN ANALYZE, {location}, {date_from} .. {date_to}:")
    print("\n".join("  " + line for line in plan))
    ledger_lines = [line for line in plan if "ledger_entries" in line]
    seq_scan = any("Seq Scan on ledger_entries" in line for line in plan)
    if seq_scan:
        raise SystemExit("the report reads the ledger with a sequential scan")

    def one(**kwargs):
        def call():
            with Session(engine) as session:
                levels.inventory_levels(session, location, date_from, date_to, **kwargs)

        return call

    def everywhere():
        with Session(engine) as session:
            levels.inventory_levels(session, None, date_from, date_to, page_size=200)

    for _ in range(10):  # warm the pool and the caches
        one()()
    figures = {
        "ledger_access": [line.strip() for line in ledger_lines],
        "one_location": _timed(one(), requests),
        "one_location_one_product": _timed(one(product_id=product), requests),
        "every_location_page_of_200": _timed(everywhere, 5),
    }
    with Session(engine) as session:
        answer = levels.inventory_levels(session, location, date_from, date_to)
    print(f"\none location's report: {answer['total_rows']} rows")
    print(f"  one location, 30 days:           {_line(figures['one_location'])}")
    print(f"  one location and product:        {_line(figures['one_location_one_product'])}")
    print(f"  every location (+ totals), 200:  {_line(figures['every_location_page_of_200'])}")
    p99 = figures["one_location"]["p99_ms"]
    verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms for one location: {verdict}")
    return figures


def _measure_rpc(database_url: str, location: str, *, requests: int) -> dict:
    """One location's report through a running inventory service over nameko RPC."""
    from nameko.standalone.rpc import ClusterRpcProxy

    vhost = f"cvms-bench-report-{secrets.token_hex(4)}"
    amqp_uri = f"{BROKER}/{vhost}"
    rabbitmqctl("add_vhost", vhost)
    data_dir = tempfile.mkdtemp(prefix="cvms-bench-report-")
    process = None
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        with socket_port() as port:
            address = f"127.0.0.1:{port}"
        env = {
            **os.environ,
            "INVENTORY_DATABASE_URL": database_url,
            "AMQP_URI": amqp_uri,
            "INVENTORY_HTTP_ADDRESS": address,
            "CVMS_DATA_DIR": data_dir,
            "PYTHONWARNINGS": "ignore",
        }
        service = [str(os.path.join(os.path.dirname(sys.executable), "cvms-service")), "inventory"]
        log = open(os.path.join(data_dir, "inventory.log"), "ab")  # noqa: SIM115
        process = subprocess.Popen(
            service, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _wait_ready(f"http://{address}/ready", process)
        date_to = utcnow().date()
        date_from = (date_to - timedelta(days=29)).isoformat()
        config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        with ClusterRpcProxy(config, timeout=30) as cluster:

            def call():
                cluster.inventory.inventory_levels(location, date_from, date_to.isoformat())

            for _ in range(10):
                call()
            figures = _timed(call, requests)
        print(f"  one location, over RPC:          {_line(figures)}")
        return figures
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        rabbitmqctl("delete_vhost", vhost)
        shutil.rmtree(data_dir, ignore_errors=True)


class socket_port:
    """A free TCP port on loopback (closed again when the block ends)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the inventory service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the inventory service did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--without-report-index",
        action="store_true",
        help="drop migration 0003's index first, to see what it is worth",
    )
    parser.add_argument("--no-rpc", action="store_true", help="measure the direct call only")
    args = parser.parse_args()
    run(
        entries=args.entries,
        locations=args.locations,
        requests=args.requests,
        report_index=not args.without_report_index,
        rpc=not args.no_rpc,
    )


if __name__ == "__main__":
    main()
