"""Dashboards and alerts: the rules pass `promtool check` and their unit tests, the Grafana
dashboards are what deploy/grafana/generate.py writes, and a real Prometheus scraping the
running CVMS sees every target up, loads the rules, and answers every dashboard query.

promtool and prometheus come from Debian's `prometheus` package (`make install` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.harness import RELAYS, SERVICES, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
MISSING = "not installed: apt-get install prometheus (make install does)"

sys.path.insert(0, str(GRAFANA_DIR))
import generate as dashboards  # noqa: E402 - deploy/grafana/generate.py

sys.path.pop(0)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} {MISSING}"
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_alert_rules_pass_promtool_check():
    result = _run(_tool("promtool"), "check", "rules", str(PROMETHEUS_DIR / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_unit_tests_pass():
    result = _run(_tool("promtool"), "test", "rules", str(PROMETHEUS_DIR / "alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployed_prometheus_config_is_valid():
    result = _run(_tool("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the document's headings."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_every_alert_has_a_runbook_entry_and_is_unit_tested():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text())
    runbook = _anchors((ROOT / "docs" / "operations.md").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}
    fires = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule["alert"]
            assert name in fires, f"{name}: no unit test in alerts.test.yml sees it fire"
            assert name in tested
            anchor = rule["annotations"]["runbook"].split("#", 1)[1]
            assert anchor in runbook, f"{name}: docs/operations.md has no section #{anchor}"


def test_dashboards_are_the_generated_ones():
    result = _run(sys.executable, str(GRAFANA_DIR / "generate.py"), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in (GRAFANA_DIR / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        assert board["uid"] and board["panels"], path
        ids = [item["id"] for item in board["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (cvms_*, process_*, up, ALERTS)."""
    names = set(re.findall(r"\b(cvms_[a-z_]+|process_[a-z_]+)\b", expr))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def test_dashboards_and_alerts_only_read_metrics_that_exist():
    from prometheus_client import REGISTRY

    from cvms_platform import metrics as platform_metrics  # noqa: F401 - registers them
    from gateway import admission, full_slots, observability  # noqa: F401
    from helpdesk import cases  # noqa: F401 - its service-level breaches
    from notifications import delivery  # noqa: F401 - its messages and oldest-unsent age

    exposed = {family.name for family in REGISTRY.collect()}
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    queries = [expr for _, _, expr in dashboards.expressions()]
    queries += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for expr in queries:
        for name in _metric_names(expr):
            assert name in exposed or name.removesuffix("_total") in exposed, (
                f"{name} (in {expr!r}) is not a metric any CVMS process exposes"
            )


@pytest.fixture
def prometheus(cluster):
    """A real Prometheus scraping this run's gateway, services and relays every second, with
    the deployed alert rules; its base URL."""
    directory = Path(tempfile.mkdtemp(prefix="cvms-prometheus-"))
    port = free_port()
    shutil.copy(PROMETHEUS_DIR / "alerts.yml", directory / "alerts.yml")

    def targets(names):
        return [
            {"targets": [f"127.0.0.1:{cluster.ports[name]}"], "labels": {"service": label}}
            for name, label in names
        ]

    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "cvms-gateway",
                "static_configs": targets([("gateway", "gateway")]),
            },
            {
                "job_name": "cvms-services",
                "static_configs": targets([(name, name) for name in SERVICES]),
            },
            {
                "job_name": "cvms-relays",
                "static_configs": targets([(f"{name}-relay", name) for name in RELAYS]),
            },
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = open(directory / "prometheus.log", "wb")  # noqa: SIM115 - the process writes to it
    process = subprocess.Popen(
        [
            _tool("prometheus"),
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{url}/-/ready", timeout=2).status_code == 200,
            timeout=60,
            interval=0.2,
            what=f"Prometheus ready ({(directory / 'prometheus.log').read_text()[-2000:]})",
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_prometheus_scrapes_every_target_and_answers_every_dashboard_query(cluster, prometheus):
    expected = 1 + len(SERVICES) + len(RELAYS)

    def all_up():
        active = requests.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"][
            "activeTargets"
        ]
        return len(active) == expected and all(t["health"] == "up" for t in active) and active

    started = time.monotonic()
    active = wait_until(all_up, timeout=60, interval=0.5, what="every target up")
    assert {t["labels"]["job"] for t in active} == {"cvms-gateway", "cvms-services", "cvms-relays"}
    assert time.monotonic() - started < 60

    def rules_loaded():
        groups = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        evaluated = all(rule.get("lastEvaluation", "").startswith("20") for rule in rules)
        return rules if rules and evaluated else None

    rules = wait_until(rules_loaded, timeout=30, interval=0.5, what="alert rules evaluated")
    assert all(rule["health"] == "ok" for rule in rules), [
        (rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"
    ]
    # Nothing is down: the availability alerts are quiet.
    firing = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    assert not [a for a in firing if a["labels"]["alertname"].startswith("CvmsTarget")]

    # The platform's figures arrive from every process that exposes them.
    def series(query):
        answer = requests.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]["result"]

    assert len(series('up{job=~"cvms-.*"} == 1')) == expected
    wait_until(
        lambda: len(series("cvms_outbox_oldest_unsent_age_seconds")) >= len(RELAYS),
        timeout=30,
        what="outbox age from every relay",
    )
    assert len(series("cvms_workers_max")) == len(SERVICES)
    assert series("cvms_http_threads")

    # Every dashboard query is valid PromQL over these series.
    for board, title, expr in dashboards.expressions():
        answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5)
        assert answer.status_code == 200 and answer.json()["status"] == "success", (
            f"{board} / {title}: {expr}: {answer.text}"
        )
