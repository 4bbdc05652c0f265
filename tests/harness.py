"""Runs CVMS for the cross-service tests: every service, relay and the gateway as real
processes, on real PostgreSQL databases and a RabbitMQ vhost that belong to this run alone.

The machine's own PostgreSQL and RabbitMQ are used when they answer on loopback (or at
CVMS_TEST_POSTGRES_URL / CVMS_TEST_AMQP_URL); otherwise, on a machine with a Docker engine,
testcontainers starts them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import requests

from cvms_platform.testing import rabbitmqctl

BIN = Path(sys.executable).parent
# The nameko services, each with its own database and outbox, and so each with a relay. Adding a
# service here runs it in every test run.
SERVICES = (
    "inventory",
    "administration",
    "scheduling",
    "identity",
    "notifications",
    "marketplace",
    "helpdesk",
)
# Notifications publishes nothing (yet): no relay.
RELAYS = ("inventory", "administration", "scheduling", "identity", "marketplace", "helpdesk")
READY_TIMEOUT = 90.0


def wait_until(
    check: Callable[[], object],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
):
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last error
            last_error = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


@dataclass
class Infrastructure:
    postgres_url: str  # a server-level URL (database "postgres")
    amqp_url: str  # without a vhost
    redis_url: str
    local: bool  # True: the machine's own servers, isolated by vhost and database names
    containers: list = field(default_factory=list)

    @classmethod
    def find(cls) -> Infrastructure:
        postgres = os.environ.get(
            "CVMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        amqp = os.environ.get("CVMS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
        redis_url = os.environ.get("CVMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        pg, mq = urlsplit(postgres), urlsplit(amqp)
        if _answers(pg.hostname, pg.port or 5432) and _answers(mq.hostname, mq.port or 5672):
            return cls(postgres, amqp, redis_url, local=True)
        return cls._from_containers()

    @classmethod
    def _from_containers(cls) -> Infrastructure:
        try:
            from testcontainers.postgres import PostgresContainer
            from testcontainers.rabbitmq import RabbitMqContainer
            from testcontainers.redis import RedisContainer
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "no PostgreSQL/RabbitMQ on loopback and testcontainers is missing"
            ) from exc
        postgres = PostgresContainer("postgres:16", driver=None).start()
        rabbit = RabbitMqContainer("rabbitmq:3.13").start()
        redis_container = RedisContainer("redis:7").start()
        pg_url = postgres.get_connection_url().replace("/test", "/postgres")
        params = rabbit.get_connection_params()
        amqp = f"amqp://guest:guest@{params.host}:{params.port}"
        redis_url = (
            f"redis://{redis_container.get_container_host_ip()}:"
            f"{redis_container.get_exposed_port(6379)}/0"
        )
        return cls(
            pg_url, amqp, redis_url, local=False, containers=[postgres, rabbit, redis_container]
        )

    def stop(self) -> None:
        for container in self.containers:
            container.stop()


class TestRun:
    """The databases and vhost of one test run, removed afterwards."""

    __test__ = False  # not a pytest test class

    def __init__(self, infra: Infrastructure):
        self.infra = infra
        self.run_id = "t" + secrets.token_hex(4)
        self.vhost = f"cvms-{self.run_id}" if infra.local else "/"
        self.databases = {name: f"cvms_{self.run_id}_{name}" for name in SERVICES}

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.infra.postgres_url)
        return parts._replace(scheme="postgresql+psycopg", path=f"/{self.databases[name]}").geturl()

    @property
    def amqp_uri(self) -> str:
        return f"{self.infra.amqp_url}/{quote(self.vhost, safe='')}"

    def create(self) -> None:
        with psycopg.connect(self.infra.postgres_url, autocommit=True) as connection:
            for database in self.databases.values():
                connection.execute(f'CREATE DATABASE "{database}"')
        if self.infra.local:
            rabbitmqctl("add_vhost", self.vhost)
            rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

    def remove(self) -> None:
        with psycopg.connect(self.infra.postgres_url, autocommit=True) as connection:
            for database in self.databases.values():
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if self.infra.local:
            rabbitmqctl("delete_vhost", self.vhost)


class Cluster:
    """The CVMS processes of one run; each can be stopped and started again by name."""

    def __init__(self, run: TestRun):
        self.run = run
        self.logs = Path(tempfile.mkdtemp(prefix=f"cvms-{run.run_id}-"))
        self.ports = {
            **{name: free_port() for name in SERVICES},
            **{f"{name}-relay": free_port() for name in RELAYS},
            "gateway": free_port(),
            "portal": free_port(),
            "mailcatcher": free_port(),
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.replicas: dict[str, str] = {}  # "scheduling-2" -> "scheduling"
        self.env = {
            **os.environ,
            "AMQP_URI": run.amqp_uri,
            "REDIS_URL": run.infra.redis_url,
            "CVMS_DATA_DIR": str(self.logs / "data"),
            "CVMS_JWT_SECRET": secrets.token_urlsafe(32),
            "CVMS_RELAY_UNROUTABLE_GRACE": "60",
            # The gateway's Redis keys (revoked tokens, sign-in failures, rate-limit counters)
            # belong to this run. Limits stay on, so every request pays for them as in
            # production, but high enough that tests and the bench (one user, one address)
            # never meet them; tokens outlive a long bench run.
            "CVMS_REDIS_PREFIX": f"cvms-{run.run_id}:gateway",
            "CVMS_RATE_LIMIT": os.environ.get("CVMS_RATE_LIMIT", "1000000/minute"),
            "CVMS_AUTH_RATE_LIMIT": os.environ.get("CVMS_AUTH_RATE_LIMIT", "1000/minute"),
            # Public self-scheduling's per-address limit: the booking rush comes from one address.
            "CVMS_BOOKING_RATE_LIMIT": os.environ.get("CVMS_BOOKING_RATE_LIMIT", "1000000/minute"),
            # The public routes' other limits: tests poll one code many times a second and
            # look up unknown codes on purpose (tests/test_shared_address.py runs the defaults).
            **{
                name: os.environ.get(name, "1000000/minute")
                for name in (
                    "CVMS_LOCATOR_RATE_LIMIT",
                    "CVMS_CODE_RATE_LIMIT",
                    "CVMS_CODE_MISS_LIMIT",
                    "CVMS_PERSON_RATE_LIMIT",
                    "CVMS_SLOT_RATE_LIMIT",
                )
            },
            "CVMS_TOKEN_TTL_SECONDS": "3600",
            # Five services, their relays, replicas and the tests share one PostgreSQL (100
            # connections by default): each service keeps 2 open between bursts, not 20.
            "CVMS_DB_POOL_KEEP": "2",
            # The timers that tests wait for (open vials wasted, offers expired) look every 2 s.
            "CVMS_OPEN_VIAL_SWEEP_SECONDS": "2",
            "CVMS_OFFER_EXPIRY_SWEEP_SECONDS": "2",
            "CVMS_MARKETPLACE_SWEEP_SECONDS": "2",
            "GATEWAY_BIND": f"127.0.0.1:{self.ports['gateway']}",
            "GATEWAY_WORKERS": "2",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore",
        }
        for name in SERVICES:
            self.env[f"{name.upper()}_DATABASE_URL"] = run.database_url(name)
        for name in SERVICES:
            self.env[f"{name.upper()}_HTTP_ADDRESS"] = f"127.0.0.1:{self.ports[name]}"
        self.gateway_url = f"http://127.0.0.1:{self.ports['gateway']}"
        # E-mail goes to this run's development mail catcher, which keeps each message here.
        self.mail_dir = self.logs / "mail"
        self.env["CVMS_SMTP_HOST"] = "127.0.0.1"
        self.env["CVMS_SMTP_PORT"] = str(self.ports["mailcatcher"])
        self.env["CVMS_MAIL_DIR"] = str(self.mail_dir)
        # The portal shows that folder as its development mailbox (/mailbox), as under make run.
        self.env["CVMS_DEVELOPMENT"] = "1"
        # The web portal: started only by the tests that use it (tests/browser).
        self.env["CVMS_GATEWAY_URL"] = self.gateway_url
        # The portal passes the browser's address on; the gateway believes it from loopback.
        self.env["CVMS_TRUSTED_PROXIES"] = "127.0.0.1"
        self.env["PORTAL_BIND"] = f"127.0.0.1:{self.ports['portal']}"
        self.env["PORTAL_WORKERS"] = "2"
        self.env["PORTAL_LOG_LEVEL"] = "WARNING"
        self.env["CVMS_PORTAL_REDIS_PREFIX"] = f"cvms-{run.run_id}:portal"
        self.portal_url = f"http://127.0.0.1:{self.ports['portal']}"

    def commands(self) -> dict[str, list[str]]:
        return {
            **{name: [str(BIN / "cvms-service"), name] for name in SERVICES},
            **{name: [str(BIN / "cvms-service"), of] for name, of in self.replicas.items()},
            **{
                f"{name}-relay": [
                    str(BIN / "cvms-relay"),
                    name,
                    "--metrics-port",
                    str(self.ports[f"{name}-relay"]),
                ]
                for name in RELAYS
            },
            "mailcatcher": [
                str(BIN / "cvms-mailcatcher"),
                "--port",
                str(self.ports["mailcatcher"]),
                "--dir",
                str(self.mail_dir),
            ],
            "gateway": [
                str(BIN / "gunicorn"),
                "-c",
                "python:gateway.gunicorn_conf",
                "gateway.wsgi:app",
            ],
            "portal": [
                str(BIN / "gunicorn"),
                "-c",
                "python:portal.gunicorn_conf",
                "portal.wsgi:app",
            ],
        }

    def migrate(self) -> None:
        subprocess.run(
            [str(BIN / "cvms-migrate"), *SERVICES, "--demo"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, name: str, **extra_env: str) -> subprocess.Popen:
        assert name not in self.processes, f"{name} is running already"
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process
        process = subprocess.Popen(
            self.commands()[name],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def stop(self, name: str, *, kill: bool = False) -> int:
        process = self.processes.pop(name)
        if process.poll() is None:
            # Each process leads its own session: signal its group (gunicorn has workers).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        return process.returncode

    def start_all(self) -> None:
        self.start("mailcatcher")
        for name in SERVICES:
            self.start(name)
        for name in SERVICES:
            self.wait_http(f"http://127.0.0.1:{self.ports[name]}/ready", name)
        self.start("gateway")
        self.wait_http(f"{self.gateway_url}/ready", "gateway")
        # Consumers declare their queues as they start; relays come after so nothing they
        # publish finds no queue.
        for name in RELAYS:
            self.start(f"{name}-relay")
        for name in (f"{name}-relay" for name in RELAYS):
            self.wait_http(f"http://127.0.0.1:{self.ports[name]}/metrics", name)

    def start_portal(self) -> str:
        """The web portal, in front of this run's gateway; its URL."""
        if "portal" not in self.processes:
            self.start("portal")
            self.wait_http(f"{self.portal_url}/ready", "portal")
        return self.portal_url

    def start_replica(self, service: str) -> str:
        """One more instance of `service`, as deployed (deploy/k8s runs two of each): the
        instances share its RPC queue and its event queues, each with its own health port."""
        name = f"{service}-{sum(of == service for of in self.replicas.values()) + 2}"
        self.replicas[name] = service
        self.ports[name] = free_port()
        self.start(name, **{f"{service.upper()}_HTTP_ADDRESS": f"127.0.0.1:{self.ports[name]}"})
        self.wait_http(f"http://127.0.0.1:{self.ports[name]}/ready", name)
        return name

    def wait_http(self, url: str, name: str, timeout: float = READY_TIMEOUT) -> None:
        def ready():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {self.tail(name)}")
            return requests.get(url, timeout=2).status_code == 200

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready at {url} within {timeout}s:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def metrics(self, name: str) -> dict[str, float]:
        """The process's Prometheus samples, keyed by `name{labels}` as exposed."""
        text = requests.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=5).text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def cleanup(self) -> None:
        if os.environ.get("CVMS_TEST_KEEP_LOGS"):
            print(f"process logs kept in {self.logs}")
            return
        shutil.rmtree(self.logs, ignore_errors=True)


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        metric_name, _, rest = key.partition("{")
        if metric_name != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


