"""The short chaos run (bench/chaos.py, `make chaos CHAOS_ARGS=--short`): a few hundred doses
through the gateway while one fault of each kind comes in turn (kill -9 of a service, a relay and
the gateway's workers; RabbitMQ and PostgreSQL restarted; the broker's and the database's
connections cut and delayed), then the end checks, per fault.

The program runs as its own process, as `make chaos` runs it: this test process is green
(eventlet's monkey patching, for the nameko unit tests), and the chaos program's TCP proxies and
clients, sharing one OS thread here, would measure the test runner instead of CVMS."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
BUDGET_S = 900  # the short run takes 2-3 minutes; a hung run must not hold CI for long


def _run_chaos(results: Path) -> tuple[int, str]:
    program = subprocess.Popen(
        [sys.executable, "-m", "bench.chaos", "--short", "--results", str(results)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = program.communicate(timeout=BUDGET_S)
    except subprocess.TimeoutExpired:
        program.send_signal(signal.SIGTERM)  # it tears down its servers and CVMS on SIGTERM
        output, _ = program.communicate(timeout=120)
        raise AssertionError(f"the short chaos run took over {BUDGET_S} s:\n{output}") from None
    return program.returncode, output


def test_short_chaos_loses_nothing_counts_nothing_twice_and_heals(tmp_path):
    results = tmp_path / "chaos.json"
    returncode, output = _run_chaos(results)
    assert results.exists(), output
    report = json.loads(results.read_text())
    rows = {row["fault"]: row for row in report["phases"]}
    kinds = {row["kind"] for row in report["phases"]}
    assert {"kill -9 and restart", "restart", "cut", "delay"} <= kinds, output
    for row in rows.values():
        assert row["accepted"] == row["doses"] > 0, output
        assert row["in_administration"] == row["once_in_ledger"] == row["accepted"], output
        assert row["twice_in_ledger"] == 0, output
        assert row["stock_reconciled"], output
        assert row["follow_ups"]["once"] == row["follow_ups"]["expected"], output
        assert row["http_500"] == 0, output
        assert row["http_503_without_retry_after"] == 0, output
        if row["kind"] != "none":
            assert row["heal_s"] is not None, f"{row['fault']} never healed\n{output}"
    assert sum(row["follow_ups"]["expected"] for row in rows.values()) > 0, output
    assert all(v["without_reason"] == 0 for v in report["dead_letters"].values()), output
    assert report["ok"] and returncode == 0, output
