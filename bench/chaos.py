"""`make chaos`: record doses through the gateway at a steady rate while every part of CVMS fails
in turn, then check that nothing was lost or counted twice.

Clients behave as real ones do: each dose has its record id, and a client sends it again, with
the same id, after a 503 (waiting its Retry-After), a 502, a timeout or a dropped connection.
While they do, the faults come one after another, spread over the run, each once the system has
healed from the one before:

- `kill -9` of each service, each outbox relay and the gateway's workers, and a restart;
- a restart of RabbitMQ and of PostgreSQL (a private broker node and a private PostgreSQL
  cluster, started by this program on ports of its own: the machine's servers are shared);
- the broker's and the database's connections cut (every connection dropped, new ones refused
  for a few seconds) and delayed, by TCP proxies of this program's own between CVMS and them.

Each fault's doses go to a lot of their own, so that each row of the final table is checked
on its own: every accepted dose recorded exactly once in administration and once in inventory's
ledger, the lot's stock reconciled exactly (received - recorded, no discrepancy), scheduling's
follow-up (the checked-in appointment completed) exactly once, no 500 and every 503 with a
Retry-After; then every dead-letter queue holds nothing without a reason. A fault has healed
when doses sent after it reach inventory's ledger within 100 ms again (the median of a window of
consecutive doses).

    make chaos                                   # 10,000 doses at 10/s, every fault
    make chaos CHAOS_ARGS="--short"              # a few hundred doses, one fault of each kind
    python -m bench.chaos --servers shared       # the machine's servers; restarts become cuts

The short run is also a test (tests/test_chaos.py). Results: bench/results/chaos-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

from bench.system import register_recipients
from cvms_platform.dead_letters import inspect as dead_letters
from tests.harness import RELAYS, SERVICES, Api, Cluster, Infrastructure, TestRun, free_port

LOCATION = "demo-clinic"
MANAGER = ("clinic.manager", "demo-clinic-manager")
PRODUCT = "pfizer-gray-12plus"
HEALED_MS = 100.0
GIVE_UP_S = 240.0  # a client stops resending a dose after this long (none should need it)
RESULTS = Path(__file__).resolve().parent / "results" / "chaos-latest.json"
PG_BIN = Path("/usr/lib/postgresql")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- TCP proxies -----------------------------------------------------------------------------------
class TcpProxy:
    """Forwards a local port to a server. `cut` drops every connection and refuses new ones for a
    while (the port stops listening); `delay` holds every chunk of data for a while."""

    def __init__(self, name: str, upstream: tuple[str, int], loop: asyncio.AbstractEventLoop):
        self.name, self.upstream, self.loop = name, upstream, loop
        self.port = free_port()
        self.delay_s = 0.0
        self.connections: set[asyncio.Transport] = set()
        self.server: asyncio.AbstractServer | None = None
        self._call(self._listen())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True, backlog=512
        )

    async def _serve(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer.transport, up_writer.transport)
        self.connections.update(pair)
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        finally:
            for transport in pair:
                self.connections.discard(transport)
                transport.abort()

    async def _pump(self, reader, writer) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, RuntimeError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side gone: the other goes too (no half-open links)

    async def _cut(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        for transport in list(self.connections):
            transport.abort()

    def cut(self, seconds: float) -> None:
        self._call(self._cut())
        time.sleep(seconds)
        self._call(self._listen())

    def delay(self, seconds: float, for_s: float) -> None:
        self.delay_s = seconds
        time.sleep(for_s)
        self.delay_s = 0.0


class ProxyLoop:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="proxies")
        self.thread.start()

    def proxy(self, name: str, upstream: tuple[str, int]) -> TcpProxy:
        return TcpProxy(name, upstream, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# -- private servers ------------------------------------------------------------------------------
def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)


class PrivatePostgres:
    """A PostgreSQL cluster of this run's own (initdb into a temporary directory, as the postgres
    user, on a free port), so that restarting it disturbs nobody else."""

    def __init__(self, directory: Path):
        versions = sorted(PG_BIN.glob("*/bin/pg_ctl"))
        if not versions or shutil.which("runuser") is None:
            raise RuntimeError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bin = versions[-1].parent
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        shutil.chown(directory, "postgres")
        self._as_postgres(
            [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        )
        self.start()

    def _as_postgres(self, command: list[str]) -> None:
        _run(["runuser", "-u", "postgres", "--", *command], timeout=120)

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c max_connections=400"
        )
        self._as_postgres(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.directory / "server.log"),
                "-w",
                "-o",
                options,
                *extra,
                action,
            ]
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """As after a crash: stop at once (no checkpoint), then start; recovery replays WAL."""
        self._ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop", "-m", "immediate")


class PrivateRabbit:
    """A RabbitMQ node of this run's own (its own node name, ports, data directory and cookie)."""

    def __init__(self, directory: Path):
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise RuntimeError(f"no RabbitMQ server at {RABBIT_BIN}")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.node = f"cvmschaos{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = free_port(), free_port()
        cookie = directory / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex.upper())
        cookie.chmod(0o400)
        (directory / "enabled_plugins").write_text("[].\n")
        (directory / "rabbitmq.conf").write_text("loopback_users = none\n")
        (directory / "rabbitmq-env.conf").write_text("")
        self.env = {
            **os.environ,
            "HOME": str(directory),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}"

    def _ctl(self, *args: str) -> None:
        _run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args], env=self.env, timeout=120)

    def start(self) -> None:
        output = open(self.directory / "server.out", "ab")  # noqa: SIM115 - the process's
        self.process = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmq-server")],
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output.close()
        self._ctl("wait", "--pid", str(self.process.pid), "--timeout", "120")

    def kill(self) -> None:
        """The node dies at once (kill -9 of its Erlang VM), as in a crash."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._ctl("stop")
        self.kill()


# -- the doses -------------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    kind: str
    lot: dict
    received: int
    injected_at: float = 0.0
    fault_over_at: float = 0.0
    healed_at: float | None = None
    doses: list[Dose] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)  # processes that exited by themselves


@dataclass
class Dose:
    id: str
    phase: Phase
    recipient: str
    appointment: str | None = None
    first_sent: float | None = None
    accepted_status: int | None = None
    answers: Counter = field(default_factory=Counter)  # status or error name -> count
    retry_after_missing: int = 0
    gave_up: bool = False
    refused: bool = False

    @property
    def answered(self) -> bool:
        return self.accepted_status is not None or self.gave_up or self.refused


@dataclass
class Settings:
    doses: int = 10_000
    rate: float = 10.0
    short: bool = False
    servers: str = "private"  # or "shared"
    clients: int = 128
    gateway_workers: int = 2
    settle_s: float = 3.0
    heal_timeout_s: float = 120.0
    warmup_s: float = 10.0
    results: Path | None = RESULTS


class Chaos:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="cvms-chaos-"))
        self.workdir.chmod(0o755)  # the private PostgreSQL runs as the postgres user
        self.proxies = ProxyLoop()
        self.postgres: PrivatePostgres | None = None
        self.rabbit: PrivateRabbit | None = None
        self.cluster: Cluster | None = None
        self.run: TestRun | None = None
        self.healed_ms = HEALED_MS
        self.lock = threading.Lock()
        self.applied: dict[str, float] = {}  # record id -> when inventory's ledger took it
        self.phase: Phase | None = None
        self.phases: list[Phase] = []
        self.recipients: list[str] = []
        self.appointments: list[tuple[str, str]] = []  # (appointment id, recipient id)
        self.stop_load = threading.Event()
        self.abort = threading.Event()  # tearing down early: clients stop resending at once
        self.stop_watch = threading.Event()
        self.local = threading.local()
        self.sent = 0
        self.starved = 0
        self.processes_lock = threading.Lock()  # the supervisor and the faults both restart

    # -- setting up --------------------------------------------------------------------------------
    def start_servers(self) -> tuple[str, str]:
        """(PostgreSQL URL, AMQP URL) of the servers CVMS runs on (not through the proxies)."""
        if self.settings.servers == "private":
            try:
                self.postgres = PrivatePostgres(self.workdir / "postgres")
                self.rabbit = PrivateRabbit(self.workdir / "rabbitmq")
                log(
                    f"private PostgreSQL on :{self.postgres.port}, "
                    f"RabbitMQ {self.rabbit.node} on :{self.rabbit.port}"
                )
                return self.postgres.url, self.rabbit.url
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                log(f"no private servers ({exc}); using the shared ones, restarts become cuts")
                self.settings.servers = "shared"
                self._stop_private()
        shared = Infrastructure.find()
        return shared.postgres_url, shared.amqp_url

    def start_cvms(self) -> None:
        postgres_url, amqp_url = self.start_servers()
        pg, mq = urlsplit(postgres_url), urlsplit(amqp_url)
        self.pg_proxy = self.proxies.proxy("postgres", (pg.hostname, pg.port or 5432))
        self.mq_proxy = self.proxies.proxy("rabbitmq", (mq.hostname, mq.port or 5672))
        private = self.settings.servers == "private"
        infra = Infrastructure(
            postgres_url,
            amqp_url,
            os.environ.get("CVMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            local=not private,  # the shared broker: a vhost of this run's own
        )
        self.run = TestRun(infra)
        self.run.create()
        self.cluster = Cluster(self.run)
        env = self.cluster.env
        env["GATEWAY_WORKERS"] = str(self.settings.gateway_workers)
        # CVMS reaches both servers through the proxies only.
        for name in SERVICES:
            key = f"{name.upper()}_DATABASE_URL"
            env[key] = env[key].replace(f":{pg.port or 5432}/", f":{self.pg_proxy.port}/", 1)
        env["AMQP_URI"] = self.run.amqp_uri.replace(
            f":{mq.port or 5672}", f":{self.mq_proxy.port}", 1
        )
        self.direct_amqp = self.run.amqp_uri
        log(f"starting CVMS (logs in {self.cluster.logs})")
        self.cluster.migrate()
        self.cluster.start_all()
        self.api = Api(self.cluster.gateway_url)
        self.manager = self.api.as_user(*MANAGER)

    def _db(self, service: str) -> str:
        return self.run.database_url(service).replace("postgresql+psycopg", "postgresql")

    def prepare(self, faults: list[Fault]) -> None:
        """Lots (one per phase), recipients and checked-in appointments, before any fault."""
        names = [("steady", "none"), *((f.name, f.kind) for f in faults), ("after", "none")]
        per_phase = self.settings.doses * 2 + 10_000  # never runs out, whatever the timing
        for name, kind in names:
            lot = self.manager.receive_lot(LOCATION, doses=per_phase, product_id=PRODUCT)
            self.phases.append(Phase(name, kind, lot, per_phase))
        # Enough for the doses and a long outage; more are registered as the run goes.
        wanted = int(self.settings.doses * 1.1 + self.settings.rate * 90)
        log(f"registering {wanted} recipients")
        self.recipients = self._register(wanted)
        self.appointments = self._book_and_check_in(max(10, self.settings.doses // 50))
        log(f"{len(self.appointments)} appointments booked and checked in")

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def _register(self, count: int) -> list[str]:
        return register_recipients(self, count, given_name="Chaos")

    def _book_and_check_in(self, count: int) -> list[tuple[str, str]]:
        manager = self.manager
        response = manager.request(
            "PUT",
            f"/locations/{LOCATION}/public-settings",
            json={
                "name": "Chaos clinic",
                "address": {"line1": "1 Main St", "city": "Atlanta", "state": "GA", "zip": "30303"},
                "products": [PRODUCT],
                "accepting_appointments": True,
                "published": True,
            },
        )
        assert response.status_code == 200, response.text
        per_slot, slots = 50, math.ceil(count / 50)
        on = (date.today() + timedelta(days=4)).isoformat()
        response = manager.post(
            f"/locations/{LOCATION}/clinic-days",
            json={
                "dates": [on],
                "product_id": PRODUCT,
                "opens": "09:00",
                "closes": f"{9 + slots // 4:02d}:{(slots % 4) * 15:02d}",
                "every_minutes": 15,
                "capacity": per_slot,
            },
        )
        assert response.status_code == 201, response.text
        day = manager.get(f"/locations/{LOCATION}/clinic-days/{response.json()[0]['id']}").json()
        # The day may exist already (the demo data's, capacity 10): book each slot's free seats.
        seats = [s["id"] for s in day["slots"] for _ in range(s["available"])]
        assert len(seats) >= count, f"{len(seats)} free seats on {on} for {count} appointments"
        booked = []
        for index in range(count):
            slot = {"id": seats[index]}
            answer = requests.post(
                f"{self.api.base}/public/appointments",
                json={
                    "slot_id": slot["id"],
                    "given_name": "Chaos",
                    "family_name": f"Booker-{uuid.uuid4().hex[:10]}",
                    "birth_date": "1961-03-04",
                    "phone": "404-555-0101",
                },
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            booked.append(answer.json()["confirmation_code"])
        listed = manager.get(f"/locations/{LOCATION}/appointments", params={"date": on}).json()
        by_code = {a["confirmation_code"]: a["id"] for a in listed}
        appointments = []
        for code in booked:
            recipient = self.recipients.pop()
            appointment = by_code[code]
            answer = manager.post(
                f"/locations/{LOCATION}/appointments/{appointment}/check-in",
                json={"recipient_id": recipient},
            )
            assert answer.status_code == 200, answer.text
            appointments.append((appointment, recipient))
        return appointments

    # -- the load ----------------------------------------------------------------------------------
    def _send(self, dose: Dose) -> None:
        """Record one dose as a real client does: until it is accepted, resend the same record id
        after a 503 (waiting its Retry-After), a 502, a 500, a timeout or a dropped connection."""
        body = {
            "id": dose.id,
            "recipient_id": dose.recipient,
            "location_id": LOCATION,
            "lot_id": dose.phase.lot["id"],
            "dose_number": 1,
            "administered_at": datetime.now(UTC).isoformat(),
        }
        url = f"{self.api.base}/administrations"
        attempt = 0
        dose.first_sent = time.time()
        while time.time() - dose.first_sent < GIVE_UP_S and not self.abort.is_set():
            attempt += 1
            wait = min(2.0, 0.2 * 2 ** (attempt - 1))
            try:
                response = self._session().post(
                    url, json=body, headers=self.manager.headers, timeout=15
                )
            except requests.Timeout:
                dose.answers["timeout"] += 1
                self.local.session = None
            except requests.ConnectionError:
                dose.answers["connection"] += 1
                self.local.session = None
            else:
                status = response.status_code
                dose.answers[status] += 1
                if status in (200, 201):
                    dose.accepted_status = status
                    return
                if status == 503:
                    retry_after = response.headers.get("Retry-After")
                    if retry_after is None:
                        dose.retry_after_missing += 1
                    else:
                        wait = min(float(retry_after), 5.0)
                elif status not in (500, 502):
                    dose.refused = True  # (4xx): counted against the phase, not retried
                    return
            self.abort.wait(wait)
        dose.gave_up = True

    def _dispatch(self) -> None:
        """Start one dose every 1/rate seconds, whatever the answers (an open loop)."""
        interval = 1.0 / self.settings.rate
        appointment_every = max(1, self.settings.doses // max(1, len(self.appointments)))
        appointments = list(self.appointments)
        with ThreadPoolExecutor(max_workers=self.settings.clients) as pool:
            next_at = time.monotonic()
            while not self.stop_load.is_set():
                with self.lock:
                    phase = self.phase
                    number = self.sent
                    self.sent += 1
                appointment = None
                if appointments and number % appointment_every == 0:
                    appointment, recipient = appointments.pop()
                else:
                    try:
                        recipient = self.recipients.pop()
                    except IndexError:  # the registrar fell behind: this client waits
                        self.starved += 1
                        self.stop_load.wait(0.1)
                        continue
                dose = Dose(str(uuid.uuid4()), phase, recipient, appointment)
                with self.lock:
                    phase.doses.append(dose)
                pool.submit(self._send, dose)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    self.stop_load.wait(delay)
                else:
                    next_at = time.monotonic()  # behind: do not burst to catch up

    def _top_up(self) -> None:
        """Keep a minute's worth of registered recipients ahead of the load (registering, like
        everything else, through the faults: a failed registration is simply tried again)."""
        while not self.stop_load.is_set():
            if len(self.recipients) < self.settings.rate * 60:
                with contextlib.suppress(Exception):
                    self.recipients[:0] = self._register(16)
            self.stop_load.wait(1.0)

    def _not_yet_taken(self) -> float | None:
        """When the earliest dose sent and not yet seen in the ledger was sent: its entry, once
        there, is dated after that (an entry may commit long after it is dated)."""
        with self.lock:
            times = [
                d.first_sent
                for p in self.phases
                for d in p.doses
                if d.first_sent is not None
                and d.id not in self.applied
                and not d.refused
                and not d.gave_up
            ]
        return min(times) if times else None

    def _watch(self) -> None:
        """Follow inventory's ledger: when each dose was taken from stock."""
        lots = [phase.lot["id"] for phase in self.phases]
        while not self.stop_watch.is_set():
            try:
                with psycopg.connect(self._db("inventory"), connect_timeout=3) as db:
                    while not self.stop_watch.is_set():
                        earliest = self._not_yet_taken()
                        if earliest is not None:
                            rows = db.execute(
                                "SELECT reference_id, recorded_at FROM ledger_entries "
                                "WHERE reason = 'administered' AND lot_id = ANY(%s) "
                                "AND recorded_at >= %s",
                                (lots, datetime.fromtimestamp(earliest - 1, UTC)),
                            ).fetchall()
                            with self.lock:
                                for reference, recorded in rows:
                                    self.applied.setdefault(reference, recorded.timestamp())
                        self.stop_watch.wait(0.25)
            except psycopg.Error:
                self.stop_watch.wait(0.5)

    def lag_ms(self, dose: Dose) -> float | None:
        taken = self.applied.get(dose.id)
        if taken is None or dose.first_sent is None:
            return None
        return (taken - dose.first_sent) * 1000

    def healed(self, phase: Phase) -> float | None:
        """When doses sent after the fault was over were taken from stock within `healed_ms` again:
        the first such dose whose window of consecutive doses (about a second's) has a median
        under it too (one slow dose on this shared machine does not mean unhealed)."""
        window = max(5, int(self.settings.rate))
        with self.lock:
            doses = [d for d in phase.doses if d.first_sent and d.first_sent >= phase.fault_over_at]
            lags = [self.lag_ms(d) for d in doses]
        for start in range(0, max(0, len(doses) - window + 1)):
            chunk = lags[start : start + window]
            if any(lag is None for lag in chunk):
                continue
            if chunk[0] < self.healed_ms and statistics.median(chunk) < self.healed_ms:
                return doses[start].first_sent
        return None

    def _calibrate(self, steady: Phase) -> None:
        """Healed means back under HEALED_MS, or, on a machine whose lag without any fault is
        already near it (a loaded CI runner), back under twice that steady lag: a fault has
        healed when the system is as it was before, not when it beats the machine."""
        with self.lock:
            lags = [lag for lag in (self.lag_ms(d) for d in steady.doses) if lag is not None]
        steady_ms = statistics.median(lags) if lags else 0.0
        self.healed_ms = max(HEALED_MS, 2 * steady_ms)
        if self.healed_ms > HEALED_MS:
            log(f"steady lag {steady_ms:.0f} ms: healed means under {self.healed_ms:.0f} ms here")

    # -- the faults --------------------------------------------------------------------------------
    def enter(self, phase: Phase) -> None:
        with self.lock:
            self.phase = phase
        phase.injected_at = time.time()

    def kill_process(self, name: str) -> None:
        with self.processes_lock:
            self.cluster.stop(name, kill=True)
            self.cluster.start(name)

    def _supervise(self) -> None:
        """Start again any process that exits by itself, as Kubernetes or compose would, and
        note it against the fault of the moment: a crash is a finding."""
        while not self.stop_watch.is_set():
            with self.processes_lock:
                for name, process in list(self.cluster.processes.items()):
                    if process.poll() is not None:
                        log(f"  {name} exited ({process.returncode}); starting it again")
                        with self.lock:
                            self.phase.crashed.append(name)
                        self.cluster.processes.pop(name)
                        self.cluster.start(name)
            self.stop_watch.wait(0.5)

    def kill_gateway_workers(self) -> None:
        master = self.cluster.processes["gateway"].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)

    def restart_broker(self) -> None:
        if self.rabbit is not None:
            self.rabbit.restart()
        else:
            self.mq_proxy.cut(10)

    def restart_database(self) -> None:
        if self.postgres is not None:
            self.postgres.restart()
        else:
            self.pg_proxy.cut(5)

    def run_fault(self, phase: Phase, fault: Fault) -> None:
        log(f"fault: {fault.name}")
        self.enter(phase)
        fault.action(self)
        phase.fault_over_at = time.time()
        deadline = time.monotonic() + self.settings.heal_timeout_s
        while time.monotonic() < deadline:
            phase.healed_at = self.healed(phase)
            if phase.healed_at is not None:
                break
            time.sleep(0.5)
        if phase.healed_at is None:
            log(f"  not healed within {self.settings.heal_timeout_s:.0f} s")
        else:
            log(f"  healed in {phase.healed_at - phase.injected_at:.1f} s")
        self._ready_again()
        time.sleep(self.settings.settle_s)
        # Spread the faults over the whole load: each fault's phase lasts at least its share of
        # the run (faults that heal in seconds would otherwise all be over in the first minutes).
        share = self.settings.doses / self.settings.rate / len(self.phases)
        remaining = phase.injected_at + share - time.time()
        if remaining > 0:
            time.sleep(remaining)

    def _ready_again(self) -> None:
        """Every process answers again (a restarted one may still be starting)."""
        urls = {
            **{name: f"http://127.0.0.1:{self.cluster.ports[name]}/ready" for name in SERVICES},
            **{
                f"{name}-relay": f"http://127.0.0.1:{self.cluster.ports[name + '-relay']}/metrics"
                for name in RELAYS
            },
            "gateway": f"{self.cluster.gateway_url}/ready",
        }
        # Not Cluster.wait_http: it gives up on a process that has exited, and the supervisor
        # may be starting that process again at this moment.
        deadline = time.monotonic() + 120
        for name, url in urls.items():
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready at {url}:\n{self.cluster.tail(name)}")
                time.sleep(0.2)

    # -- the run -----------------------------------------------------------------------------------
    def execute(self, faults: list[Fault]) -> dict:
        started = time.time()
        self.start_cvms()
        self.prepare(faults)
        watcher = threading.Thread(target=self._watch, daemon=True, name="ledger")
        watcher.start()
        threading.Thread(target=self._supervise, daemon=True, name="supervisor").start()
        steady, *fault_phases, after = self.phases
        self.enter(steady)
        steady.fault_over_at = steady.injected_at
        loader = threading.Thread(target=self._dispatch, daemon=True, name="load")
        loader.start()
        threading.Thread(target=self._top_up, daemon=True, name="registrar").start()
        log(f"recording doses at {self.settings.rate:g}/s")
        time.sleep(self.settings.warmup_s)
        self._calibrate(steady)
        steady.healed_at = self.healed(steady)
        for phase, fault in zip(fault_phases, faults, strict=True):
            self.run_fault(phase, fault)
        self.enter(after)
        after.fault_over_at = after.injected_at
        while self.sent < self.settings.doses:
            time.sleep(0.5)
        time.sleep(max(3.0, self.settings.warmup_s / 2))
        after.healed_at = self.healed(after)
        self.stop_load.set()
        loader.join()
        log(f"{self.sent} doses started; waiting for the last answers and the ledger")
        self._drain()
        self.stop_watch.set()
        watcher.join(timeout=10)
        report = self.check()
        report["seconds"] = round(time.time() - started, 1)
        report["healed_under_ms"] = round(self.healed_ms, 1)
        report["settings"] = {
            "doses": self.sent,
            "starved": self.starved,
            "rate_per_s": self.settings.rate,
            "servers": self.settings.servers,
            "gateway_workers": self.settings.gateway_workers,
        }
        return report

    def _drain(self) -> None:
        deadline = time.monotonic() + GIVE_UP_S + 60
        while time.monotonic() < deadline:
            with self.lock:
                pending = [d for p in self.phases for d in p.doses if not d.answered]
                accepted = [d for p in self.phases for d in p.doses if d.accepted_status]
                missing = [d for d in accepted if d.id not in self.applied]
            if not pending and not missing:
                return
            time.sleep(0.5)

    # -- the checks --------------------------------------------------------------------------------
    def check(self) -> dict:
        rows = [self._check_phase(phase) for phase in self.phases]
        letters = {}
        for service in SERVICES:
            found = dead_letters(service, self.direct_amqp)
            letters[service] = {
                "count": len(found),
                "without_reason": sum(1 for x in found if x.reason in ("", "?")),
                "reasons": dict(Counter(x.reason for x in found)),
            }
        ok = all(row["ok"] for row in rows) and all(
            v["without_reason"] == 0 for v in letters.values()
        )
        return {"ok": ok, "phases": rows, "dead_letters": letters}

    def _check_phase(self, phase: Phase) -> dict:
        doses = phase.doses
        accepted = [d for d in doses if d.accepted_status]
        accepted_ids = [d.id for d in accepted]
        lot = phase.lot["id"]
        with psycopg.connect(self._db("administration")) as db:
            recorded = {
                row[0]
                for row in db.execute(
                    "SELECT id FROM administrations WHERE lot_id = %s", (lot,)
                ).fetchall()
            }
        with psycopg.connect(self._db("inventory")) as db:
            ledger = Counter(
                row[0]
                for row in db.execute(
                    "SELECT reference_id FROM ledger_entries "
                    "WHERE lot_id = %s AND reason = 'administered'",
                    (lot,),
                ).fetchall()
            )
            (on_hand,) = db.execute(
                "SELECT doses_on_hand FROM lots WHERE id = %s", (lot,)
            ).fetchone()
            (discrepancies,) = db.execute(
                "SELECT count(*) FROM discrepancies WHERE lot_id = %s", (lot,)
            ).fetchone()
        follow_ups = self._follow_ups([d for d in accepted if d.appointment])
        answers = Counter()
        for dose in doses:
            answers.update(dose.answers)
        lags = sorted(x for x in (self.lag_ms(d) for d in accepted) if x is not None)
        in_administration = sum(1 for i in accepted_ids if i in recorded)
        once_in_ledger = sum(1 for i in accepted_ids if ledger.get(i) == 1)
        twice = sum(1 for count in ledger.values() if count > 1)
        reconciled = (
            on_hand == phase.received - len(recorded)
            and set(ledger) == recorded
            and discrepancies == 0
        )
        refused = sum(1 for d in doses if d.refused)
        gave_up = sum(1 for d in doses if d.gave_up)
        heal_s = None if phase.healed_at is None else phase.healed_at - phase.injected_at
        row = {
            "fault": phase.name,
            "kind": phase.kind,
            "doses": len(doses),
            "accepted": len(accepted),
            "gave_up": gave_up,
            "refused": refused,
            "in_administration": in_administration,
            "once_in_ledger": once_in_ledger,
            "twice_in_ledger": twice,
            "recorded_without_an_answer": len(recorded - set(accepted_ids)),
            "stock_reconciled": reconciled,
            "on_hand": on_hand,
            "expected_on_hand": phase.received - len(recorded),
            "follow_ups": follow_ups,
            "answers": {str(k): v for k, v in sorted(answers.items(), key=lambda kv: str(kv[0]))},
            "http_500": answers.get(500, 0),
            "http_503": answers.get(503, 0),
            "http_503_without_retry_after": sum(d.retry_after_missing for d in doses),
            "lag_p50_ms": round(statistics.median(lags), 1) if lags else None,
            "lag_max_ms": round(lags[-1], 1) if lags else None,
            "heal_s": None if heal_s is None else round(heal_s, 1),
            "fault_s": round(phase.fault_over_at - phase.injected_at, 1),
            "crashed": list(phase.crashed),
        }
        row["ok"] = (
            gave_up == 0
            and refused == 0
            and in_administration == len(accepted)
            and once_in_ledger == len(accepted)
            and twice == 0
            and reconciled
            and follow_ups["once"] == follow_ups["expected"]
            and row["http_500"] == 0
            and row["http_503_without_retry_after"] == 0
            and (phase.healed_at is not None or phase.kind == "none")
            and not phase.crashed
        )
        return row

    def _follow_ups(self, doses: list[Dose]) -> dict:
        """Each checked-in appointment whose dose was accepted: completed by that dose, with one
        `completed` in its history and one appointment_completed event."""
        if not doses:
            return {"expected": 0, "once": 0}
        ids = [d.appointment for d in doses]
        with psycopg.connect(self._db("scheduling")) as db:
            status = {
                a: (s, adm)
                for a, s, adm in db.execute(
                    "SELECT id, status, administration_id FROM appointments WHERE id = ANY(%s)",
                    (ids,),
                ).fetchall()
            }
            history = Counter(
                row[0]
                for row in db.execute(
                    "SELECT appointment_id FROM appointment_history "
                    "WHERE appointment_id = ANY(%s) AND action = 'completed'",
                    (ids,),
                ).fetchall()
            )
            events = Counter(
                row[0]
                for row in db.execute(
                    "SELECT body->'payload'->>'appointment_id' FROM outbox "
                    "WHERE event_type = 'appointment_completed' "
                    "AND body->'payload'->>'appointment_id' = ANY(%s)",
                    (ids,),
                ).fetchall()
            )
        once = sum(
            1
            for d in doses
            if status.get(d.appointment) == ("completed", d.id)
            and history[d.appointment] == 1
            and events[d.appointment] == 1
        )
        return {"expected": len(doses), "once": once}

    # -- tearing down ------------------------------------------------------------------------------
    def close(self) -> None:
        self.abort.set()
        self.stop_load.set()
        self.stop_watch.set()
        if self.cluster is not None:
            with self.processes_lock:
                self.cluster.stop_all()
            if os.environ.get("CVMS_TEST_KEEP_LOGS"):
                log(f"process logs kept in {self.cluster.logs}")
            else:
                self.cluster.cleanup()
        if self.run is not None:
            with contextlib.suppress(Exception):
                self.run.remove()
        self._stop_private()
        self.proxies.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_private(self) -> None:
        if self.rabbit is not None:
            self.rabbit.stop()
            self.rabbit = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None