class Api:
    """A client of the gateway, as a partner system or front end would use it."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = requests.Session()

    def token(self, username: str, password: str) -> str:
        response = self.http.post(
            f"{self.base}/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def as_user(self, username: str, password: str) -> AuthorizedApi:
        return AuthorizedApi(self, self.token(username, password))


class AuthorizedApi:
    def __init__(self, api: Api, token: str):
        self.api = api
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.api.http.request(
            method, f"{self.api.base}{path}", headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    # The first flow's steps, for tests that need them as set-up.
    def receive_lot(
        self, location_id: str, doses: int, product_id: str = "pfizer-gray-12plus"
    ) -> dict:
        response = self.post(
            f"/locations/{location_id}/lots",
            json={
                "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
                "product_id": product_id,
                "lot_number": f"LOT-{uuid.uuid4().hex[:6].upper()}",
                "expiration_date": "2030-12-31",
                "doses": doses,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    def register_recipient(self) -> dict:
        response = self.post(
            "/recipients",
            json={
                "given_name": "Test",
                "family_name": f"Recipient-{uuid.uuid4().hex[:6]}",
                "birth_date": "1970-05-17",
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    def administer(
        self, location: str, lot: str, recipient: str, headers: dict | None = None, **overrides
    ) -> requests.Response:
        """Record a dose; `overrides` replace fields of the body (e.g. lot_id=...)."""
        body = {
            "id": str(uuid.uuid4()),
            "recipient_id": recipient,
            "location_id": location,
            "lot_id": lot,
            "administered_at": "2026-01-15T10:30:00Z",
            **overrides,
        }
        return self.post("/administrations", headers=headers or {}, json=body)

    def doses_on_hand(self, location_id: str, lot_id: str) -> int:
        response = self.get(f"/locations/{location_id}/inventory")
        assert response.status_code == 200, response.text
        return next(lot["doses_on_hand"] for lot in response.json()["lots"] if lot["id"] == lot_id)
