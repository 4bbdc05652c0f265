"""Baseline figures for the bare infrastructure CVMS is built on.

Each benchmark creates its own scratch resources (process, database, vhost) and
removes them on the way out, so it can run against shared local servers.

    python -m bench.baselines --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from itertools import chain
from pathlib import Path
from typing import IO, Any

import pika
import psycopg
from psycopg import sql

from bench.loadgen import http_load, percentile

ROOT = Path(__file__).resolve().parent.parent

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
AMQP_HOST = os.environ.get("BENCH_AMQP_HOST", "127.0.0.1")
AMQP_PORT = int(os.environ.get("BENCH_AMQP_PORT", "5672"))
AMQP_USER = os.environ.get("BENCH_AMQP_USER", "guest")
AMQP_PASSWORD = os.environ.get("BENCH_AMQP_PASSWORD", "guest")

READY_TIMEOUT_S = 30.0
PUBLISH_BUDGET_S = 10.0


# --- helpers ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scratch_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _wait_until(
    ready: Callable[[], bool], *, what: str, proc: subprocess.Popen | None = None
) -> None:
    """Poll ``ready`` until it is true, failing fast if ``proc`` dies first."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    delay = 0.02
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before becoming ready")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise TimeoutError(f"{what} not ready after {READY_TIMEOUT_S:.0f}s")


@contextlib.contextmanager
def _process(cmd: list[str], *, what: str, **popen: Any) -> Iterator[subprocess.Popen]:
    """Run ``cmd``; on exit stop it by pid (TERM, then KILL). Output goes to a temp file
    so a chatty child can never block on a full pipe, and is shown if it fails."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **popen)
        try:
            yield proc
        except Exception as exc:
            exc.add_note(f"{what} output:\n{_tail(log)}")
            raise
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _child_env() -> dict[str, str]:
    """Environment in which ``bench.*`` imports no matter where we were started from."""
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _tail(log: IO[bytes], limit: int = 4000) -> str:
    log.flush()
    log.seek(0)
    return log.read()[-limit:].decode(errors="replace")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def _scratch_vhost() -> Iterator[str]:
    vhost = _scratch_name("bench")
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, AMQP_USER, ".*", ".*", ".*")
        yield vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _pika_params(vhost: str) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        host=AMQP_HOST,
        port=AMQP_PORT,
        virtual_host=vhost,
        credentials=pika.PlainCredentials(AMQP_USER, AMQP_PASSWORD),
    )


@contextlib.contextmanager
def _scratch_database() -> Iterator[str]:
    name = _scratch_name("bench")
    admin = {"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- benchmarks -------------------------------------------------------------


def flask_hello(
    workers: int,
    duration_s: float,
    *,
    connections: int = 32,
    worker_class: str = "sync",
    threads: int = 1,
) -> dict[str, float]:
    """Bare Flask under gunicorn: the ceiling for any Flask gateway. Sync workers by default;
    with `worker_class="gthread"` and many connections, what the gateway's own server setup
    answers at all under overload."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        "bench.hello_app:app",
    ]  # fmt: skip

    def answers() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/hello")
            return conn.getresponse().status == 200
        finally:
            conn.close()

    with _process(cmd, what="gunicorn", cwd=ROOT, env=_child_env()) as proc:
        _wait_until(answers, what="gunicorn", proc=proc)
        result = http_load(
            f"http://127.0.0.1:{port}/hello", duration_s=duration_s, connections=connections
        )
    return {"workers": workers, "worker_class": worker_class, "connections": connections, **result}


