"""gunicorn settings for the portal (all overridable from the environment)."""

import os
import shutil
import tempfile

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
# A page waits on the gateway most of its time: threads serve other pages meanwhile.
worker_class = "gthread"
threads = int(os.environ.get("PORTAL_THREADS", "8"))
timeout = 60  # an offline import's upload may take a while
graceful_timeout = 20
keepalive = 5
# No gunicornc control socket: several masters on one machine would share its default path.
control_socket_disable = True
accesslog = None  # the app logs each request with its id and route template
errorlog = "-"
loglevel = os.environ.get("PORTAL_LOG_LEVEL", "info")
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"cvms-portal-metrics-{os.getpid()}"),
)


def on_starting(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
