"""`make bench-notifications`: how fast booking confirmations reach the mail server, and how
soon (issue 13).

    python -m bench.notifications [--messages 10000] [--clients 12] [--latency-seconds 20]

1. The baseline, on the same machine in the same run: pika consume with manual acks of
   persistent messages from a durable queue (`baselines.pika_rates`).
2. The drain: CVMS started (real processes, a vhost and databases of the run's own), the
   notifications service STOPPED, `--messages` public bookings through the gateway
   (`POST /api/v1/public/appointments`, each a different person with an e-mail address and no
   phone) so that their `appointment_booked` events queue up; then notifications is started and
   the e-mails are counted as the development mail catcher writes them (one .eml each). The rate
   is over the drain, from the first file's mtime to the last's, and as a ratio to the baseline.
3. The latency: bookings at half the drained rate for `--latency-seconds`, notifications
   running; per message, from the booking's 201 answer to the mail catcher's file (st_mtime_ns,
   the SMTP acceptance), matched by the To address.

CPU per process during the drain is read from /proc; `--profile` also records the notifications
process, the mail catcher and scheduling with py-spy for the first seconds of the drain.
Figures go to bench/results/notifications.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import email
import email.policy
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg
import requests

from bench import baselines, loadgen, save_results
from bench.system import LOCATION, RunningSystem

TARGET_PER_S = 300.0
TARGET_P99_S = 2.0
PRODUCT = "pfizer-gray-12plus"
SLOTS_PER_DAY = 200  # 06:00-22:40 every 5 minutes
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The processes `--profile` records during the drain: the sender, the SMTP server it sends to,
# and the owner it asks for addresses.
PROFILED = ("notifications", "mailcatcher", "scheduling")


# -- the clinic and the people -------------------------------------------------------------------
def make_seats(system: RunningSystem, seats: int) -> list[str]:
    """One clinic day ten days ahead, 200 slots with enough capacity each for `seats`."""
    capacity = min(1000, -(-seats // SLOTS_PER_DAY) + 1)
    day = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    response = system.manager.post(
        f"/locations/{LOCATION}/clinic-days",
        json={
            "dates": [day],
            "product_id": PRODUCT,
            "opens": "06:00",
            "closes": "22:40",
            "every_minutes": 5,
            "capacity": capacity,
        },
    )
    assert response.status_code == 201, response.text
    ids = []
    for created in response.json():
        detail = system.manager.get(f"/locations/{LOCATION}/clinic-days/{created['id']}").json()
        ids.extend(s["id"] for s in detail["slots"] if s["product_id"] == PRODUCT)
    return ids


def person(tag: str, n: int) -> dict:
    address = f"bench.{tag}.{n}.{uuid.uuid4().hex[:8]}@example.org"
    return {
        "given_name": "Bench",
        "family_name": f"Mail-{tag}-{n}-{uuid.uuid4().hex[:6]}",
        "birth_date": "1970-01-01",
        "email": address,  # e-mail only: no text message is owed
        "preferred_language": "en",
    }


def book_many(base: str, slot_ids: list[str], count: int, *, clients: int) -> dict:
    """`count` bookings by `clients` concurrent clients on one asyncio loop; a 503 `overloaded`
    (the gateway's admission control) is tried again shortly."""
    return asyncio.run(_book_many(base, slot_ids, count, clients=clients))


async def _book_many(base: str, slot_ids: list[str], count: int, *, clients: int) -> dict:
    url = f"{base}/public/appointments"
    remaining = iter(range(count))
    booked: dict[str, float] = {}
    statuses: collections.Counter = collections.Counter()

    async def client(session: aiohttp.ClientSession, seed: int) -> None:
        rng = random.Random(seed)
        timeout = aiohttp.ClientTimeout(total=30)
        while (n := next(remaining, None)) is not None:
            who = person("drain", n)
            for _ in range(200):
                try:
                    async with session.post(
                        url, json={"slot_id": rng.choice(slot_ids), **who}, timeout=timeout
                    ) as response:
                        status = response.status
                        await response.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                statuses[status] += 1
                if status == 201:
                    booked[who["email"]] = time.time()
                    break
                await asyncio.sleep(0.02)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(session, seed) for seed in range(clients)))
    seconds = time.perf_counter() - started
    return {
        "booked": len(booked),
        "seconds": seconds,
        "bookings_per_s": len(booked) / seconds,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


# -- the mail folder ---------------------------------------------------------------------------
def mail_files(directory: Path) -> list[os.DirEntry]:
    if not directory.exists():
        return []
    with os.scandir(directory) as entries:
        return [e for e in entries if e.name.endswith(".eml") and not e.name.startswith(".")]


def recipient(path: str) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    message = email.message_from_bytes(head, policy=email.policy.compat32)
    return (message["To"] or "").strip()


# -- CPU from /proc ------------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user+system ticks) of `pid`."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(cluster) -> dict[str, float]:
    """CPU seconds used so far by each CVMS process (with its children, e.g. gunicorn's
    workers), by PostgreSQL and RabbitMQ (every backend on the machine, shared with anything
    else running), and by the whole machine."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _proc_stat(int(entry))
            if found:
                stats[int(entry)] = found
    children = collections.defaultdict(list)
    for pid, (ppid, _) in stats.items():
        children[ppid].append(pid)

    def tree(pid: int) -> int:
        total, stack = 0, [pid]
        while stack:
            current = stack.pop()
            total += stats.get(current, (0, 0))[1]
            stack.extend(children.get(current, ()))
        return total

    snapshot = {name: tree(p.pid) / CLK_TCK for name, p in cluster.processes.items()}
    snapshot["postgresql (all)"] = (
        sum(t for pid, (_, t) in stats.items() if _comm(pid) == "postgres") / CLK_TCK
    )
    snapshot["rabbitmq (all)"] = (
        sum(t for pid, (_, t) in stats.items() if _comm(pid) == "beam.smp") / CLK_TCK
    )
    snapshot["bench (this process)"] = (
        tree(os.getpid()) / CLK_TCK - sum(tree(p.pid) for p in cluster.processes.values()) / CLK_TCK
    )
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    snapshot["machine busy"] = (sum(values) - values[3] - values[4]) / CLK_TCK
    return snapshot


def cpu_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Cores used in each, over `seconds`."""
    return {name: round((after[name] - before.get(name, 0.0)) / seconds, 3) for name in after}


def outbox_unsent(system: RunningSystem) -> int:
    url = system.run.database_url("scheduling").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as db:
        return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


def delivery_states(system: RunningSystem) -> dict[str, int]:
    url = system.run.database_url("notifications").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    return dict(rows)


# -- the profile ---------------------------------------------------------------------------------
def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("  (py-spy not installed: no profile)")
        return None
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
        + ["--rate", "100", "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def summarise_profile(path: Path, top: int = 25) -> list[tuple[str, float]]:
    """Share of samples in which each function appears (inclusive), from py-spy's collapsed
    stacks, the notifications code and a few library boundaries of interest."""
    if not path.exists():
        return []
    counts: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0]
            where = frame.partition(" (")[2]
            label = f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"
            if label not in seen:
                seen.add(label)
                counts[label] += int(n)
    return [(label, round(c / total, 3)) for label, c in counts.most_common(top)] if total else []


# -- the phases ----------------------------------------------------------------------------------
def drain(system: RunningSystem, slot_ids: list[str], args) -> dict:
    cluster = system.cluster
    cluster.stop("notifications")
    print(f"booking {args.messages:,} appointments with notifications stopped ...", flush=True)
    booking = book_many(system.api.base, slot_ids, args.messages, clients=args.clients)
    print(
        f"  booked {booking['booked']:,} in {booking['seconds']:.0f} s "
        f"({booking['bookings_per_s']:.0f}/s), answers {booking['statuses']}",
        flush=True,
    )
    # Every event published by scheduling's relay: queued for notifications.
    deadline = time.monotonic() + 300
    while outbox_unsent(system) and time.monotonic() < deadline:
        time.sleep(0.5)
    expected = booking["booked"]
    print(f"starting notifications: {expected:,} e-mails to send ...", flush=True)
    before = cpu_snapshot(cluster)
    started_wall = time.time()
    started = time.perf_counter()
    cluster.start("notifications")
    profiles: dict[str, subprocess.Popen | None] = {}
    profile_out = {name: Path(f"bench/results/{name}_profile.raw.txt") for name in PROFILED}
    last_count, last_change = 0, time.monotonic()
    while True:
        count = len(mail_files(cluster.mail_dir))
        if args.profile and not profiles and count:
            # From the first e-mail on: the service's start-up (imports) is not the drain.
            for name in PROFILED:
                profile_out[name].parent.mkdir(parents=True, exist_ok=True)
                pid = cluster.processes[name].pid
                profiles[name] = start_profile(pid, args.profile, profile_out[name])
        if count != last_count:
            last_count, last_change = count, time.monotonic()
            if count // 1000 != (count - 1) // 1000 or count >= expected:
                elapsed = time.perf_counter() - started
                print(f"  {count:,} e-mails after {elapsed:.0f} s", flush=True)
        if count >= expected or time.monotonic() - last_change > 60:
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    after = cpu_snapshot(cluster)
    for profile in profiles.values():
        if profile is None:
            continue
        try:
            _, err = profile.communicate(timeout=args.profile + 30)
            if profile.returncode:
                print(f"  py-spy: {err.decode(errors='replace')[-300:]}")
        except subprocess.TimeoutExpired:
            profile.kill()
    files = mail_files(cluster.mail_dir)
    times = sorted(e.stat().st_mtime_ns / 1e9 for e in files)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {
        "booking": booking,
        "expected": expected,
        "emails": len(files),
        "drain_seconds_first_to_last": span,
        "emails_per_s": (len(times) - 1) / span if len(times) > 1 else 0.0,
        "seconds_from_start_to_last": times[-1] - started_wall if times else float("nan"),
        "emails_per_s_from_start": len(times) / (times[-1] - started_wall) if times else 0.0,
        "first_email_after_start_s": times[0] - started_wall if times else float("nan"),
        "delivery_states": delivery_states(system),
        "cpu_cores_during_drain": cpu_used(before, after, seconds),
        "profiles": {
            name: summarise_profile(profile_out[name]) for name, found in profiles.items() if found
        },
    }


def latency(system: RunningSystem, slot_ids: list[str], *, rate: float, seconds: float) -> dict:
    cluster = system.cluster
    already = {e.name for e in mail_files(cluster.mail_dir)}
    url = f"{system.api.base}/public/appointments"
    answered: dict[str, float] = {}
    lock = threading.Lock()
    local = threading.local()
    counter = iter(range(10**9))

    def book() -> bool:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        with lock:
            n = next(counter)
        who = person("latency", n)
        for _ in range(50):
            response = session.post(
                url, json={"slot_id": random.choice(slot_ids), **who}, timeout=30
            )
            if response.status_code == 201:
                with lock:
                    answered[who["email"]] = time.time()
                return True
            if response.status_code != 503:
                return False
            time.sleep(0.02)
        return False

    print(f"latency: booking at {rate:.0f}/s for {seconds:.0f} s, notifications running ...")
    load = loadgen.paced(book, rate_per_s=rate, duration_s=seconds, concurrency=32)
    sent: dict[str, float] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for entry in mail_files(cluster.mail_dir):
            if entry.name in already:
                continue
            already.add(entry.name)
            sent[recipient(entry.path)] = entry.stat().st_mtime_ns / 1e9
        if all(address in sent for address in answered):
            break
        time.sleep(0.5)
    lags = sorted(sent[a] - t for a, t in answered.items() if a in sent)
    return {
        "offered_per_s": rate,
        "booked_per_s": load["achieved_per_s"],
        "booking_p99_ms": load["p99_ms"],
        "booking_errors": load["errors"] + load["dropped"],
        "bookings": len(answered),
        "emails_matched": len(lags),
        "missing": len(answered) - len(lags),
        "p50_s": loadgen.percentile(lags, 50) if lags else float("nan"),
        "p99_s": loadgen.percentile(lags, 99) if lags else float("nan"),
        "max_s": lags[-1] if lags else float("nan"),
        "min_s": lags[0] if lags else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="e-mails queued and drained")
    parser.add_argument("--clients", type=int, default=12, help="concurrent booking clients")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--pika-messages", type=int, default=20_000)
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        help="py-spy notifications, the mail catcher and scheduling this long",
    )
    args = parser.parse_args()

    print("measuring the pika consume-with-acks baseline ...", flush=True)
    pika = baselines.pika_rates(messages=args.pika_messages)
    consume = pika["consume_per_s"]
    print(f"  pika consume with acks: {consume:,.0f} msg/s", flush=True)

    print("starting CVMS ...", flush=True)
    load_at_start = os.getloadavg()
    with RunningSystem(gateway_workers=args.gateway_workers) as system:
        seats = args.messages + 2000 + int(args.latency_seconds * 400)
        slot_ids = make_seats(system, seats)
        drained = drain(system, slot_ids, args)
        rate = max(5.0, round(drained["emails_per_s"] / 2))
        lag = latency(system, slot_ids, rate=rate, seconds=args.latency_seconds)
        states_after = delivery_states(system)

    per_s = drained["emails_per_s"]
    rows = [
        ("pika consume with acks (baseline)", f"{consume:,.0f} msg/s", "1.00", ""),
        (
            f"bookings queued (notifications stopped, {args.clients} clients)",
            f"{drained['booking']['booked']:,} in {drained['booking']['seconds']:.0f} s "
            f"({drained['booking']['bookings_per_s']:.0f}/s)",
            "",
            "",
        ),
        (
            "e-mails drained to the mail catcher (first to last file)",
            f"{drained['emails']:,} of {drained['expected']:,}, {per_s:,.0f}/s",
            f"{per_s / consume:.3f} of consume",
            f">= {TARGET_PER_S:.0f}/s {'✅' if per_s >= TARGET_PER_S else '❌'}",
        ),
        (
            "same, from starting notifications",
            f"{drained['emails_per_s_from_start']:,.0f}/s "
            f"(first e-mail after {drained['first_email_after_start_s']:.1f} s)",
            "",
            "",
        ),
        (
            f"booking -> SMTP acceptance at {lag['booked_per_s']:.0f} bookings/s",
            f"p50 {lag['p50_s']:.2f} s, p99 {lag['p99_s']:.2f} s, max {lag['max_s']:.2f} s "
            f"({lag['emails_matched']:,} e-mails, {lag['missing']} missing)",
            "",
            f"p99 < {TARGET_P99_S:.0f} s {'✅' if lag['p99_s'] < TARGET_P99_S else '❌'}",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    print("\nCPU during the drain (cores):")
    for name, cores in sorted(drained["cpu_cores_during_drain"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28} {cores:.2f}")
    for name, profile in drained["profiles"].items():
        print(f"\n{name}, share of samples (inclusive):")
        for label, share in profile:
            print(f"  {share:6.1%}  {label}")
    print(f"\ndeliveries by state at the end: {states_after}")
    save_results(
        {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores",
            "load_average_at_start": load_at_start,
            "arguments": vars(args),
            "pika_baseline": pika,
            "drain": drained,
            "emails_per_s_over_pika_consume": per_s / consume,
            "latency": lag,
            "delivery_states_at_end": states_after,
            "targets": {"emails_per_s": TARGET_PER_S, "p99_s": TARGET_P99_S},
        },
        "notifications.json",
    )


if __name__ == "__main__":
    main()