def postgres_tps(duration_s: float, clients: int = 8) -> dict[str, float]:
    """pgbench TPC-B-like transactions per second on a scale-4 scratch database."""
    conn_args = ["-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER]
    with _scratch_database() as db:
        subprocess.run(
            ["pgbench", *conn_args, "-i", "-s", "4", "-q", db],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        out = subprocess.run(
            [
                "pgbench", *conn_args,
                "-c", str(clients), "-j", "2",
                "-T", str(max(1, round(duration_s))),
                db,
            ],
            check=True, capture_output=True, text=True, timeout=duration_s + 120,
        ).stdout  # fmt: skip
    tps = re.search(r"^tps = ([\d.]+) \((?:without|excluding)", out, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE)
    if not tps:
        raise ValueError(f"unrecognised pgbench output:\n{out}")
    return {
        "clients": clients,
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else float("nan"),
    }


def pika_rates(messages: int = 20000) -> dict[str, float]:
    """Durable queue, persistent messages: confirmed publish rate and manual-ack consume rate.

    Confirmed publishing stops after PUBLISH_BUDGET_S; the queue is then topped up
    without confirms so the consume phase always drains ``messages`` messages.
    """
    body = b"x" * 256
    props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    queue = "bench.durable"

    with _scratch_vhost() as vhost:
        connection = pika.BlockingConnection(_pika_params(vhost))
        try:
            channel = connection.channel()
            channel.queue_declare(queue, durable=True)

            channel.confirm_delivery()
            published = 0
            started = time.perf_counter()
            budget_end = started + PUBLISH_BUDGET_S
            while published < messages and time.perf_counter() < budget_end:
                # With confirms on, basic_publish blocks until the broker acks.
                channel.basic_publish("", queue, body, props)
                published += 1
            publish_per_s = published / (time.perf_counter() - started)

            filler = connection.channel()
            for _ in range(messages - published):
                filler.basic_publish("", queue, body, props)
            _wait_until(
                lambda: channel.queue_declare(queue, passive=True).method.message_count >= messages,
                what="queue fill",
            )

            channel.basic_qos(prefetch_count=500)
            received = 0

            def on_message(ch, method, _props, _body) -> None:
                nonlocal received
                ch.basic_ack(method.delivery_tag)
                received += 1
                if received == messages:
                    ch.stop_consuming()

            channel.basic_consume(queue, on_message, auto_ack=False)
            connection.call_later(60, channel.stop_consuming)  # never hang forever
            started = time.perf_counter()
            channel.start_consuming()
            consume_s = time.perf_counter() - started
            if received < messages:
                raise RuntimeError(f"consumed only {received}/{messages} messages")
        finally:
            connection.close()
    return {
        "published_confirmed": published,
        "publish_per_s": publish_per_s,
        "consumed": received,
        "consume_per_s": received / consume_s,
    }


def nameko_rpc(calls: int = 3000, clients: int = 8) -> dict[str, float]:
    """Round trips to a do-nothing nameko service through a scratch vhost."""
    with _scratch_vhost() as vhost:
        uri = f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/{vhost}"
        cmd = [
            sys.executable, "-m", "nameko", "run",
            "--broker", uri,
            "bench.trivial_service",
        ]  # fmt: skip

        def consuming() -> bool:
            with contextlib.closing(pika.BlockingConnection(_pika_params(vhost))) as conn:
                declared = conn.channel().queue_declare("rpc-bench_echo", passive=True)
                return declared.method.consumer_count > 0

        with _process(cmd, what="nameko run", cwd=ROOT, env=_child_env()) as proc:
            _wait_until(consuming, what="nameko service", proc=proc)
            config = {"AMQP_URI": uri}
            single = _rpc_round_trips(config, clients=1, calls=calls)
            multi = _rpc_round_trips(config, clients=clients, calls=calls)
    return {
        "single_client_per_s": single["per_s"],
        "clients": clients,
        "multi_client_per_s": multi["per_s"],
        "p50_ms": multi["p50_ms"],
        "p99_ms": multi["p99_ms"],
    }


def _rpc_round_trips(config: dict[str, str], *, clients: int, calls: int) -> dict[str, float]:
    """``calls`` pings split over ``clients`` threads, each with its own proxy."""
    with warnings.catch_warnings():
        # nameko imports eventlet, which warns about its own deprecation on import.
        warnings.filterwarnings("ignore", message="\nEventlet is deprecated")
        from nameko.standalone.rpc import ClusterRpcProxy

    per_client = max(1, calls // clients)
    # Clients connect and warm up first so setup stays out of the timed window.
    barrier = threading.Barrier(clients + 1, timeout=READY_TIMEOUT_S)

    def client() -> list[float]:
        latencies = []
        try:
            with ClusterRpcProxy(config, timeout=30) as rpc:
                rpc.bench_echo.ping(0)
                barrier.wait()
                for i in range(per_client):
                    started = time.perf_counter()
                    rpc.bench_echo.ping(i)
                    latencies.append(time.perf_counter() - started)
        except BaseException:
            barrier.abort()  # release the others rather than leave them waiting
            raise
        return latencies

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client) for _ in range(clients)]
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        started = time.perf_counter()
        wait(futures)
        elapsed = time.perf_counter() - started

    failures = [exc for f in futures if (exc := f.exception())]
    if failures:
        # A BrokenBarrierError is only the echo of another client's failure.
        cause = next(
            (e for e in failures if not isinstance(e, threading.BrokenBarrierError)),
            failures[0],
        )
        raise RuntimeError(f"{len(failures)} of {clients} RPC clients failed") from cause
    latencies = sorted(chain.from_iterable(f.result() for f in futures))
    return {
        "per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
    }


def run_all(duration_s: float = 10, gateway_workers: int = 2) -> dict[str, dict[str, float]]:
    return {
        "flask_hello": flask_hello(gateway_workers, duration_s),
        "postgres": postgres_tps(duration_s),
        "rabbitmq_pika": pika_rates(),
        "nameko_rpc": nameko_rpc(),
    }


def format_table(results: dict[str, dict[str, float]]) -> str:
    rows = [
        (bench, metric, f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
        for bench, figures in results.items()
        for metric, value in figures.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    previous = None
    for bench, metric, value in rows:
        label = bench if bench != previous else ""
        previous = bench
        lines.append(f"{label:<{widths[0]}}  {metric:<{widths[1]}}  {value:>{widths[2]}}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per timed run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    print(format_table(run_all(args.duration, gateway_workers=args.workers)))


if __name__ == "__main__":
    main()
