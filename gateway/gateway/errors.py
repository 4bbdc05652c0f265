"""Every failure becomes a JSON error with the request id; never a stack trace."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, g, jsonify
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException

from cvms_platform.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable

log = logging.getLogger("cvms.gateway")


# Exceptions a service raises when its database or broker is unreachable (as nameko names them).
OUTAGES = frozenset({"OperationalError", "InterfaceError", "ConnectionError", "TimeoutError"})


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": code, "message": message, "request_id": g.get("request_id")}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cvms"'
    return response


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(error: ApiError):
        response = error_response(error.status, error.code, error.message, error.fields)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(InvalidInput)
    def _invalid(error: InvalidInput):
        return error_response(400, "invalid_input", "The request has invalid fields.", error.errors)

    @app.errorhandler(Unprocessable)
    def _unprocessable(error: Unprocessable):
        return error_response(422, "rule_violated", "The request breaks a rule.", error.errors)

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):
        return error_response(404, "not_found", str(error.args[0]) if error.args else "Not found.")

    @app.errorhandler(Conflict)
    def _conflict(error: Conflict):
        message = str(error.args[0]) if error.args else "Conflict."
        code = str(error.args[1]) if len(error.args) > 1 else "conflict"
        fields = error.args[2] if len(error.args) > 2 and isinstance(error.args[2], dict) else None
        return error_response(409, code, message, fields)

    @app.errorhandler(Forbidden)
    def _forbidden(error: Forbidden):
        message = str(error.args[0]) if error.args else "Forbidden."
        return error_response(403, "forbidden", message)

    @app.errorhandler(RpcTimeout)
    @app.errorhandler(UnknownService)
    @app.errorhandler(ConnectionError)  # the broker refused or dropped the RPC connection
    @app.errorhandler(TimeoutError)  # or could not be reached in time
    def _unavailable(error: Exception):
        log.error("service unavailable: %s %s", type(error).__name__, error)
        response = error_response(
            503, "service_unavailable", "A service did not answer; try again shortly."
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(RemoteError)
    def _remote(error: RemoteError):
        if error.exc_type in OUTAGES:
            # The service is up but cannot reach what it depends on: try again shortly.
            log.error("service dependency unavailable: %s", error.exc_type)
            return _unavailable(error)
        # The type only: a service's message may quote the input (names, birth dates).
        log.error("service failed: %s (request %s)", error.exc_type, g.get("request_id"))
        return error_response(502, "service_error", "A service failed to handle the request.")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        response = error_response(error.code or 500, code, error.description or error.name)
        for name, value in error.get_headers():  # e.g. the Allow header a 405 must carry
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # Where it failed (the frames), not the message: messages may quote personal data.
        log.error(
            "unhandled error %s (request %s):\n%s",
            type(error).__name__,
            g.get("request_id"),
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return error_response(500, "internal_error", "Something went wrong on our side.")
