"""The system's own figures, measured on a running CVMS (real processes, PostgreSQL, RabbitMQ):

- authenticated `GET /api/v1/locations/{id}/inventory` through the gateway, with the gateway's
  short inventory cache on (as deployed) and off (every read an RPC to inventory);
- the dose pipeline: `POST /api/v1/administrations` at a fixed rate, and the lag from each
  request being sent to inventory's ledger entry for that dose.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import requests

from bench import loadgen
from gateway.settings import LIMIT_VARIABLES
from tests.harness import Api, Cluster, Infrastructure, TestRun, wait_until

LOCATION = "demo-clinic"
MANAGER = ("clinic.manager", "demo-clinic-manager")


class RunningSystem:
    """CVMS started for a benchmark, on databases and a vhost of its own."""

    def __init__(
        self,
        gateway_workers: int,
        replicas: dict[str, int] | None = None,
        *,
        production_limits: bool = False,
    ):
        self.infra = Infrastructure.find()
        self.run = TestRun(self.infra)
        self.cluster: Cluster | None = None
        self.gateway_workers = gateway_workers
        # Instances per service beyond the first one (deploy/k8s runs 2 of each service).
        self.replicas = replicas or {}
        # The gateway's limits at their production defaults, not the test harness's (set too
        # high to meet): for a benchmark of what the public meets.
        self.production_limits = production_limits

    def __enter__(self) -> RunningSystem:
        self.run.create()
        self.cluster = Cluster(self.run)
        self.cluster.env["GATEWAY_WORKERS"] = str(self.gateway_workers)
        # Pools as deployed (one kept connection per worker), not the test stack's 2: with 2,
        # every request of a burst beyond the second opened and closed a PostgreSQL connection,
        # which halved the uncached read and slowed the dose pipeline.
        self.cluster.env.pop("CVMS_DB_POOL_KEEP", None)
        if self.production_limits:
            for name in LIMIT_VARIABLES:
                self.cluster.env.pop(name, None)
        self.cluster.migrate()
        self.cluster.start_all()
        for service, count in self.replicas.items():
            for _ in range(count - 1):
                self.cluster.start_replica(service)
        self.api = Api(self.cluster.gateway_url)
        self.manager = self.api.as_user(*MANAGER)
        return self

    def __exit__(self, *exc) -> None:
        if self.cluster is not None:
            self.cluster.stop_all()
            self.cluster.cleanup()
        self.run.remove()
        self.infra.stop()

    def restart_gateway(self, **env: str) -> None:
        self.cluster.stop("gateway")
        self.cluster.start("gateway", **env)
        self.cluster.wait_http(f"{self.cluster.gateway_url}/ready", "gateway")
        self.manager = self.api.as_user(*MANAGER)


def inventory_reads(system: RunningSystem, *, duration_s: float, connections: int = 32) -> dict:
    system.manager.receive_lot(LOCATION, doses=1000)
    url = f"{system.api.base}/locations/{LOCATION}/inventory"
    check = requests.get(url, headers=system.manager.headers, timeout=10)
    assert check.status_code == 200, check.text
    return loadgen.http_load(
        url, duration_s=duration_s, connections=connections, headers=system.manager.headers
    )


def register_recipients(system, count: int, *, given_name: str = "Bench") -> list[str]:
    """`count` new recipients, registered through the API by a few concurrent clients, as the
    manager of `system` (a RunningSystem, or anything with its `api` and `manager`)."""
    url = f"{system.api.base}/recipients"
    local = threading.local()

    def register(_: int) -> str:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.post(
            url,
            headers=system.manager.headers,
            json={
                "given_name": given_name,
                "family_name": f"Recipient-{uuid.uuid4().hex}",
                "birth_date": "1970-05-17",
            },
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(register, range(count)))


def dose_pipeline(
    system: RunningSystem, *, rate_per_s: float, duration_s: float, concurrency: int = 32
) -> dict:
    """Record doses at a fixed rate; measure how fast and how soon inventory takes them."""
    manager = system.manager
    lot = manager.receive_lot(LOCATION, doses=1_000_000)
    # A first dose for a new recipient each time: a second "dose 1" for the same person breaks
    # the series rules (422), so the pool holds one recipient per dose the rate can ask for.
    recipients = register_recipients(system, int(rate_per_s * duration_s * 1.1) + 10)
    sent_at: dict[str, float] = {}
    local = threading.local()
    lock = threading.Lock()
    counter = iter(range(10**9))

    def record_dose() -> bool:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        with lock:
            n = next(counter)
        record_id = str(uuid.uuid4())
        started = time.time()
        response = session.post(
            f"{system.api.base}/administrations",
            headers=manager.headers,
            json={
                "id": record_id,
                "recipient_id": recipients[n % len(recipients)],
                "location_id": LOCATION,
                "lot_id": lot["id"],
                "dose_number": 1,
                "administered_at": datetime.now(UTC).isoformat(),
            },
            timeout=30,
        )
        if response.status_code != 201:
            return False
        with lock:
            sent_at[record_id] = started
        return True

    load = loadgen.paced(
        record_dose, rate_per_s=rate_per_s, duration_s=duration_s, concurrency=concurrency
    )
    inventory_url = system.run.database_url("inventory").replace("postgresql+psycopg", "postgresql")

    def taken() -> dict[str, float]:
        with psycopg.connect(inventory_url) as db:
            rows = db.execute(
                "SELECT reference_id, recorded_at FROM ledger_entries "
                "WHERE lot_id = %s AND reason = 'administered'",
                (lot["id"],),
            ).fetchall()
        return {reference: recorded.timestamp() for reference, recorded in rows}

    def all_taken() -> dict[str, float] | None:
        found = taken()
        return found if len(found) >= len(sent_at) else None

    applied = wait_until(
        all_taken,
        timeout=120,
        interval=0.5,
        what="inventory to take every dose",
    )
    lags = sorted(applied[record] - sent for record, sent in sent_at.items())
    first_sent = min(sent_at.values())
    last_taken = max(applied.values())
    on_hand = manager.doses_on_hand(LOCATION, lot["id"])
    return {
        "requested_per_s": rate_per_s,
        "posted_per_s": load["achieved_per_s"],
        "post_p50_ms": load["p50_ms"],
        "post_p99_ms": load["p99_ms"],
        "post_errors": load["errors"] + load["dropped"],
        "doses": len(sent_at),
        "doses_per_s": len(sent_at) / (last_taken - first_sent),
        "lag_p50_ms": statistics.median(lags) * 1e3,
        "lag_p99_ms": loadgen.percentile(lags, 99) * 1e3,
        "lag_max_ms": lags[-1] * 1e3,
        "reconciles": on_hand == 1_000_000 - len(sent_at),
    }
