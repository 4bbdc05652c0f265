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
    token_ttl_seconds: int = 3600
    rpc_timeout_seconds: float = 10.0
    rpc_pool_size: int = 4
    max_body_bytes: int = 1_048_576

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=config.database_url("gateway"),
            amqp_uri=config.amqp_uri(),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            jwt_secret=_jwt_secret(),
            token_ttl_seconds=config.int_setting("CVMS_TOKEN_TTL_SECONDS", 3600),
            rpc_timeout_seconds=config.float_setting("CVMS_RPC_TIMEOUT_SECONDS", 10.0),
            rpc_pool_size=config.int_setting("CVMS_RPC_POOL_SIZE", 8),
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
