"""The portal's Flask application."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import redis
from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_session import Session
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import auth, catalog, formatting, i18n, observability
from portal.gateway import ApiProblem, Gateway, GatewayUnavailable
from portal.settings import Settings
from portal.tokens import SignedOut, TokenStore
from portal.views import register_views

log = logging.getLogger("cvms.portal")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)


def create_app(settings: Settings | None = None, data_dir: Path | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("portal")
    app.config["CVMS_PORTAL"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_TYPE="redis",
        SESSION_KEY_PREFIX=f"{settings.redis_prefix}:session:",
        SESSION_COOKIE_NAME="cvms_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_USE_SIGNER=True,
        SESSION_PERMANENT=True,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.idle_timeout_seconds),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
    )
    shared = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.config["SESSION_REDIS"] = shared
    app.extensions["cvms_redis"] = shared
    gateway = Gateway(settings.gateway_url, settings.gateway_timeout_seconds)
    app.extensions["cvms_gateway"] = gateway
    app.extensions["cvms_tokens"] = TokenStore(shared, settings.redis_prefix, gateway)
    Session(app)
    CSRFProtect(app)
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=settings.trusted_proxy_hops
        )

    observability.install(app)
    i18n.install(app, data_dir or Path(_data_dir()))
    formatting.install(app)
    catalog.install(app)
    app.before_request(auth.check_idle)
    register_views(app)
    _install_errors(app)

    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    @app.context_processor
    def _globals():
        return {
            "current_user": auth.current_user(),
            "is_staff": auth.is_staff(),
            "idle_timeout": settings.idle_timeout_seconds,
            "idle_warning": settings.idle_warning_seconds,
            "development": settings.development,
        }

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            # Pages may show personal data: never kept by a shared browser's cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _data_dir() -> str:
    return os.environ.get("CVMS_DATA_DIR", "var")


def _install_errors(app: Flask) -> None:
    @app.errorhandler(SignedOut)
    def _signed_out(_error):
        if g.get("idle_signed_out"):
            flash(_("You were signed out after a period of inactivity."), "info")
        else:
            flash(_("Your session has ended. Please sign in again."), "info")
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))

    @app.errorhandler(GatewayUnavailable)
    def _unavailable(error):
        observability.GATEWAY_FAILURES.inc()
        log.error("gateway unavailable: %s", error)
        response = app.make_response((render_template("errors/unavailable.html"), 503))
        response.headers["Retry-After"] = error.retry_after or "10"
        return response

    @app.errorhandler(ApiProblem)
    def _problem(problem: ApiProblem):
        if problem.status == 401:
            return _signed_out(problem)
        status = problem.status if problem.status in (403, 404, 409, 410, 422, 429) else 400
        template = {403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html"}.get(
            status, "errors/problem.html"
        )
        return render_template(template, problem=problem), status

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        template = {404: "errors/404.html", 403: "errors/403.html", 413: "errors/413.html"}.get(
            error.code or 500, "errors/http.html"
        )
        return render_template(template, error=error), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error: %s", type(error).__name__)
        return render_template("errors/500.html"), 500
