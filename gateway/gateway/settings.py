"""Gateway settings from the environment."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from dataclasses import dataclass

from cvms_platform import config

log = logging.getLogger(__name__)

# The environment variables that set limits and whose hops are trusted: what a test or a
# benchmark leaves out to run the gateway with the production defaults.
LIMIT_VARIABLES = (
    "CVMS_RATE_LIMIT",
    "CVMS_AUTH_RATE_LIMIT",
    "CVMS_BOOKING_RATE_LIMIT",
    "CVMS_LOCATOR_RATE_LIMIT",
    "CVMS_CODE_RATE_LIMIT",
    "CVMS_CODE_MISS_LIMIT",
    "CVMS_PERSON_RATE_LIMIT",
    "CVMS_SLOT_RATE_LIMIT",
    "CVMS_BOOKING_MAX_IN_FLIGHT",
    "CVMS_LOGIN_MAX_FAILURES",
    "CVMS_LOGIN_MAX_FAILURES_PER_IP",
    "CVMS_TRUSTED_PROXIES",
)


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    redis_url: str
    jwt_secret: str
    token_ttl_seconds: int = 900
    # How long an API key's answer from identity is remembered: a revoked key fails within it.
    api_key_cache_seconds: float = 1.0
    rpc_timeout_seconds: float = 10.0
    rpc_pool_size: int = 4
    max_body_bytes: int = 1_048_576
    # Every Redis key the gateway writes (but the inventory cache's) starts with this.
    redis_prefix: str = "cvms:gateway"
    # flask-limiter limits ("600/minute", "10/second;600/hour") or "off". Every "per address"
    # is per client address as `addresses.client_ip` names it (see `trusted_proxies`); many
    # people share one (a mobile carrier, a library, a kiosk), so those are ceilings against a
    # flood, and what stops abuse is counted per user, per code, per person or per slot.
    rate_limit: str = "600/minute"  # per user (per client address without a valid token)
    # per address on sign-in, token refresh, password links, enrollment and account claims
    auth_rate_limit: str = "300/minute"
    # Public self-scheduling (no login; the limits are in gateway/public_limits.py):
    booking_rate_limit: str = "10000/minute"  # per address, all booking and code routes
    locator_rate_limit: str = "10000/minute"  # per address, the locator and open slots
    code_rate_limit: str = "30/minute"  # per confirmation or waitlist code
    code_miss_limit: str = "50/10 minutes"  # unknown codes (404) per address: guessing stops
    person_rate_limit: str = "20/minute"  # bookings and waitlist joins per person
    slot_rate_limit: str = "600/minute"  # bookings per slot (but those answered "full" at once)
    # Public self-scheduling requests one gunicorn worker serves at once; the rest get 503.
    booking_max_in_flight: int = 6
    # Seconds a worker answers "slot_full" itself after scheduling said so (0: never).
    slot_full_memory_s: float = 5.0
    # Sign-in lockout: this many failures within the window lock for the lockout period.
    login_max_failures: int = 5  # per username
    login_max_failures_per_ip: int = 100  # per client address (many people may share one)
    login_window_seconds: int = 900
    login_lockout_seconds: int = 900
    # The hops whose X-Forwarded-For is believed (the portal, a load balancer): addresses or
    # networks. Empty: nobody's; the client is the address that connected.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            amqp_uri=config.amqp_uri(),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            jwt_secret=_jwt_secret(),
            token_ttl_seconds=config.int_setting("CVMS_TOKEN_TTL_SECONDS", 900),
            rpc_timeout_seconds=config.float_setting("CVMS_RPC_TIMEOUT_SECONDS", 10.0),
            rpc_pool_size=config.int_setting("CVMS_RPC_POOL_SIZE", 8),
            redis_prefix=os.environ.get("CVMS_REDIS_PREFIX", "cvms:gateway"),
            rate_limit=os.environ.get("CVMS_RATE_LIMIT", "600/minute"),
            auth_rate_limit=os.environ.get("CVMS_AUTH_RATE_LIMIT", "300/minute"),
            booking_rate_limit=os.environ.get("CVMS_BOOKING_RATE_LIMIT", "10000/minute"),
            locator_rate_limit=os.environ.get("CVMS_LOCATOR_RATE_LIMIT", "10000/minute"),
            code_rate_limit=os.environ.get("CVMS_CODE_RATE_LIMIT", "30/minute"),
            code_miss_limit=os.environ.get("CVMS_CODE_MISS_LIMIT", "50/10 minutes"),
            person_rate_limit=os.environ.get("CVMS_PERSON_RATE_LIMIT", "20/minute"),
            slot_rate_limit=os.environ.get("CVMS_SLOT_RATE_LIMIT", "600/minute"),
            booking_max_in_flight=config.int_setting("CVMS_BOOKING_MAX_IN_FLIGHT", 6),
            slot_full_memory_s=config.float_setting("CVMS_SLOT_FULL_MEMORY_S", 5.0),
            login_max_failures=config.int_setting("CVMS_LOGIN_MAX_FAILURES", 5),
            login_max_failures_per_ip=config.int_setting("CVMS_LOGIN_MAX_FAILURES_PER_IP", 100),
            login_window_seconds=config.int_setting("CVMS_LOGIN_WINDOW_SECONDS", 900),
            login_lockout_seconds=config.int_setting("CVMS_LOGIN_LOCKOUT_SECONDS", 900),
            trusted_proxies=trusted_proxies(os.environ.get("CVMS_TRUSTED_PROXIES", "")),
            api_key_cache_seconds=config.float_setting("CVMS_API_KEY_CACHE_SECONDS", 1.0),
        )


def trusted_proxies(text: str) -> tuple[str, ...]:
    """CVMS_TRUSTED_PROXIES: addresses or networks, separated by commas or spaces
    ("127.0.0.1, 10.0.0.0/8"); a mistyped one stops the gateway rather than trusting nobody."""
    networks = []
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        if entry.isdigit():
            raise ValueError(
                f"CVMS_TRUSTED_PROXIES={text!r}: name the proxies' addresses or networks "
                "(e.g. 127.0.0.1,10.0.0.0/8), not a number of hops"
            )
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError as exc:
            raise ValueError(
                f"CVMS_TRUSTED_PROXIES: {entry!r} is not an address or network"
            ) from exc
    return tuple(networks)


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
