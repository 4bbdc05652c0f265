"""Limits per address with the production defaults, through the whole system: many people
behind one address (a carrier's NAT, a library, the portal's server) book, look their booking
up and search the locator, and are never refused for sharing it; one client guessing codes is
stopped; X-Forwarded-For is believed from the portal's address only.

The session's gateway runs with limits too high to meet (tests/harness.py); these tests start
one more gateway on the same services with every limit at its default and the portal's address
(127.0.0.1) trusted. Other clients come from other loopback addresses (127.0.0.0/8 is all
loopback on Linux), which the gateway does not trust.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from gateway.settings import LIMIT_VARIABLES, Settings
from tests.harness import free_port
from tests.test_scheduling import clinic_day, publish

PORTAL = "127.0.0.1"  # where the portal runs: the one hop the gateway trusts
CARRIER = "127.0.0.2"  # one address, two hundred people behind it
GUESSER = "127.0.0.3"
NEIGHBOUR = "127.0.0.4"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
DEFAULTS = Settings(amqp_uri="", redis_url="", jwt_secret="")
MISSES = int(DEFAULTS.code_miss_limit.split("/")[0])


class FromAddress(HTTPAdapter):
    """Connections from a given source address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_maxsize=4)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture(scope="module")
def gateway(cluster) -> str:
    """Another gateway on this run's services: the production defaults, the portal trusted."""
    port = free_port()
    env = {name: value for name, value in cluster.env.items() if name not in LIMIT_VARIABLES}
    env |= {
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "CVMS_REDIS_PREFIX": f"{cluster.env['CVMS_REDIS_PREFIX']}-defaults-{uuid.uuid4().hex[:8]}",
        "CVMS_TRUSTED_PROXIES": PORTAL,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(cluster.logs / "gateway-defaults.log", "ab") as log:
        process = subprocess.Popen(
            cluster.commands()["gateway"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, cluster.tail("gateway-defaults")
            try:
                if requests.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, cluster.tail("gateway-defaults")
            time.sleep(0.1)
        yield f"{url}/api/v1/public"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def clinic(admin, location) -> list[str]:
    """A published location with a clinic day of 4 slots of 25 seats: 100 seats."""
    publish(admin, location)
    day = clinic_day(admin, location, capacity=25, slots=4)
    return [slot["id"] for slot in day["slots"]]


def person(n: int, slot_id: str, run: str) -> dict:
    return {
        "slot_id": slot_id,
        "given_name": f"Person {n}",
        "family_name": f"Neighbour-{run}-{n}",
        "birth_date": "1980-01-01",
        "phone": "404-555-0101",
    }


def until_admitted(send) -> requests.Response:
    """A 503 `overloaded` is the gateway's overload guard: come back after Retry-After (a
    tenth of it, as bench/booking_rush.py does), for at most 30 seconds."""
    deadline = time.monotonic() + 30
    while True:
        response = send()
        if response.status_code != 503 or time.monotonic() >= deadline:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")) / 10)


def test_two_hundred_people_behind_one_address_get_a_seat_or_a_clean_full(gateway, clinic):
    run = uuid.uuid4().hex[:8]
    local = threading.local()

    def book(n: int) -> requests.Response:
        if not hasattr(local, "http"):
            local.http = client_at(CARRIER)
        body = person(n, clinic[n % len(clinic)], run)
        return until_admitted(
            lambda: local.http.post(f"{gateway}/appointments", json=body, timeout=30)
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(book, range(200)))
    elapsed = time.monotonic() - started

    statuses = Counter(a.status_code for a in answers)
    refusals = Counter(a.json()["error"] for a in answers if a.status_code == 409)
    assert elapsed < 60, f"the 200 bookings took {elapsed:.0f} s: not a rush within a minute"
    assert statuses == {201: 100, 409: 100}, statuses
    assert refusals == {"slot_full": 100}
    # then each of them looks their booking up, and the locator still answers this address
    carrier = client_at(CARRIER)
    codes = [a.json()["confirmation_code"] for a in answers if a.status_code == 201]
    looked = Counter(
        until_admitted(
            lambda c=code: carrier.get(f"{gateway}/appointments/{c}", timeout=30)
        ).status_code
        for code in codes
    )
    assert looked == {200: 100}
    found = carrier.get(f"{gateway}/locations", params={"zip": "10001"}, timeout=30)
    assert found.status_code == 200, found.text


def test_one_client_guessing_codes_is_stopped_and_nobody_else(gateway, clinic):
    neighbour = client_at(NEIGHBOUR)
    booked = until_admitted(
        lambda: neighbour.post(
            f"{gateway}/appointments", json=person(1, clinic[0], uuid.uuid4().hex[:8]), timeout=30
        )
    )
    assert booked.status_code == 201, booked.text
    code = booked.json()["confirmation_code"]

    guesser = client_at(GUESSER)
    statuses = []
    for _ in range(MISSES + 5):  # bounded: stopped at the limit, or the test fails
        guess = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        answer = until_admitted(lambda g=guess: guesser.get(f"{gateway}/appointments/{g}"))
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses == [404] * MISSES + [429], Counter(statuses)
    assert int(answer.headers["Retry-After"]) > 60
    # stopped whatever it claims to be: its own X-Forwarded-For is not believed
    forged = guesser.get(
        f"{gateway}/appointments/{code}", headers={"X-Forwarded-For": "203.0.113.50"}
    )
    assert forged.status_code == 429

    # the code's holder looks it up, from their own address or through the portal
    assert neighbour.get(f"{gateway}/appointments/{code}").status_code == 200
    portal = client_at(PORTAL)
    browser = {"X-Forwarded-For": "203.0.113.50"}  # the portal names the browser: believed
    assert portal.get(f"{gateway}/appointments/{code}", headers=browser).status_code == 200
    # and a browser at the guesser's address, named by the portal, is the guesser
    as_guesser = portal.get(f"{gateway}/appointments/{code}", headers={"X-Forwarded-For": GUESSER})
    assert as_guesser.status_code == 429
