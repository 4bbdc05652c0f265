"""`make bench`: bare baselines and the system's figures in one run, each system figure as a
ratio to the baseline it stands on.

    python -m bench [--duration 10] [--dose-rate 300] [--gateway-workers 2]
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime

from bench import baselines, loadgen, save_results, system

TARGETS = {
    "inventory read / Flask hello": 0.15,
    "dose pipeline doses/s": 300,
    "dose pipeline p99 lag ms": 100,
}


def _latency(figures: dict) -> str:
    return (
        f"{figures['rps']:,.0f} req/s p50 {figures['p50_ms']:.1f} ms p99 {figures['p99_ms']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load phase")
    parser.add_argument("--dose-rate", type=float, default=300.0, help="doses/s to offer")
    parser.add_argument("--gateway-workers", type=int, default=2)
    args = parser.parse_args()
    workers = args.gateway_workers
    generator = "wrk" if loadgen.have_wrk() else "Python (install wrk for better figures)"
    print(f"load generator: {generator}")

    print("measuring baselines ...", flush=True)
    base = baselines.run_all(duration_s=args.duration, gateway_workers=workers)

    print("starting CVMS and measuring it ...", flush=True)
    with system.RunningSystem(gateway_workers=workers) as cvms:
        cached = system.inventory_reads(cvms, duration_s=args.duration)
        doses = system.dose_pipeline(cvms, rate_per_s=args.dose_rate, duration_s=args.duration * 2)
        # At the target rate the figures show capacity; lag is measured again at half of it.
        steady_rate = max(10.0, round(doses["doses_per_s"] / 2))
        steady = system.dose_pipeline(cvms, rate_per_s=steady_rate, duration_s=args.duration * 2)
        cvms.restart_gateway(CVMS_INVENTORY_CACHE_MS="0")
        uncached = system.inventory_reads(cvms, duration_s=args.duration)

    hello = base["flask_hello"]["rps"]
    rpc = base["nameko_rpc"]["multi_client_per_s"]
    publish = base["rabbitmq_pika"]["publish_per_s"]
    rows = [
        ("Flask hello (baseline)", f"{hello:,.0f} req/s", "1.00", ""),
        ("PostgreSQL pgbench (baseline)", f"{base['postgres']['tps']:,.0f} tps", "", ""),
        ("pika confirmed publish (baseline)", f"{publish:,.0f} msg/s", "", ""),
        (
            "pika consume with acks (baseline)",
            f"{base['rabbitmq_pika']['consume_per_s']:,.0f} msg/s",
            "",
            "",
        ),
        ("nameko RPC, 8 clients (baseline)", f"{rpc:,.0f} calls/s", "", ""),
        (
            "GET inventory via gateway (cache on)",
            _latency(cached),
            f"{cached['rps'] / hello:.2f} of hello",
            "target >= 0.15",
        ),
        (
            "GET inventory via gateway (cache off)",
            _latency(uncached),
            f"{uncached['rps'] / hello:.2f} of hello, {uncached['rps'] / rpc:.2f} of RPC",
            "",
        ),
        (
            "dose pipeline (POST -> stock taken)",
            f"{doses['doses_per_s']:,.0f} doses/s, lag p50 {doses['lag_p50_ms']:.0f} ms "
            f"p99 {doses['lag_p99_ms']:.0f} ms",
            f"{doses['doses_per_s'] / publish:.2f} of confirmed publish",
            "target >= 300/s, p99 < 100 ms",
        ),
        (
            f"dose pipeline at {steady_rate:.0f}/s (half capacity)",
            f"{steady['doses_per_s']:,.0f} doses/s, lag p50 {steady['lag_p50_ms']:.0f} ms "
            f"p99 {steady['lag_p99_ms']:.0f} ms, POST p99 {steady['post_p99_ms']:.0f} ms",
            f"{steady['doses_per_s'] / publish:.2f} of confirmed publish",
            f"stock reconciles: {steady['reconciles']}",
        ),
        (
            "  POST /administrations",
            f"{doses['posted_per_s']:,.0f}/s offered {doses['requested_per_s']:.0f}/s, "
            f"p99 {doses['post_p99_ms']:.0f} ms, errors {doses['post_errors']:.0f}",
            f"{doses['posted_per_s'] / rpc:.2f} of RPC",
            f"stock reconciles: {doses['reconciles']}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, figure, ratio, target in rows:
        print(f"{name:<{width}}  {figure:<60}  {ratio:<32}  {target}")

    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_generator": "wrk" if loadgen.have_wrk() else "python",
        "baselines": base,
        "inventory_read_cached": cached,
        "inventory_read_uncached": uncached,
        "dose_pipeline": doses,
        "dose_pipeline_half_capacity": steady,
    }
    save_results(results, "latest.json")


if __name__ == "__main__":
    main()