@dataclass
class Fault:
    name: str
    kind: str
    action: Callable[[Chaos], None]


def faults(short: bool) -> list[Fault]:
    kill = "kill -9 and restart"
    if short:
        chosen = [
            Fault("kill -9 administration", kill, lambda c: c.kill_process("administration")),
            Fault(
                "kill -9 administration-relay",
                kill,
                lambda c: c.kill_process("administration-relay"),
            ),
            Fault("kill -9 gateway workers", kill, lambda c: c.kill_gateway_workers()),
        ]
    else:
        chosen = [
            *(
                Fault(f"kill -9 {name}", kill, lambda c, n=name: c.kill_process(n))
                for name in SERVICES
            ),
            *(
                Fault(f"kill -9 {name}-relay", kill, lambda c, n=name: c.kill_process(f"{n}-relay"))
                for name in RELAYS
            ),
            Fault("kill -9 gateway workers", kill, lambda c: c.kill_gateway_workers()),
        ]
    cut_s = 3.0 if short else 5.0
    delay_s = 5.0 if short else 10.0
    return [
        *chosen,
        Fault("restart RabbitMQ", "restart", lambda c: c.restart_broker()),
        Fault("restart PostgreSQL", "restart", lambda c: c.restart_database()),
        Fault(f"cut broker {cut_s:g} s", "cut", lambda c: c.mq_proxy.cut(cut_s)),
        Fault(f"cut database {cut_s:g} s", "cut", lambda c: c.pg_proxy.cut(cut_s)),
        Fault(
            f"delay broker 200 ms, {delay_s:g} s", "delay", lambda c: c.mq_proxy.delay(0.2, delay_s)
        ),
        Fault(
            f"delay database 50 ms, {delay_s:g} s",
            "delay",
            lambda c: c.pg_proxy.delay(0.05, delay_s),
        ),
    ]


