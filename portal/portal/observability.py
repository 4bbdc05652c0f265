"""Request ids, Prometheus metrics, /health (alive) and /ready (gateway and Redis answer)."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid

import requests
from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger("cvms.portal.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10)

PAGE_LATENCY = Histogram(
    "cvms_portal_request_duration_seconds",
    "Portal page latency by route template and status",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
GATEWAY_FAILURES = Counter(
    "cvms_portal_gateway_unavailable_total", "Pages answered 'try again': the gateway failed"
)


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        if route != "/static/<path:filename>":
            PAGE_LATENCY.labels(request.method, route, response.status_code).observe(elapsed)
            # The route template, never the path: paths may carry a confirmation code.
            log.info(
                "request_id=%s method=%s route=%s status=%s ms=%.1f",
                g.get("request_id"),
                request.method,
                route,
                response.status_code,
                elapsed * 1000,
            )
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.get("/health")
    def health():
        return jsonify(status="alive")

    @app.get("/ready")
    def ready():
        checks = {"gateway": "ok", "redis": "ok"}
        settings = current_app.config["CVMS_PORTAL"]
        try:
            answer = requests.get(f"{settings.gateway_url}/health", timeout=2)
            if answer.status_code != 200:
                checks["gateway"] = f"status {answer.status_code}"
        except requests.RequestException as exc:
            checks["gateway"] = type(exc).__name__
        try:
            current_app.extensions["cvms_redis"].ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["redis"] = type(exc).__name__
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
