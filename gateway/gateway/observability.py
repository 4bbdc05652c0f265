"""Request ids, access logs without personal data, Prometheus metrics, /health and /ready."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid

from flask import Flask, Response, current_app, g, jsonify, request
from kombu import Connection
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from cvms_platform.metrics import LATENCY_BUCKETS

log = logging.getLogger("cvms.gateway.access")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

HTTP_LATENCY = Histogram(
    "cvms_http_request_duration_seconds",
    "Gateway request latency by route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "cvms_http_requests_total",
    "Gateway requests by route template and status class",
    ["route", "outcome"],
)
# Saturation, summed over the live workers: requests being served against the threads there are.
HTTP_IN_FLIGHT = Gauge(
    "cvms_http_requests_in_flight",
    "Gateway requests being served now",
    multiprocess_mode="livesum",
)
HTTP_THREADS = Gauge(
    "cvms_http_threads",
    "Gateway request threads (workers x threads)",
    multiprocess_mode="livesum",
)


def install(app: Flask) -> None:
    HTTP_THREADS.set(int(os.environ.get("GATEWAY_THREADS", "8")))

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        HTTP_IN_FLIGHT.inc()
        g.in_flight = True

    @app.teardown_request
    def _done(_error=None):
        if g.pop("in_flight", False):
            HTTP_IN_FLIGHT.dec()

    @app.after_request
    def _finish(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_LATENCY.labels(request.method, route, response.status_code).observe(elapsed)
        HTTP_REQUESTS.labels(route, f"{response.status_code // 100}xx").inc()
        response.headers["X-Request-ID"] = g.get("request_id", "")
        # The route template, never the path: paths and bodies may carry personal data.
        log.info(
            "request_id=%s method=%s route=%s status=%s ms=%.1f",
            g.get("request_id"),
            request.method,
            route,
            response.status_code,
            elapsed * 1000,
        )
        return response

    @app.get("/health")
    def health():
        return jsonify(status="alive")

    @app.get("/ready")
    def ready():
        # The gateway keeps no database: the broker carries every request to the services.
        checks = {"broker": "ok"}
        try:
            with Connection(current_app.config["CVMS"].amqp_uri, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = type(exc).__name__
        ok = all(value == "ok" for value in checks.values())
        response = jsonify(status="ready" if ok else "not ready", **checks)
        response.status_code = 200 if ok else 503
        return response

    @app.get("/metrics")
    def metrics():
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