def table(report: dict) -> str:
    header = (
        "| fault | doses | accepted | once in administration | once in ledger | stock reconciled "
        "| follow-ups once | 500 | 503 (all with Retry-After) | lag p50 / max ms | fault lasted "
        "| healed in | ok |"
    )
    lines = [header, "|" + " --- |" * 13]
    for row in report["phases"]:
        follow = row["follow_ups"]
        retry_after = "yes" if row["http_503_without_retry_after"] == 0 else "NO"
        healed = "-" if row["heal_s"] is None else f"{row['heal_s']:.1f} s"
        if row["kind"] == "none":
            healed = "(steady)" if row["heal_s"] is not None else "not steady"
        crashed = f" (exited by itself: {', '.join(row['crashed'])})" if row["crashed"] else ""
        lines.append(
            f"| {row['fault']}{crashed} | {row['doses']} | {row['accepted']} | "
            f"{row['in_administration']} | {row['once_in_ledger']} | "
            f"{'yes' if row['stock_reconciled'] else 'NO'} | "
            f"{follow['once']}/{follow['expected']} | {row['http_500']} | "
            f"{row['http_503']} ({retry_after}) | {row['lag_p50_ms']} / {row['lag_max_ms']} | "
            f"{'' if row['kind'] == 'none' else str(row['fault_s']) + ' s'} | "
            f"{healed} | {'ok' if row['ok'] else 'FAILED'} |"
        )
    letters = report["dead_letters"]
    lines.append("")
    within = report.get("healed_under_ms", HEALED_MS)
    lines.append(f"healed: doses reach inventory's ledger within {within:g} ms again")
    lines.append(
        "dead letters: "
        + ", ".join(
            f"{service} {v['count']} ({v['without_reason']} without a reason)"
            for service, v in letters.items()
        )
    )
    return "\n".join(lines)


