"""Load generators: wrk for HTTP throughput, thread pools as fallback and for paced load.

Closed-loop results (``wrk``, ``python_load``, ``http_load``) share the keys
``rps, p50_ms, p99_ms, requests, non_2xx, errors``.
"""

from __future__ import annotations

import http.client
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

_UNIT_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS_RE = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX_RE = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_SOCKET_ERRORS_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def wrk(
    url: str,
    *,
    duration_s: float,
    connections: int,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    lua_script: str | None = None,
) -> dict[str, float]:
    # wrk refuses fewer connections than threads.
    threads = max(1, min(threads, connections))
    cmd = [
        "wrk",
        "--latency",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        "--timeout=10s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["--header", f"{name}: {value}"]
    if lua_script:
        cmd += ["--script", lua_script]
    cmd.append(url)
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, timeout=duration_s + 60
    ).stdout
    return parse_wrk_output(out)


def parse_wrk_output(out: str) -> dict[str, float]:
    rps = _RPS_RE.search(out)
    requests = _REQUESTS_RE.search(out)
    if not (rps and requests):
        raise ValueError(f"unrecognised wrk output:\n{out}")
    latencies = {q: float(value) * _UNIT_TO_MS[unit] for q, value, unit in _LATENCY_RE.findall(out)}
    non_2xx = _NON_2XX_RE.search(out)
    socket_errors = _SOCKET_ERRORS_RE.search(out)
    return {
        "rps": float(rps.group(1)),
        "p50_ms": latencies.get("50", math.nan),
        "p99_ms": latencies.get("99", math.nan),
        "requests": int(requests.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def python_load(
    request_fn: Callable[[http.client.HTTPConnection], int],
    *,
    duration_s: float,
    concurrency: int,
    connect: Callable[[], http.client.HTTPConnection],
) -> dict[str, float]:
    """Closed-loop load from ``concurrency`` threads, each on its own keep-alive connection.

    ``connect`` makes a fresh connection; it is re-made after any failed request.
    Throughput is bounded by the GIL well below what wrk reaches.
    """
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    deadline = time.perf_counter() + duration_s

    def worker() -> None:
        local: list[float] = []
        non_2xx = errors = 0
        conn = connect()
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    status = request_fn(conn)
                except (OSError, http.client.HTTPException):
                    errors += 1
                    conn.close()
                    conn = connect()
                    continue
                local.append(time.perf_counter() - start)
                if not 200 <= status < 400:
                    non_2xx += 1
        finally:
            conn.close()
            with lock:
                latencies.extend(local)
                counts["non_2xx"] += non_2xx
                counts["errors"] += errors

    started = time.perf_counter()
    _run_threads(worker, concurrency)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "requests": len(latencies),
        **counts,
    }


def http_load(
    url: str,
    *,
    duration_s: float,
    connections: int,
    headers: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """GET ``url`` under closed-loop load with wrk, or the Python fallback without it."""
    if have_wrk():
        return wrk(url, duration_s=duration_s, connections=connections, headers=headers)
    parts = urlsplit(url)
    conn_cls = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query

    def connect() -> http.client.HTTPConnection:
        return conn_cls(parts.hostname, parts.port, timeout=10)

    def request(conn: http.client.HTTPConnection) -> int:
        conn.request("GET", target, headers=dict(headers or {}))
        response = conn.getresponse()
        response.read()
        return response.status

    return python_load(request, duration_s=duration_s, concurrency=connections, connect=connect)


def paced(
    fn: Callable[[], bool],
    *,
    rate_per_s: float,
    duration_s: float,
    concurrency: int,
) -> dict[str, float]:
    """Open-loop load: call ``fn`` on a fixed schedule of ``rate_per_s`` for ``duration_s``.

    Latency is measured from each call's scheduled time, not from when a thread got
    to it, so falling behind shows up as latency instead of being hidden
    (coordinated omission). Calls whose slot is still unclaimed at the deadline are
    reported as ``dropped`` rather than run late.
    """
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    next_slot = 0
    interval = 1.0 / rate_per_s
    slots = int(rate_per_s * duration_s)
    start = time.perf_counter() + 0.05  # let all threads start before the first slot
    deadline = start + duration_s

    def worker() -> None:
        nonlocal next_slot, errors
        while True:
            with lock:
                slot = next_slot
                next_slot += 1
            scheduled = start + slot * interval
            if slot >= slots or time.perf_counter() >= deadline:
                return
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                ok = bool(fn())
            except Exception:  # noqa: BLE001 - a raising call is a failed sample
                ok = False
            latency = time.perf_counter() - scheduled
            with lock:
                if ok:
                    latencies.append(latency)
                else:
                    errors += 1

    _run_threads(worker, concurrency)
    elapsed = max(time.perf_counter(), deadline) - start
    latencies.sort()
    issued = len(latencies) + errors
    return {
        "target_per_s": rate_per_s,
        "achieved_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "completed": len(latencies),
        "errors": errors,
        "dropped": max(0, slots - issued),
    }


def _run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
