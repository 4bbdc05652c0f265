"""Pages through portal → gateway → services: what a person waits for.

    python -m bench.portal_pages [--vaccinators 20] [--duration 20]

1. Baseline: a bare Flask hello on gunicorn (the portal's server setup: gthread, same workers
   and threads) at the same number of connections, measured in the same run.
2. The dose-recording page as a vaccinator uses it all day: GET the form (recipient chosen,
   first-expiring lot preselected), POST it, follow the redirect to the recorded dose. Each of
   `--vaccinators` people has their own signed-in portal session. Measured twice: closed loop
   (as fast as the stack answers: capacity) and paced at one dose per vaccinator every
   `--every` seconds (a day far busier than any real clinic's), where page p99 must be under
   300 ms.
3. The public locator page (a ZIP code search) from as many anonymous browsers, closed loop.

For each, pages/s as a ratio to hello's req/s, p50/p99 per page, and the gateway API calls each
rendered page cost (the gateway's request counter before and after, divided by the pages;
target: at most 3). Results go to bench/results/portal_pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

from bench import baselines
from bench.loadgen import percentile
from bench.system import LOCATION, RunningSystem, register_recipients
from tests.harness import metric

VACCINATOR = ("clinic.vaccinator", "demo-vaccinator")
PORTAL_THREADS = int(os.environ.get("PORTAL_THREADS", "8"))  # as portal/gunicorn_conf.py
RESULTS = Path(__file__).resolve().parent / "results" / "portal_pages.json"
LOCATOR_PATH = "/find?zip=30303&radius=25"


class FormReader(HTMLParser):
    """The fields of the page's forms as a browser would submit them (inputs with their
    values, selects with their selected option, the first submit button left out)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"),
                               "fields": {}})  # fmt: skip
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            fields[a["name"]] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            fields[a["name"]] = ""
        elif tag == "select" and a.get("name"):
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.forms[-1]["fields"].setdefault(self._select, self._first_option or "")
            self._select = None


def form_with(html: str, field: str) -> dict:
    reader = FormReader()
    reader.feed(html)
    for form in reader.forms:
        if field in form["fields"]:
            return form
    raise AssertionError(f"no form with a {field!r} field on the page")


