"""Admission of public self-scheduling requests, in front of Flask.

A rush lands on the public routes (in January 2021 one state site saw 10,000 requests/s for
6,000 slots and answered 502s). Each gunicorn worker serves at most a bounded number of them
at once; beyond that it answers 503 with Retry-After at once. The refusal is written here, as
plain WSGI, before Flask, the rate limiter or the access log run: under a 10x overload most
answers are refusals, and a refusal that costs as much as a booking would make everyone wait.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable

from prometheus_client import Counter

from gateway.hardening import SECURITY_HEADERS
from gateway.observability import REQUEST_ID

PUBLIC_PATH_PREFIX = "/api/v1/public/"
SHED_RETRY_AFTER = "2"
SHED_MESSAGE = "Many people are booking right now; try again in a moment."

SHED = Counter(
    "cvms_gateway_shed_total",
    "Public self-scheduling requests refused with 503 because the worker was at its limit",
)


class PublicAdmission:
    """WSGI middleware: at most `max_in_flight` public requests in this worker's app at once."""

    def __init__(self, app: Callable, *, max_in_flight: int):
        self.app = app
        self.max_in_flight = max_in_flight
        self.places = threading.BoundedSemaphore(max_in_flight)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PUBLIC_PATH_PREFIX):
            return self.app(environ, start_response)
        if not self.places.acquire(blocking=False):
            return self._shed(environ, start_response)
        try:
            # The answers of these routes are JSON built in full by the view, so the work is
            # done when the app returns.
            return self.app(environ, start_response)
        finally:
            self.places.release()

    def _shed(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        SHED.inc()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        body = json.dumps(
            {"error": "overloaded", "message": SHED_MESSAGE, "request_id": request_id}
        ).encode()
        start_response(
            "503 Service Unavailable",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Retry-After", SHED_RETRY_AFTER),
                ("Cache-Control", "no-store"),
                ("X-Request-ID", request_id),
                *SECURITY_HEADERS.items(),
            ],
        )
        return [body]
