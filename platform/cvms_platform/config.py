"""Settings read from the environment, with defaults that run on one developer machine."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def data_dir() -> Path:
    """Where the embedded SQLite databases live when no database URL is configured."""
    path = Path(os.environ.get("CVMS_DATA_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, else an SQLite file of the service's own."""
    configured = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{data_dir() / f'{service}.db'}"


def int_setting(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def bool_setting(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def float_setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def nameko_config(service: str, http_port: int) -> dict:
    """The nameko container config for a service (used by tests and the service runner)."""
    return {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": os.environ.get(
            f"{service.upper()}_HTTP_ADDRESS", f"127.0.0.1:{http_port}"
        ),
        "max_workers": int_setting("CVMS_MAX_WORKERS", 20),
        "serializer": "json",
    }
