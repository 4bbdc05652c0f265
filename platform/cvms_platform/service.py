"""What every CVMS nameko service declares: its database, entrypoint metrics, correlation id,
and the operational HTTP endpoints /health (alive), /ready (database and broker) and /metrics."""

from __future__ import annotations

import json
import uuid

from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.contextdata import ContextDataProvider
from nameko.dependency_providers import Config
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from cvms_platform.consumer import dead_letter_queue
from cvms_platform.db import Database, ping
from cvms_platform.envelope import CORRELATION_KEY
from cvms_platform.metrics import DLQ_DEPTH, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, EntrypointMetrics
from cvms_platform.tables import outbox
from cvms_platform.timeutil import as_utc, utcnow


class CorrelationId(ContextDataProvider):
    """The request id the gateway generated (or an event's correlation id) for this worker."""

    context_key = CORRELATION_KEY

    def get_dependency(self, worker_ctx) -> str:
        return worker_ctx.data.get(self.context_key) or str(uuid.uuid4())


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class CvmsService:
    """Base for CVMS services; subclasses set `name` and add their own entrypoints."""

    name: str
    db = Database()
    entrypoint_metrics = EntrypointMetrics()
    correlation_id = CorrelationId()
    config = Config()

    @http("GET", "/health")
    def health(self, request) -> Response:
        return _json(200, {"status": "alive", "service": self.name})

    @http("GET", "/ready")
    def ready(self, request) -> Response:
        checks = {"database": "ok", "broker": "ok"}
        try:
            ping(self.db.engine)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = type(exc).__name__
        try:
            with Connection(self._amqp_uri(), connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = type(exc).__name__
        ok = all(v == "ok" for v in checks.values())
        return _json(200 if ok else 503, {"status": "ready" if ok else "not ready", **checks})

    @http("GET", "/metrics")
    def metrics(self, request) -> Response:
        self._observe_outbox()
        self._observe_dead_letters()
        self.observe()
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    def observe(self) -> None:
        """A service's own gauges, read when Prometheus scrapes (not on any hot path)."""

    def _amqp_uri(self) -> str:
        return self.config[AMQP_URI_CONFIG_KEY]

    def _observe_outbox(self) -> None:
        count, oldest = self.db.session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
        ).one()
        OUTBOX_BACKLOG.labels(self.name).set(count)
        OUTBOX_OLDEST_AGE.labels(self.name).set(
            (utcnow() - as_utc(oldest)).total_seconds() if oldest else 0.0
        )

    def _observe_dead_letters(self) -> None:
        queue = dead_letter_queue(self.name)
        try:
            with Connection(self._amqp_uri(), connect_timeout=2) as connection:
                _, depth, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        except Exception:  # noqa: BLE001 - the queue exists only after the first dead letter
            depth = 0
        DLQ_DEPTH.labels(queue).set(depth)
