"""The short chaos run (bench/chaos.py, `make chaos CHAOS_ARGS=--short`): a few hundred doses
through the gateway while one fault of each kind comes in turn (kill -9 of a service, a relay and
the gateway's workers; RabbitMQ and PostgreSQL restarted; the broker's and the database's
connections cut and delayed), then the end checks, per fault."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: bench/
from bench import chaos  # noqa: E402

sys.path.pop(0)


def test_short_chaos_loses_nothing_counts_nothing_twice_and_heals(tmp_path):
    settings = chaos.Settings(
        doses=300,
        rate=5.0,
        short=True,
        settle_s=2.0,
        warmup_s=5.0,
        results=tmp_path / "chaos.json",
    )
    report = chaos.run(settings)
    summary = chaos.table(report)
    rows = {row["fault"]: row for row in report["phases"]}
    kinds = {row["kind"] for row in report["phases"]}
    assert {"kill -9 and restart", "restart", "cut", "delay"} <= kinds, summary
    for row in rows.values():
        assert row["accepted"] == row["doses"] > 0, summary
        assert row["in_administration"] == row["once_in_ledger"] == row["accepted"], summary
        assert row["twice_in_ledger"] == 0, summary
        assert row["stock_reconciled"], summary
        assert row["follow_ups"]["once"] == row["follow_ups"]["expected"], summary
        assert row["http_500"] == 0, summary
        assert row["http_503_without_retry_after"] == 0, summary
        if row["kind"] != "none":
            assert row["heal_s"] is not None, f"{row['fault']} never healed\n{summary}"
    assert sum(row["follow_ups"]["expected"] for row in rows.values()) > 0, summary
    assert all(v["without_reason"] == 0 for v in report["dead_letters"].values()), summary
    assert report["ok"], summary
