"""The booking rush through the gateway: many people booking the same clinic's slots at once.

    python -m bench.booking_rush [--slots 1000] [--clients 200] [--attempts 5000]
                                 [--overload-clients 2000] [--duration 10]

1. Baseline: pgbench TPC-B-like transactions per second on the same PostgreSQL (the booking
   is one conditional UPDATE plus a few INSERTs in one transaction: the database's transaction
   rate is what bounds it).
2. Rush: `--slots` slots of one seat each at the demo clinic; `--clients` concurrent clients
   make `--attempts` POST /api/v1/public/appointments in all, every one a different person and
   all from one address (as through the portal or a carrier's NAT), against the gateway's
   production-default limits. Each client picks a random slot
   it has not seen full yet, as a person refreshing a booking page would; once every slot it
   knows is full it keeps trying (and must be told "full", 409). Checked: exactly `--slots`
   bookings, every other answer a clean 409 `slot_full` (503 `overloaded`, with Retry-After,
   is retried by the client); reported: bookings/s, p50/p99 of every answer, as ratios to the
   baseline. Target: p99 < 300 ms.
3. Overload: `--overload-clients` (10x) clients hammer the same route for `--duration`
   seconds: every answer must come quickly as 201/409/429/503, never a 502, a 504 or a hang
   (client timeout 10 s).

Results go to bench/results/booking_rush.json.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import aiohttp
import requests

from bench import baselines, loadgen, save_results
from bench.system import LOCATION, RunningSystem

SLOTS_PER_DAY = 200  # 06:00-22:40 every 5 minutes
HANG_S = 10.0
GATEWAY_THREADS = int(os.environ.get("GATEWAY_THREADS", "8"))  # as gateway/gunicorn_conf.py


def _person(n: int) -> dict:
    return {
        "given_name": "Bench",
        "family_name": f"Booker-{n}-{uuid.uuid4().hex[:6]}",
        "birth_date": "1970-01-01",
        "phone": "555-010-0000",
    }


def make_slots(system: RunningSystem, slots: int) -> list[str]:
    days = -(-slots // SLOTS_PER_DAY)
    first = datetime.now(UTC).date() + timedelta(days=10)
    response = system.manager.post(
        f"/locations/{LOCATION}/clinic-days",
        json={
            "dates": [(first + timedelta(days=n)).isoformat() for n in range(days)],
            "product_id": "pfizer-gray-12plus",
            "opens": "06:00",
            "closes": "22:40",
            "every_minutes": 5,
            "capacity": 1,
        },
    )
    assert response.status_code == 201, response.text
    ids = []
    for day in response.json():
        detail = system.manager.get(f"/locations/{LOCATION}/clinic-days/{day['id']}").json()
        ids.extend(s["id"] for s in detail["slots"] if s["product_id"] == "pfizer-gray-12plus")
    ids = ids[:slots]
    # Seats beyond the requested number are closed off, so exactly `slots` can be booked.
    for day in response.json():
        detail = system.manager.get(f"/locations/{LOCATION}/clinic-days/{day['id']}").json()
        for slot in detail["slots"]:
            if slot["id"] not in ids and slot["capacity"] > 0:
                system.manager.request(
                    "PATCH", f"/locations/{LOCATION}/slots/{slot['id']}", json={"capacity": 0}
                )
    return ids


def rush(base: str, slot_ids: list[str], *, clients: int, attempts: int) -> dict:
    """`clients` people on one asyncio loop (aiohttp): 200 Python threads would queue on the
    GIL and spend a core on themselves, and their latencies would be the client's own."""
    return asyncio.run(_rush(base, slot_ids, clients=clients, attempts=attempts))


