"""Abuse limits and browser hardening: rate limits (flask-limiter, counted in Redis so they hold
across gunicorn workers and gateway instances) and security headers. The client's address is
`addresses.client_ip`; the public routes' limits are in `public_limits`.

Rate limits fail open: if Redis cannot be reached, requests are served unlimited and
flask-limiter logs the error, rather than the API going down with its counter store.
"""

from __future__ import annotations

import math
import time

import jwt
from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from gateway import addresses, public_limits
from gateway.access import api_key_principal, bearer_principal
from gateway.addresses import client_ip
from gateway.errors import error_response
from gateway.settings import Settings

OFF = "off"
# The endpoints a password, a refresh token or a one-time token is tried against, and the
# public ones that create something: limited per client address.
AUTH_ENDPOINTS = (
    "identity.issue_access_token",
    "identity.refresh_access_token",
    "identity.set_password",
    "identity.request_password_reset",
    "enrollment.start_enrollment",
    "enrollment.read_enrollment",
    "enrollment.save_enrollment",
    "enrollment.submit_enrollment",
    "administration.claim_recipient_account",
    # A help-desk account: a registration hashes a password; a verification guesses a token.
    "helpdesk.register_account",
    "helpdesk.verify_account",
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # The API serves JSON only: nothing may be loaded, framed or submitted from its answers.
    "Content-Security-Policy": (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _user_or_ip() -> str:
    """Rate-limit key: the user of a valid bearer token, or the partner's valid API key, else
    the client IP. Only a token or key that verifies counts, so forged ids cannot spread one
    client over many counters."""
    try:
        principal = bearer_principal()
    except (jwt.InvalidTokenError, KeyError):
        principal = None
    if principal is None:
        try:
            principal = api_key_principal()
        except Exception:  # noqa: BLE001 - an invalid key is refused by the route; count the IP
            principal = None
    if principal is None:
        return f"ip:{client_ip()}"
    return f"key:{principal.user_id}" if principal.is_api_key else f"user:{principal.user_id}"


def _ip() -> str:
    return f"ip:{client_ip()}"


def install(app: Flask, settings: Settings) -> Limiter | None:
    """Security headers on every answer, rate limits on /api/; call after the routes exist."""
    app.extensions[addresses.EXTENSION] = addresses.networks(settings.trusted_proxies)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    default_on = settings.rate_limit.strip().lower() != OFF
    auth_on = settings.auth_rate_limit.strip().lower() != OFF
    public_on = any(
        value.strip().lower() != OFF
        for value in (
            settings.booking_rate_limit,
            settings.locator_rate_limit,
            settings.code_rate_limit,
            settings.code_miss_limit,
            settings.person_rate_limit,
            settings.slot_rate_limit,
        )
    )
    if not (default_on or auth_on or public_on):
        return None
    limiter = Limiter(
        key_func=_user_or_ip,
        application_limits=[settings.rate_limit] if default_on else [],
        # The public routes have limits of their own, made for addresses many people share.
        application_limits_exempt_when=public_limits.is_public,
        storage_uri=settings.redis_url,
        storage_options={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        strategy="fixed-window",
        key_prefix=f"{settings.redis_prefix}:limits",
        swallow_errors=True,  # fail open when Redis is down (flask-limiter logs it)
        headers_enabled=False,  # Retry-After on 429 only: one Redis round trip less per request
    )
    limiter.request_filter(lambda: not request.path.startswith("/api/"))
    limiter.init_app(app)
    if auth_on:
        for endpoint in AUTH_ENDPOINTS:
            app.view_functions[endpoint] = limiter.limit(settings.auth_rate_limit, key_func=_ip)(
                app.view_functions[endpoint]
            )
    public_limits.install(app, limiter, settings)
    app.extensions["cvms_limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded):
        message = error.description
        if message == str(error.limit.limit):
            message = f"Too many requests (limit {message}); slow down."
        response = error_response(429, "rate_limited", message)
        retry_after = 1
        current = limiter.current_limit
        if current is not None:
            try:
                retry_after = max(1, math.ceil(current.window.reset_time - time.time()))
            except Exception:  # noqa: BLE001 - the counter store went away meanwhile
                retry_after = 1
        response.headers["Retry-After"] = str(retry_after)
        return response

    return limiter
