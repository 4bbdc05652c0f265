"""Gateway settings from the environment."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

from cvms_platform import config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    database_url: str
    amqp_uri: str
    redis_url: str
    jwt_secret: str
    token_ttl_seconds: int = 900
    refresh_ttl_seconds: int = 14 * 24 * 3600
    rpc_timeout_seconds: float = 10.0
    rpc_pool_size: int = 4
    max_body_bytes: int = 1_048_576
    # Every Redis key the gateway writes (but the inventory cache's) starts with this.
    redis_prefix: str = "cvms:gateway"
    # flask-limiter limits ("600/minute", "10/second;600/hour") or "off".
    rate_limit: str = "600/minute"  # per user (per client IP without a valid token)
    auth_rate_limit: str = "20/minute"  # per client IP on /auth/token and /auth/refresh
    # per client IP, shared by every public self-scheduling route (codes are not to be guessed)
    booking_rate_limit: str = "30/minute"
    # Public self-scheduling requests one gunicorn worker serves at once; the rest get 503.
    booking_max_in_flight: int = 6
    # Seconds a worker answers "slot_full" itself after scheduling said so (0: never).
    slot_full_memory_s: float = 5.0
    # Sign-in lockout: this many failures within the window lock for the lockout period.
    login_max_failures: int = 5  # per username
    login_max_failures_per_ip: int = 20  # per client IP (many people may share one)
    login_window_seconds: int = 900
    login_lockout_seconds: int = 900
    # Reverse proxies in front of the gateway whose X-Forwarded-For is trusted (0: none).
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=config.database_url("gateway"),
            amqp_uri=config.amqp_uri(),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            jwt_secret=_jwt_secret(),
            token_ttl_seconds=config.int_setting("CVMS_TOKEN_TTL_SECONDS", 900),
            refresh_ttl_seconds=config.int_setting("CVMS_REFRESH_TTL_SECONDS", 14 * 24 * 3600),
            rpc_timeout_seconds=config.float_setting("CVMS_RPC_TIMEOUT_SECONDS", 10.0),
            rpc_pool_size=config.int_setting("CVMS_RPC_POOL_SIZE", 8),
            redis_prefix=os.environ.get("CVMS_REDIS_PREFIX", "cvms:gateway"),
            rate_limit=os.environ.get("CVMS_RATE_LIMIT", "600/minute"),
            auth_rate_limit=os.environ.get("CVMS_AUTH_RATE_LIMIT", "20/minute"),
            booking_rate_limit=os.environ.get("CVMS_BOOKING_RATE_LIMIT", "30/minute"),
            booking_max_in_flight=config.int_setting("CVMS_BOOKING_MAX_IN_FLIGHT", 6),
            slot_full_memory_s=config.float_setting("CVMS_SLOT_FULL_MEMORY_S", 5.0),
            login_max_failures=config.int_setting("CVMS_LOGIN_MAX_FAILURES", 5),
            login_max_failures_per_ip=config.int_setting("CVMS_LOGIN_MAX_FAILURES_PER_IP", 20),
            login_window_seconds=config.int_setting("CVMS_LOGIN_WINDOW_SECONDS", 900),
            login_lockout_seconds=config.int_setting("CVMS_LOGIN_LOCKOUT_SECONDS", 900),
            trusted_proxies=config.int_setting("CVMS_TRUSTED_PROXIES", 0),
        )


def _jwt_secret() -> str:
    """CVMS_JWT_SECRET in production; on a developer machine a random one kept in the data dir
    so every gunicorn worker (and a restart) signs and checks tokens with the same key."""
    secret = os.environ.get("CVMS_JWT_SECRET")
    if secret:
        return secret
    path = config.data_dir() / "jwt-secret"
    if not path.exists():
        # Several workers start at once: write aside, then link into place; one link wins.
        draft = path.with_name(f".jwt-secret.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
            log.warning("CVMS_JWT_SECRET is not set; generated a development key at %s", path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