def run(settings: Settings) -> dict:
    chaos = Chaos(settings)
    try:
        report = chaos.execute(faults(settings.short))
    finally:
        chaos.close()
    if settings.results is not None:
        settings.results.parent.mkdir(parents=True, exist_ok=True)
        settings.results.write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--short", action="store_true", help="a few hundred doses, one fault of each kind"
    )
    parser.add_argument("--doses", type=int, help="at least this many (default 10,000; 300 short)")
    parser.add_argument("--rate", type=float, help="doses per second (default 10; 5 short)")
    parser.add_argument("--servers", choices=("private", "shared"), default="private")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    settings = Settings(
        doses=args.doses or (300 if args.short else 10_000),
        rate=args.rate or (5.0 if args.short else 10.0),
        short=args.short,
        servers=args.servers,
        settle_s=2.0 if args.short else 3.0,
        warmup_s=5.0 if args.short else 10.0,
        heal_timeout_s=60.0 if args.short else 120.0,
        results=Path(args.results),
    )

    def interrupted(*_):
        raise KeyboardInterrupt  # `kill PID` tears down what the run started, as Ctrl-C does

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    report = run(settings)
    print(table(report))
    print(f"\n{'PASSED' if report['ok'] else 'FAILED'} in {report['seconds']:.0f} s")
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
