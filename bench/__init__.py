"""Benchmarks of CVMS (`python -m bench`, and the scripts beside it); what they share."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path("bench/results")


def save_results(results: dict, filename: str) -> None:
    """Write a run's figures to bench/results/`filename` (JSON), and say where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / filename
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures saved to {path}")
