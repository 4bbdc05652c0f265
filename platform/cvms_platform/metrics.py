"""Prometheus metrics shared by every service, the relays and the gateway."""

from __future__ import annotations

import time
import weakref

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ENTRYPOINT_LATENCY = Histogram(
    "cvms_entrypoint_duration_seconds",
    "Time spent in an RPC method, event handler, timer or HTTP route of a service",
    ["service", "kind", "name", "outcome"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_CONSUMED = Counter(
    "cvms_events_consumed_total",
    "Events a consumer finished with, by outcome: applied, duplicate, retried, deferred "
    "(its database unreachable), dead_lettered",
    ["service", "event_type", "outcome"],
)
EVENT_BATCH_SIZE = Histogram(
    "cvms_event_batch_size",
    "Events handed to one worker by a batching consumer (consumes_batch)",
    ["service", "event_type"],
    buckets=(1, 2, 5, 10, 20, 50, 100),
)
DEAD_LETTERED = Counter(
    "cvms_events_dead_lettered_total",
    "Events moved to the dead-letter queue, by reason (contract, attempts)",
    ["service", "event_type", "reason"],
)
DLQ_DEPTH = Gauge(
    "cvms_dead_letter_queue_depth", "Messages waiting in a dead-letter queue", ["queue"]
)
OUTBOX_BACKLOG = Gauge("cvms_outbox_backlog", "Outbox events not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "cvms_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox event",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "cvms_outbox_published_total",
    "Outbox events the relay published, by outcome (confirmed, failed, unroutable)",
    ["service", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "cvms_events_published_total",
    "Events the relay published and the broker confirmed, by type: the business figures "
    "(dose_administered, appointment_booked, stock_low, lot_expiring, ...)",
    ["service", "event_type"],
)
WORKERS_IN_FLIGHT = Gauge(
    "cvms_workers_in_flight", "Entrypoint workers of a service running now", ["service"]
)
WORKERS_MAX = Gauge(
    "cvms_workers_max", "The most entrypoint workers a service runs at once", ["service"]
)
OUTBOX_PUBLISH_LATENCY = Histogram(
    "cvms_outbox_publish_lag_seconds",
    "Time from an event's commit to its confirmed publish",
    ["service"],
    buckets=LATENCY_BUCKETS,
)

_KINDS = {"Rpc": "rpc", "EventHandler": "event", "HttpRequestHandler": "http", "Timer": "timer"}


def entrypoint_kind(entrypoint) -> str:
    for cls in type(entrypoint).__mro__:
        if cls.__name__ in _KINDS:
            return _KINDS[cls.__name__]
    return type(entrypoint).__name__.lower()


class EntrypointMetrics(DependencyProvider):
    """Times every entrypoint of the service it is declared on, labelled by outcome."""

    def setup(self) -> None:
        self.started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # Saturation: workers running against the most the container runs at once.
        service = self.container.service_name
        self.in_flight = WORKERS_IN_FLIGHT.labels(service)
        WORKERS_MAX.labels(service).set(self.container.max_workers)

    def worker_setup(self, worker_ctx) -> None:
        self.started[worker_ctx] = time.perf_counter()
        self.in_flight.inc()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        self.in_flight.dec()
        entrypoint = worker_ctx.entrypoint
        outcome = "ok" if exc_info is None else type(exc_info[1]).__name__
        ENTRYPOINT_LATENCY.labels(
            self.container.service_name,
            entrypoint_kind(entrypoint),
            entrypoint.method_name,
            outcome,
        ).observe(time.perf_counter() - started)
