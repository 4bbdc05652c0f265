"""gunicorn settings for the gateway (all overridable from the environment)."""

import os
import shutil
import tempfile

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
# Most of a request is spent waiting on an RPC reply, so each worker serves several requests
# at once on threads (each thread takes its own proxy from the worker's RpcPool).
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Bounded accept queue: under overload, clients are refused fast rather than queued forever.
backlog = int(os.environ.get("GATEWAY_BACKLOG", "256"))
# No gunicornc control socket: several masters on one machine would share its default path.
control_socket_disable = True
accesslog = None  # the app logs each request with its request id and route template
errorlog = "-"
loglevel = os.environ.get("GATEWAY_LOG_LEVEL", "info")

# Metrics from every worker are aggregated through files in one directory.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"cvms-gateway-metrics-{os.getpid()}"),
)


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
