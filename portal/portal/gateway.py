"""The portal's client of the gateway's HTTP API.

Each worker thread keeps one pooled HTTP session. Every call carries the browser's address
(X-Forwarded-For, which the gateway believes only from hops it trusts), the request id and the
page's language. A 4xx becomes an ApiProblem with the API's field errors, to show beside the
fields; the gateway unreachable or answering 5xx becomes GatewayUnavailable ("try again").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import redis
import requests
from flask import current_app, g, has_request_context, request
from requests.adapters import HTTPAdapter

API_PREFIX = "/api/v1"


@dataclass
class ApiProblem(Exception):
    """The API refused the request (a 4xx)."""

    status: int
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def field_errors(self) -> dict[str, list[str]]:
        """The API's field errors flattened to `name` / `parent.child` -> messages."""
        return flatten_errors(self.fields)


class GatewayUnavailable(Exception):
    """The gateway could not be reached, timed out or failed (5xx)."""

    def __init__(self, message: str, retry_after: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for inner, messages in flatten_errors(value, name).items():
                flat.setdefault(inner, []).extend(messages)
    elif isinstance(errors, list | tuple):
        for item in errors:
            if isinstance(item, dict | list | tuple):
                for inner, messages in flatten_errors(item, prefix).items():
                    flat.setdefault(inner, []).extend(messages)
            else:
                flat.setdefault(prefix or "_schema", []).append(str(item))
    elif errors is not None:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


class Gateway:
    def __init__(self, base_url: str, timeout: float):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        json: Any = None,
        params: dict | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        """Call `path` (under /api/v1). Returns the decoded JSON body (None for 204), or the
        `requests.Response` itself when `raw` (downloads)."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if api_key:
            sent["X-API-Key"] = api_key
        sent.update(_forwarded_headers())
        try:
            response = self._http().request(
                method,
                f"{self.base}{API_PREFIX}{path}",
                json=json,
                params=params,
                data=data,
                headers=sent,
                timeout=self.timeout,
                stream=raw,
            )
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise GatewayUnavailable(
                f"gateway answered {response.status_code}", response.headers.get("Retry-After")
            )
        if response.status_code >= 400:
            raise _problem(response)
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def _problem(response: requests.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiProblem(
        status=response.status_code,
        code=str(body.get("error", "error")),
        message=str(body.get("message", response.reason or "")),
        fields=body.get("fields") or {},
        retry_after=response.headers.get("Retry-After"),
    )


def _forwarded_headers() -> dict[str, str]:
    """What the gateway needs to know of the browser's request."""
    if not has_request_context():
        return {}
    headers = {"X-Forwarded-For": request.remote_addr or "unknown"}
    request_id = g.get("request_id")
    if request_id:
        headers["X-Request-ID"] = request_id
    lang = g.get("lang")
    if lang:
        headers["Accept-Language"] = lang
    return headers


def gateway() -> Gateway:
    return current_app.extensions["cvms_gateway"]


def public_read(path: str, params: dict | None = None, seconds: float = 5.0) -> Any:
    """An anonymous GET of public data (the locator's search), kept in Redis for a
    few seconds and shared by every worker: in a rush thousands of people search the same ZIP
    code, and each would otherwise cost the gateway a request. What the public sees may be
    `seconds` old; a booking is always judged by scheduling itself. Refusals are not kept."""
    shared = current_app.extensions["cvms_redis"]
    prefix = current_app.config["CVMS_PORTAL"].redis_prefix
    query = urlencode(sorted((params or {}).items()))
    key = f"{prefix}:public:{hashlib.sha256(f'{path}?{query}'.encode()).hexdigest()}"
    try:
        kept = shared.get(key)
    except redis.RedisError:
        kept = None
    if kept is not None:
        return json.loads(kept)
    answer = gateway().call("GET", path, params=params)
    with contextlib.suppress(redis.RedisError):
        shared.set(key, json.dumps(answer), px=int(seconds * 1000))
    return answer
