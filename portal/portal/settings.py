"""Portal settings from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    gateway_url: str  # e.g. http://127.0.0.1:8000 (the API is under /api/v1)
    redis_url: str
    secret_key: str
    redis_prefix: str = "cvms:portal"
    # Minutes without a request after which a signed-in session ends (a warning comes first).
    idle_timeout_seconds: int = 20 * 60
    idle_warning_seconds: int = 2 * 60
    # Secure cookies: on whenever the portal is served over TLS (behind a proxy that says so).
    secure_cookies: bool = False
    # Proxies in front of the portal whose X-Forwarded-For/-Proto are believed (0: none).
    trusted_proxy_hops: int = 0
    gateway_timeout_seconds: float = 15.0
    # Development only: show the demo mailbox and other aids for a newcomer.
    development: bool = False
    max_upload_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            gateway_url=os.environ.get("CVMS_GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/"),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            secret_key=_secret_key(),
            redis_prefix=os.environ.get("CVMS_PORTAL_REDIS_PREFIX", "cvms:portal"),
            idle_timeout_seconds=_int("CVMS_PORTAL_IDLE_TIMEOUT_SECONDS", 20 * 60),
            idle_warning_seconds=_int("CVMS_PORTAL_IDLE_WARNING_SECONDS", 2 * 60),
            secure_cookies=os.environ.get("CVMS_PORTAL_SECURE_COOKIES", "0") == "1",
            trusted_proxy_hops=_int("CVMS_PORTAL_TRUSTED_PROXY_HOPS", 0),
            gateway_timeout_seconds=float(os.environ.get("CVMS_PORTAL_GATEWAY_TIMEOUT", 15)),
            development=os.environ.get("CVMS_DEVELOPMENT", "0") == "1",
        )


def _secret_key() -> str:
    """CVMS_PORTAL_SECRET_KEY in production; on a developer machine a random key kept in the
    data directory, so every gunicorn worker and a restart sign CSRF tokens alike."""
    key = os.environ.get("CVMS_PORTAL_SECRET_KEY")
    if key:
        return key
    path = Path(os.environ.get("CVMS_DATA_DIR", "var")) / "portal-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".portal-secret.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