def signed_in_session(portal: str, username: str, password: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{portal}/sign-in", timeout=30)
    form = form_with(page.text, "csrf_token")
    answer = browser.post(
        f"{portal}/sign-in",
        data={**form["fields"], "username": username, "password": password},
        timeout=30,
    )
    assert answer.status_code == 200 and "/provider" in answer.url, answer.text[:500]
    return browser


def gateway_requests(system: RunningSystem) -> float:
    samples = system.cluster.metrics("gateway")
    return metric(samples, "cvms_http_requests_total")


class DoseFlows:
    """Vaccinators recording doses through the portal's pages."""

    def __init__(self, portal: str, recipients: list[str], vaccinators: int):
        self.portal = portal
        self.recipients = iter(recipients)
        self.lock = threading.Lock()
        self.browsers = [signed_in_session(portal, *VACCINATOR) for _ in range(vaccinators)]
        self.pages: list[float] = []
        self.flows: list[float] = []
        self.failures: list[str] = []

    def one(self, browser: requests.Session) -> None:
        with self.lock:
            recipient = next(self.recipients)
        base = f"{self.portal}/provider/locations/{LOCATION}/doses/new"
        started = time.perf_counter()
        page = browser.get(base, params={"recipient_id": recipient}, timeout=30)
        got_form = time.perf_counter()
        if page.status_code != 200:
            self.failures.append(f"GET form {page.status_code}")
            return
        form = form_with(page.text, "lot_id")
        posted = browser.post(
            urljoin(page.url, form["action"]) if form["action"] else page.url,
            data=form["fields"],
            allow_redirects=False,
            timeout=30,
        )
        post_done = time.perf_counter()
        if posted.status_code != 302:
            self.failures.append(f"POST {posted.status_code}: {_alert(posted.text)}")
            return
        shown = browser.get(urljoin(posted.url, posted.headers["Location"]), timeout=30)
        done = time.perf_counter()
        if shown.status_code != 200:
            self.failures.append(f"GET dose {shown.status_code}")
            return
        with self.lock:
            self.pages += [got_form - started, post_done - got_form, done - post_done]
            self.flows.append(done - started)

    def run(self, *, duration_s: float, every_s: float | None) -> dict:
        self.pages, self.flows, self.failures = [], [], []
        deadline = time.monotonic() + duration_s

        def vaccinator(browser: requests.Session, offset: float) -> None:
            next_at = time.monotonic() + offset
            while time.monotonic() < deadline:
                if every_s:
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    next_at += every_s
                    if time.monotonic() >= deadline:
                        break
                self.one(browser)

        threads = [
            threading.Thread(
                target=vaccinator, args=(b, (every_s or 0) * i / len(self.browsers)), daemon=True
            )
            for i, b in enumerate(self.browsers)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _figures(self.pages, time.perf_counter() - started, flows=self.flows,
                        failures=self.failures)  # fmt: skip


def locator_pages(portal: str, *, browsers: int, duration_s: float) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration_s

    def browse() -> None:
        session, own = requests.Session(), []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            page = session.get(f"{portal}{LOCATOR_PATH}", timeout=30)
            if page.status_code != 200:
                with lock:
                    failures.append(str(page.status_code))
                continue
            own.append(time.perf_counter() - started)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=browse, daemon=True) for _ in range(browsers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _figures(latencies, time.perf_counter() - started, failures=failures)


def _figures(latencies: list[float], elapsed: float, **extra) -> dict:
    ordered = sorted(latencies)
    flows = sorted(extra.pop("flows", []))
    failures = extra.pop("failures", [])
    figures = {
        "pages": len(ordered),
        "pages_per_s": len(ordered) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(ordered, 50) * 1e3,
        "p99_ms": percentile(ordered, 99) * 1e3,
        "max_ms": (ordered[-1] * 1e3) if ordered else 0.0,
        "failures": len(failures),
        "first_failures": failures[:5],
    }
    if flows:
        figures["flows"] = len(flows)
        figures["flow_p99_ms"] = percentile(flows, 99) * 1e3
    return figures


def _alert(html: str) -> str:
    found = re.search(r'usa-alert__text">([^<]*)', html)
    return found.group(1) if found else html[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vaccinators", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument(
        "--every", type=float, default=2.0, help="seconds between one vaccinator's doses (paced)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both apps)")
    args = parser.parse_args()

    print(f"measuring bare Flask hello at {args.vaccinators} connections ...", flush=True)
    hello = baselines.flask_hello(
        args.workers,
        args.duration / 2,
        connections=args.vaccinators,
        worker_class="gthread",
        threads=PORTAL_THREADS,
    )
    print(f"  hello: {hello['rps']:,.0f} req/s, p99 {hello['p99_ms']:.1f} ms", flush=True)

    print("starting CVMS and the portal ...", flush=True)
    with RunningSystem(gateway_workers=args.workers) as system:
        system.cluster.env["PORTAL_WORKERS"] = str(args.workers)
        portal = system.cluster.start_portal()
        system.manager.receive_lot(LOCATION, doses=1_000_000)
        # A first dose for a new person each time (a second "dose 1" breaks the series rules).
        wanted = int(args.duration * args.vaccinators * 4) + 100
        print(f"registering {wanted} recipients ...", flush=True)
        recipients = register_recipients(system, wanted)
        flows = DoseFlows(portal, recipients, args.vaccinators)
        flows.one(flows.browsers[0])  # warm up: first product and lot reads
        before = gateway_requests(system)
        capacity = flows.run(duration_s=args.duration, every_s=None)
        capacity["api_calls_per_page"] = (gateway_requests(system) - before) / max(
            1, capacity["pages"]
        )
        print(f"  dose pages, closed loop: {capacity}", flush=True)
        before = gateway_requests(system)
        paced = flows.run(duration_s=args.duration, every_s=args.every)
        paced["api_calls_per_page"] = (gateway_requests(system) - before) / max(1, paced["pages"])
        print(f"  dose pages, paced: {paced}", flush=True)
        before = gateway_requests(system)
        locator = locator_pages(portal, browsers=args.vaccinators, duration_s=args.duration)
        locator["api_calls_per_page"] = (gateway_requests(system) - before) / max(
            1, locator["pages"]
        )
        print(f"  locator pages: {locator}", flush=True)

    rows = [
        ("Flask hello (baseline)", hello["rps"], hello["p99_ms"], None),
        ("dose pages, closed loop", capacity["pages_per_s"], capacity["p99_ms"], capacity),
        (f"dose pages, paced (1 dose/{args.every:g} s each)", paced["pages_per_s"],
         paced["p99_ms"], paced),
        ("public locator page", locator["pages_per_s"], locator["p99_ms"], locator),
    ]  # fmt: skip
    print()
    print(f"{'figure':<44} {'pages/s':>9} {'of hello':>9} {'p99 ms':>8} {'API calls/page':>15}")
    for name, rate, p99, figures in rows:
        calls = f"{figures['api_calls_per_page']:.2f}" if figures else ""
        print(f"{name:<44} {rate:>9,.1f} {rate / hello['rps']:>9.3f} {p99:>8.1f} {calls:>15}")
    print("targets: at most 3 API calls per page; page p99 < 300 ms at the paced rate")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{os.cpu_count()} cores",
                "arguments": vars(args),
                "hello_baseline": hello,
                "dose_pages_closed_loop": capacity,
                "dose_pages_paced": paced,
                "locator_pages": locator,
                "run_id": uuid.uuid4().hex[:8],
            },
            indent=2,
        )
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