async def _rush(base: str, slot_ids: list[str], *, clients: int, attempts: int) -> dict:
    url = f"{base}/public/appointments"
    remaining = iter(range(attempts))
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    booked_at: list[float] = []

    # What the booking page shows everyone: slots seen full are not offered again.
    full: set[str] = set()

    async def client(session: aiohttp.ClientSession, seed: int) -> None:
        rng = random.Random(seed)
        known_open = list(slot_ids)
        timeout = aiohttp.ClientTimeout(total=HANG_S)
        while (n := next(remaining, None)) is not None:
            known_open = [s for s in known_open if s not in full]
            while True:
                slot = rng.choice(known_open) if known_open else rng.choice(slot_ids)
                started = time.perf_counter()
                retry_after, error = 1.0, None
                try:
                    async with session.post(
                        url, json={"slot_id": slot, **_person(n)}, timeout=timeout
                    ) as response:
                        status = response.status
                        if status == 409:
                            error = (await response.json()).get("error")
                        else:
                            await response.read()
                        retry_after = float(response.headers.get("Retry-After", "1"))
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status == 201:
                    booked_at.append(time.perf_counter())
                elif status == 409:
                    errors[error] += 1
                if status == 503:  # shed: come back as told
                    await asyncio.sleep(retry_after / 10)
                    continue
                if status in (201, 409):
                    full.add(slot)
                break

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session, seed) for seed in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    booked = statuses[201]
    return {
        "load_generator": "aiohttp",
        "clients": clients,
        "attempts": attempts,
        "requests": len(latencies),
        "booked": booked,
        "statuses": {str(k): v for k, v in statuses.items()},
        "conflicts": dict(errors),
        "seconds": elapsed,
        "bookings_per_s": booked / (max(booked_at) - started) if booked_at else 0.0,
        "answers_per_s": len(latencies) / elapsed,
        "p50_ms": loadgen.percentile(latencies, 50) * 1e3,
        "p99_ms": loadgen.percentile(latencies, 99) * 1e3,
        "max_ms": latencies[-1] * 1e3 if latencies else 0.0,
    }


# wrk's Lua hooks: a booking for a random slot per request, answers counted per status in each
# thread and printed once at the end ("STATUS <code> <count>").
_WRK_BOOKING = """
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  slots, counts, n = {}, {}, 0
  for slot in string.gmatch(args[1], "[^,]+") do table.insert(slots, slot) end
end
function request()
  n = n + 1
  local body = string.format(
    '{"slot_id":"%s","given_name":"Bench","family_name":"Over-%d-%d",' ..
    '"birth_date":"1970-01-01","phone":"555-010-0000"}',
    slots[math.random(#slots)], id, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("counts")) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
  io.write(string.format("MAX_US %d\\n", latency.max))
end
"""


