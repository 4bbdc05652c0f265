"""The gateway's Flask application."""

from __future__ import annotations

import atexit

import redis
from flask import Flask, jsonify

from cvms_platform import config
from gateway import api, audit, errors, hardening, observability
from gateway.access import check_every_route_declared, public
from gateway.admission import PublicAdmission
from gateway.cache import InventoryCache
from gateway.directory import Directory
from gateway.docs import build_spec
from gateway.edge_events import EdgeEvents
from gateway.full_slots import FullSlots
from gateway.routing import drop_cached_inventory
from gateway.rpc import RpcPool
from gateway.sessions import Denylist, LoginThrottle
from gateway.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("gateway")
    app.config["CVMS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False

    rpc = RpcPool(
        settings.amqp_uri, size=settings.rpc_pool_size, timeout=settings.rpc_timeout_seconds
    )
    atexit.register(rpc.close)
    app.extensions["cvms_rpc"] = rpc
    # Locations that exist and API keys, asked of identity and remembered briefly.
    app.extensions["cvms_directory"] = Directory(settings.api_key_cache_seconds)
    shared = redis.Redis.from_url(
        settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    app.extensions["cvms_redis"] = shared
    app.extensions["cvms_denylist"] = Denylist(shared, settings.redis_prefix)
    app.extensions["cvms_login_throttle"] = LoginThrottle(
        shared,
        settings.redis_prefix,
        max_failures=settings.login_max_failures,
        max_failures_per_ip=settings.login_max_failures_per_ip,
        window_seconds=settings.login_window_seconds,
        lockout_seconds=settings.login_lockout_seconds,
    )
    app.extensions["cvms_edge_events"] = EdgeEvents(settings.amqp_uri)
    app.extensions["cvms_full_slots"] = FullSlots(settings.slot_full_memory_s)
    app.extensions["cvms_inventory_cache"] = InventoryCache(
        shared, ttl_ms=config.int_setting("CVMS_INVENTORY_CACHE_MS", 1000)
    )

    observability.install(app)
    errors.install(app)
    api.register(app)  # one blueprint per area of the API (gateway/api/<area>/routes.py)
    app.after_request(drop_cached_inventory)
    hardening.install(app, settings)
    audit.install(app)  # after hardening: its answers (a 503) get the security headers too
    # Outermost: a refused public request costs no Flask, limiter or log work.
    app.wsgi_app = PublicAdmission(app.wsgi_app, max_in_flight=settings.booking_max_in_flight)
    spec = build_spec(app)
    app.add_url_rule("/api/v1/openapi.json", "openapi", public(lambda: jsonify(spec)))
    check_every_route_declared(app)
    return app
