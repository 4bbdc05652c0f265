"""Writes the Grafana dashboards in deploy/grafana/dashboards/ from the panels listed here.

    python deploy/grafana/generate.py          # rewrite the JSON files
    python deploy/grafana/generate.py --check  # exit 1 if a file differs (the tests run this)

Every query uses the metrics the processes expose today (cvms_platform/metrics.py,
gateway/observability.py, gateway/admission.py, services/notifications/notifications/delivery.py);
tests/test_operations_monitoring.py runs each against a real Prometheus scraping a running CVMS.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# The nameko services. Each but notifications (it publishes no events) has an outbox relay
# (cvms-relay SERVICE), shown on its dashboard. The gateway keeps no database, so it has no
# outbox or relay of its own.
SERVICES = ("inventory", "administration", "scheduling", "identity", "notifications")


def target(expr: str, legend: str = "") -> dict:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ""}


def panel(
    title: str,
    targets: list[dict],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    description: str = "",
    width: int = 12,
    height: int = 8,
    **options,
) -> dict:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, **options.pop("defaults", {})}, "overrides": []},
        "options": options
        or (
            {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
            if kind == "timeseries"
            else {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}
        ),
        "_size": (width, height),
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def layout(panels: list[dict]) -> list[dict]:
    """Grid positions left to right, top to bottom; ids and refIds in order."""
    x = y = line_height = 0
    for number, item in enumerate(panels, start=1):
        width, height = item.pop("_size")
        if x + width > 24:
            x, y, line_height = 0, y + line_height, 0
        item["gridPos"] = {"x": x, "y": y, "w": width, "h": height}
        item["id"] = number
        for index, query in enumerate(item.get("targets", [])):
            query["refId"] = chr(ord("A") + index)
        x += width
        line_height = max(line_height, height)
    return panels


def dashboard(
    uid: str, title: str, description: str, panels: list[dict], variables: list[dict] = ()
) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["cvms"],
        "timezone": "utc",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "links": [{"type": "dashboards", "tags": ["cvms"], "title": "CVMS", "asDropdown": True}],
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                *variables,
            ]
        },
        "panels": layout(panels),
    }


def overview() -> dict:
    api = 'route!~"/health|/ready|/metrics"'
    return dashboard(
        "cvms-overview",
        "CVMS overview",
        "The whole system at a glance: doses and bookings, the API's errors and latency, events "
        "waiting in outboxes and dead-letter queues, stock announcements. docs/operations.md "
        "says what to do about each alert.",
        [
            row("Health"),
            panel(
                "Targets up",
                [target('sum by (job) (up{job=~"cvms-.*"})', "{{job}}")],
                kind="stat",
                width=6,
                description="Processes Prometheus scrapes, per job.",
            ),
            panel(
                "Alerts firing",
                [target('count(ALERTS{alertstate="firing"}) or vector(0)', "firing")],
                kind="stat",
                width=6,
                defaults={
                    "thresholds": {
                        "mode": "absolute",
                        "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
                    }
                },
            ),
            panel(
                "Doses recorded /s",
                [
                    target(
                        'sum(rate(cvms_events_published_total{event_type="dose_administered"}[5m]))',
                        "doses (API)",
                    ),
                    target(
                        'sum(rate(cvms_events_consumed_total{service="inventory",'
                        'event_type="dose_administered",outcome="applied"}[5m]))',
                        "taken from stock",
                    ),
                ],
                unit="reqps",
                width=6,
                description="Doses announced by administration, and doses inventory applied.",
            ),
            panel(
                "Bookings /s",
                [
                    target(
                        'sum(rate(cvms_events_published_total{event_type="appointment_booked"}[5m]))',
                        "booked",
                    ),
                    target(
                        'sum(rate(cvms_events_published_total{event_type="appointment_cancelled"}[5m]))',
                        "cancelled",
                    ),
                ],
                unit="reqps",
                width=6,
            ),
            row("API (gateway)"),
            panel(
                "Requests /s by status class",
                [
                    target(
                        f"sum by (outcome) (rate(cvms_http_requests_total{{{api}}}[5m]))",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
                width=8,
            ),
            panel(
                "5xx ratio",
                [
                    target(
                        'sum(rate(cvms_http_requests_total{outcome="5xx"}[5m])) '
                        "/ sum(rate(cvms_http_requests_total[5m]))",
                        "5xx",
                    )
                ],
                unit="percentunit",
                width=8,
                description="503 (a service not answering, load shed) and 500 (a bug). Alert: 1 %.",
            ),
            panel(
                "Latency",
                [
                    target(
                        "histogram_quantile(0.5, sum by (le) "
                        f"(rate(cvms_http_request_duration_seconds_bucket{{{api}}}[5m])))",
                        "p50",
                    ),
                    target(
                        "histogram_quantile(0.99, sum by (le) "
                        f"(rate(cvms_http_request_duration_seconds_bucket{{{api}}}[5m])))",
                        "p99",
                    ),
                ],
                unit="s",
                width=8,
            ),
            row("Events"),
            panel(
                "Oldest unsent outbox event",
                [target("max by (service) (cvms_outbox_oldest_unsent_age_seconds)", "{{service}}")],
                unit="s",
                width=8,
                description="Alert at 60 s (warning) and 15 min (critical).",
            ),
            panel(
                "Outbox backlog",
                [target("max by (service) (cvms_outbox_backlog)", "{{service}}")],
                width=8,
            ),
            panel(
                "Commit to publish (p99)",
                [
                    target(
                        "histogram_quantile(0.99, sum by (service, le) "
                        "(rate(cvms_outbox_publish_lag_seconds_bucket[5m])))",
                        "{{service}}",
                    )
                ],
                unit="s",
                width=8,
            ),
            panel(
                "Dead-letter queues",
                [target("max by (queue) (cvms_dead_letter_queue_depth)", "{{queue}}")],
                width=12,
                description="Messages waiting; replay with cvms-dead-letters SERVICE replay.",
            ),
            panel(
                "Dead-lettered (1 h)",
                [
                    target(
                        "sum by (service, event_type, reason) "
                        "(increase(cvms_events_dead_lettered_total[1h]))",
                        "{{service}} {{event_type}} ({{reason}})",
                    )
                ],
                width=12,
            ),
            row("Stock"),
            panel(
                "Stock-low announcements (24 h)",
                [
                    target(
                        'sum(increase(cvms_events_published_total{event_type="stock_low"}[1d]))',
                        "stock_low",
                    )
                ],
                kind="stat",
                width=6,
                description="Locations and products under their days-of-supply threshold today.",
            ),
            panel(
                "Lots expiring within 30 days (announced, 24 h)",
                [
                    target(
                        'sum(increase(cvms_events_published_total{event_type="lot_expiring"}[1d]))',
                        "lot_expiring",
                    )
                ],
                kind="stat",
                width=6,
            ),
            panel(
                "Doses wasted and discrepancies /h",
                [
                    target(
                        'sum(rate(cvms_events_published_total{event_type="doses_wasted"}[1h])) '
                        "* 3600",
                        "wastage events",
                    ),
                    target(
                        "sum(rate(cvms_events_published_total{event_type="
                        '"inventory_discrepancy_recorded"}[1h])) * 3600',
                        "discrepancies",
                    ),
                ],
                width=12,
            ),
            row("Notifications"),
            panel(
                "Messages /s by outcome",
                [
                    target(
                        "sum by (channel, outcome) (rate(cvms_notifications_messages_total[5m]))",
                        "{{channel}} {{outcome}}",
                    )
                ],
                unit="reqps",
                width=12,
                description="E-mails and texts: sent; deferred (a temporary failure, tried again, "
                "or a text held in quiet hours); failed (refused for good, or a day of retries); "
                "suppressed (an address not to write to). A message deferred several times counts "
                "each time.",
            ),
            panel(
                "Oldest unsent message",
                [target("max(cvms_notifications_oldest_unsent_seconds)", "oldest unsent (s)")],
                unit="s",
                width=12,
                description="Texts held in quiet hours (21:00-08:00) count too. "
                "Alert: over 15 min for 10 min.",
            ),
        ],
    )


def service_dashboard() -> dict:
    s = 'service="$service"'
    return dashboard(
        "cvms-service",
        "CVMS service",
        "One service: its entrypoints' rate, errors and latency, its saturation, the events it "
        "consumes and publishes.",
        [
            row("Rate, errors, latency"),
            panel(
                "Calls /s by entrypoint",
                [
                    target(
                        f"sum by (kind, name) (rate(cvms_entrypoint_duration_seconds_count{{{s}}}"
                        "[5m]))",
                        "{{kind}} {{name}}",
                    )
                ],
                unit="reqps",
                width=8,
            ),
            panel(
                "Errors /s (raised, by type)",
                [
                    target(
                        f"sum by (name, outcome) (rate(cvms_entrypoint_duration_seconds_count"
                        f'{{{s},outcome!="ok"}}[5m]))',
                        "{{name}}: {{outcome}}",
                    )
                ],
                unit="reqps",
                width=8,
                description="RPC errors include refusals the API answers 4xx (a rule broken).",
            ),
            panel(
                "Latency p99 by kind",
                [
                    target(
                        "histogram_quantile(0.99, sum by (kind, le) "
                        f"(rate(cvms_entrypoint_duration_seconds_bucket{{{s}}}[5m])))",
                        "{{kind}}",
                    )
                ],
                unit="s",
                width=8,
            ),
            row("Saturation"),
            panel(
                "Workers busy",
                [
                    target(f"sum(cvms_workers_in_flight{{{s}}})", "in flight"),
                    target(f"sum(cvms_workers_max{{{s}}})", "max"),
                ],
                width=8,
            ),
            panel(
                "CPU (cores)",
                [
                    target(
                        f'rate(process_cpu_seconds_total{{job=~"cvms-.*",{s}}}[5m])',
                        "{{job}} {{instance}}",
                    )
                ],
                width=8,
            ),
            panel(
                "Memory (RSS)",
                [
                    target(
                        f'process_resident_memory_bytes{{job=~"cvms-.*",{s}}}',
                        "{{job}} {{instance}}",
                    )
                ],
                unit="bytes",
                width=8,
            ),
            row("Events"),
            panel(
                "Consumed /s by outcome",
                [
                    target(
                        "sum by (event_type, outcome) "
                        f"(rate(cvms_events_consumed_total{{{s}}}[5m]))",
                        "{{event_type}} {{outcome}}",
                    )
                ],
                unit="reqps",
                width=12,
            ),
            panel(
                "Published /s by type",
                [
                    target(
                        f"sum by (event_type) (rate(cvms_events_published_total{{{s}}}[5m]))",
                        "{{event_type}}",
                    )
                ],
                unit="reqps",
                width=12,
            ),
            panel(
                "Outbox: backlog and oldest unsent",
                [
                    target(f"max(cvms_outbox_backlog{{{s}}})", "backlog"),
                    target(f"max(cvms_outbox_oldest_unsent_age_seconds{{{s}}})", "oldest (s)"),
                ],
                width=8,
            ),
            panel(
                "Relay: publishes /s by outcome",
                [
                    target(
                        f"sum by (outcome) (rate(cvms_outbox_published_total{{{s}}}[5m]))",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
                width=8,
            ),
            panel(
                "Dead letters",
                [
                    target(
                        'max(cvms_dead_letter_queue_depth{queue="$service.dead-letter"})', "waiting"
                    ),
                    target(
                        f"sum(increase(cvms_events_dead_lettered_total{{{s}}}[1h]))",
                        "dead-lettered (1 h)",
                    ),
                ],
                width=8,
            ),
        ],
        variables=[
            {
                "name": "service",
                "label": "Service",
                "type": "custom",
                "query": ",".join(SERVICES),
                "current": {"text": SERVICES[0], "value": SERVICES[0]},
                "options": [
                    {"text": name, "value": name, "selected": name == SERVICES[0]}
                    for name in SERVICES
                ],
                "hide": 0,
            }
        ],
    )


def gateway_dashboard() -> dict:
    api = 'route!~"/health|/ready|/metrics"'
    return dashboard(
        "cvms-gateway",
        "CVMS gateway",
        "The API: requests by route and status, latency, threads busy, public requests shed.",
        [
            panel(
                "Requests /s by route",
                [
                    target(
                        f"sum by (route) (rate(cvms_http_requests_total{{{api}}}[5m]))", "{{route}}"
                    )
                ],
                unit="reqps",
                width=12,
            ),
            panel(
                "Errors /s by route and status",
                [
                    target(
                        "sum by (route, status) (rate(cvms_http_request_duration_seconds_count"
                        '{status=~"5.."}[5m]))',
                        "{{status}} {{route}}",
                    )
                ],
                unit="reqps",
                width=12,
            ),
            panel(
                "Latency p99 by route",
                [
                    target(
                        "histogram_quantile(0.99, sum by (route, le) "
                        f"(rate(cvms_http_request_duration_seconds_bucket{{{api}}}[5m])))",
                        "{{route}}",
                    )
                ],
                unit="s",
                width=12,
            ),
            panel(
                "Threads busy",
                [
                    target("sum(cvms_http_requests_in_flight)", "in flight"),
                    target("sum(cvms_http_threads)", "threads"),
                ],
                width=6,
            ),
            panel(
                "Public requests shed /s",
                [
                    target("sum(rate(cvms_gateway_shed_total[5m]))", "shed (503)"),
                    target("sum(rate(cvms_gateway_known_full_total[5m]))", "known full"),
                ],
                unit="reqps",
                width=6,
            ),
        ],
    )


def render() -> dict[str, str]:
    return {
        f"{board['uid']}.json": json.dumps(board, indent=2, sort_keys=False) + "\n"
        for board in (overview(), service_dashboard(), gateway_dashboard())
    }


def expressions() -> list[tuple[str, str, str]]:
    """(dashboard, panel, PromQL) for every query, with $service as each service in turn."""
    found = []
    for name, text in render().items():
        for item in json.loads(text)["panels"]:
            for query in item.get("targets", []):
                exprs = (
                    [query["expr"].replace("$service", s) for s in SERVICES]
                    if "$service" in query["expr"]
                    else [query["expr"]]
                )
                found.extend((name, item["title"], expr) for expr in exprs)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args()
    stale = []
    DASHBOARDS.mkdir(exist_ok=True)
    for name, text in render().items():
        path = DASHBOARDS / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        sys.exit(f"out of date (run python deploy/grafana/generate.py): {', '.join(stale)}")


if __name__ == "__main__":
    main()