def overload_wrk(base: str, slot_ids: list[str], *, clients: int, duration_s: float) -> dict:
    """The overload from wrk (C, event-driven): 2,000 Python threads would spend the two cores
    on themselves and measure their own scheduling as much as the gateway."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_BOOKING)
    try:
        out = subprocess.run(
            [
                "wrk",
                "--latency",
                "--threads=2",
                f"--connections={clients}",
                f"--duration={max(1, round(duration_s))}s",
                f"--timeout={HANG_S:.0f}s",
                "--script",
                script.name,
                f"{base}/public/appointments",
                "--",
                ",".join(slot_ids),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    figures = loadgen.parse_wrk_output(out)
    statuses: Counter = Counter()
    for code, count in re.findall(r"^STATUS (\d+) (\d+)$", out, re.MULTILINE):
        statuses[int(code)] += int(count)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        for kind, count in zip(
            ("connect", "read", "write", "hang"), socket_errors.groups(), strict=True
        ):
            if int(count):
                statuses[kind] += int(count)
    max_us = re.search(r"^MAX_US (\d+)$", out, re.MULTILINE)
    bad = {k: v for k, v in statuses.items() if k not in (201, 409, 429, 503)}
    return {
        "load_generator": "wrk",
        "clients": clients,
        "requests": figures["requests"],
        "answers_per_s": figures["rps"],
        "statuses": {str(k): v for k, v in statuses.items()},
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "max_ms": int(max_us.group(1)) / 1e3 if max_us else math.nan,
        "bad_answers": {str(k): v for k, v in bad.items()},
    }


def overload(base: str, slot_ids: list[str], *, clients: int, duration_s: float) -> dict:
    url = f"{base}/public/appointments"
    deadline = time.monotonic() + duration_s
    lock = threading.Lock()
    statuses: Counter = Counter()
    latencies: list[float] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = session.post(
                    url,
                    json={"slot_id": rng.choice(slot_ids), **_person(seed)},
                    timeout=HANG_S,
                ).status_code
            except requests.Timeout:
                status = "hang"
            except requests.RequestException as exc:
                status = type(exc).__name__
            with lock:
                statuses[status] += 1
                latencies.append(time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    latencies.sort()
    bad = {k: v for k, v in statuses.items() if k not in (201, 409, 429, 503)}
    return {
        "clients": clients,
        "requests": len(latencies),
        "statuses": {str(k): v for k, v in statuses.items()},
        "p50_ms": loadgen.percentile(latencies, 50) * 1e3,
        "p99_ms": loadgen.percentile(latencies, 99) * 1e3,
        "max_ms": latencies[-1] * 1e3 if latencies else 0.0,
        "bad_answers": bad,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=5000)
    parser.add_argument("--overload-clients", type=int, default=None, help="default: 10x")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of overload")
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument(
        "--scheduling-instances",
        type=int,
        default=2,
        help="scheduling processes sharing its RPC queue (deploy/k8s runs 2 replicas)",
    )
    args = parser.parse_args()
    overload_clients = args.overload_clients or args.clients * 10

    print("measuring the PostgreSQL baseline (pgbench) ...", flush=True)
    pg = baselines.postgres_tps(args.duration)
    print(f"  pgbench: {pg['tps']:,.0f} tps", flush=True)
    # What "quickly" can mean here: a bare Flask hello on the gateway's server setup (gunicorn
    # gthread, same workers and threads) under the same number of connections.
    print(f"measuring bare Flask hello at {overload_clients} connections ...", flush=True)
    hello = baselines.flask_hello(
        args.gateway_workers,
        args.duration,
        connections=overload_clients,
        worker_class="gthread",
        threads=GATEWAY_THREADS,
    )
    print(f"  hello: {hello['rps']:,.0f} req/s, p99 {hello['p99_ms']:.0f} ms", flush=True)

    print("starting CVMS ...", flush=True)
    # Every client comes from this machine's one address, as the public comes through the
    # portal's server (or a carrier's NAT), and the gateway's limits are the production ones:
    # a crowd behind one address must get its seats and clean "full" answers, never a 429.
    with RunningSystem(
        gateway_workers=args.gateway_workers,
        replicas={"scheduling": args.scheduling_instances},
        production_limits=True,
    ) as system:
        base = system.api.base
        slot_ids = make_slots(system, args.slots)
        print(f"rush: {args.attempts} attempts, {args.clients} clients, {len(slot_ids)} seats")
        result = rush(base, slot_ids, clients=args.clients, attempts=args.attempts)
        seats = system.manager.get(f"/locations/{LOCATION}/appointments").json()
        result["appointments_in_database"] = sum(1 for a in seats if a["status"] == "booked")
        print(f"overload: {overload_clients} clients for {args.duration:.0f} s", flush=True)
        hammer = overload_wrk if loadgen.have_wrk() else overload
        over = hammer(base, slot_ids, clients=overload_clients, duration_s=args.duration)

    exact = result["booked"] == len(slot_ids) == result["appointments_in_database"]
    clean = set(result["conflicts"]) <= {"slot_full"} and set(result["statuses"]) <= {
        "201",
        "409",
        "503",
    }
    print()
    print(f"booked {result['booked']} of {len(slot_ids)} seats (exact: {exact}); answers "
          f"{result['statuses']}, conflicts {result['conflicts']} (clean: {clean})")  # fmt: skip
    print(
        f"bookings/s {result['bookings_per_s']:,.0f} = {result['bookings_per_s'] / pg['tps']:.2f}"
        f" of pgbench tps; answers/s {result['answers_per_s']:,.0f}; p50 {result['p50_ms']:.0f}"
        f" ms, p99 {result['p99_ms']:.0f} ms (target < 300 ms), max {result['max_ms']:.0f} ms"
    )
    print(
        f"overload x{overload_clients // args.clients}: {over['requests']} answers "
        f"{over['statuses']}, p99 {over['p99_ms']:.0f} ms = "
        f"{over['p99_ms'] / hello['p99_ms']:.1f}x bare hello's p99 at the same connections "
        f"({hello['p99_ms']:.0f} ms), max {over['max_ms']:.0f} ms; "
        f"bad answers (502/504/hang/errors): {over['bad_answers'] or 'none'}"
    )
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores",
        "arguments": vars(args),
        "postgres_baseline": pg,
        "hello_at_overload_baseline": hello,
        "overload_p99_over_hello_p99": over["p99_ms"] / hello["p99_ms"],
        "rush": result,
        "bookings_per_s_over_pgbench_tps": result["bookings_per_s"] / pg["tps"],
        "exactly_booked": exact,
        "clean_answers": clean,
        "overload": over,
    }
    save_results(results, "booking_rush.json")
    if not (exact and clean and not over["bad_answers"]):
        raise SystemExit("the booking rush broke a rule (see above)")


if __name__ == "__main__":
    main()
