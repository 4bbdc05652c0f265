"""Authorization in one place: every API route declares who may call it and for which location.

A route without a declaration makes the app refuse to start (see `check_every_route_declared`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from flask import Flask, current_app, g, request

from gateway.errors import ApiError
from gateway.security import Principal, read_token

ACCESS_ATTR = "_cvms_access"


API_KEY_HEADER = "X-API-Key"

# Who works at locations, for the routes of every area: state admins everywhere, organization
# admins at their organization's locations (their token lists them), location managers and
# vaccinators at their own. Recording doses names its own roles (clinicians only).
STAFF = ("state_admin", "org_admin", "location_manager", "vaccinator")
MANAGERS = ("state_admin", "org_admin", "location_manager")


@dataclass(frozen=True)
class Access:
    roles: frozenset[str] | None  # None: public
    location_scoped: bool = False
    organization_scoped: bool = False
    # What a partner's API key needs to call the route; empty: keys may not call it.
    scopes: frozenset[str] = frozenset()


def public(view: Callable) -> Callable:
    setattr(view, ACCESS_ATTR, Access(roles=None))
    return view


def allow(
    *roles: str,
    location_scoped: bool = False,
    organization_scoped: bool = False,
    scopes: tuple[str, ...] = (),
) -> Callable:
    """Only these roles; with `location_scoped`, only for a `location_id` in the path that the
    caller acts for (state admins act for every location); with `organization_scoped`, only for
    the caller's own `organization_id` in the path (state admins: every organization).

    `scopes`: a partner system's API key (role `partner`) may call the route if it holds all
    of them, for its organization's locations; a route without scopes is closed to keys.
    Partners have keys only: a bearer token of the partner role reaches nothing."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            principal = authenticate()
            if principal.is_api_key:
                if not (scopes and principal.scopes.issuperset(scopes)):
                    raise ApiError(
                        403, "insufficient_scope", f"This needs an API key with {list(scopes)}."
                    )
            elif principal.role not in roles or principal.role == "partner":
                raise ApiError(403, "forbidden", "Your role may not do this.")
            if location_scoped:
                require_location(kwargs["location_id"])
            if organization_scoped:
                require_organization(kwargs["organization_id"])
            return view(*args, **kwargs)

        setattr(
            guarded,
            ACCESS_ATTR,
            Access(
                roles=frozenset(roles),
                location_scoped=location_scoped,
                organization_scoped=organization_scoped,
                scopes=frozenset(scopes),
            ),
        )
        return guarded

    return decorator


_UNREAD = object()


def bearer_principal() -> Principal | None:
    """The request's bearer token, verified once per request (the rate limiter's key and the
    route's access rule both need it): None without one; raises as `read_token` does."""
    verified = g.get("_cvms_bearer", _UNREAD)
    if verified is _UNREAD:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            verified = None
        else:
            try:
                verified = read_token(token.strip(), current_app.config["CVMS"].jwt_secret)
            except jwt.InvalidTokenError as exc:
                verified = exc
        g._cvms_bearer = verified
    if isinstance(verified, Exception):
        raise verified
    return verified


def api_key_principal() -> Principal | None:
    """The partner of the request's X-API-Key, looked up once per request: None without a
    key; ApiError 401 for a key that is unknown or revoked."""
    found = g.get("_cvms_api_key", _UNREAD)
    if found is _UNREAD:
        presented = request.headers.get(API_KEY_HEADER, "").strip()
        found = None
        if presented:
            found = current_app.extensions["cvms_directory"].api_key(presented)
            # Revoked through another worker within the last second: that worker said so in
            # Redis (the key's id, like a revoked token's), so it fails here at once too.
            if found is not None and current_app.extensions["cvms_denylist"].is_revoked(
                found.user_id
            ):
                found = None
            if found is None:
                found = ApiError(401, "invalid_api_key", "The API key is not valid or was revoked.")
        g._cvms_api_key = found
    if isinstance(found, ApiError):
        raise found
    return found


def authenticate() -> Principal:
    """The caller of a bearer token that is ours, intact, unexpired and not revoked.

    Revocation (logout; every token of a deactivated user or of one who set a new password) is
    looked up in Redis. If Redis cannot be reached the check fails open:
    the token is accepted and a warning is logged (see `Denylist.is_revoked`). Access tokens
    live minutes (CVMS_TOKEN_TTL_SECONDS), so a logged-out token could be used only until it
    expires, and only during the outage; failing closed would take the whole API down with
    Redis."""
    try:
        principal = bearer_principal()
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired", "The token has expired; request a new one.") from None
    except jwt.InvalidTokenError:
        raise ApiError(401, "invalid_token", "The token is not valid.") from None
    if principal is None:
        principal = api_key_principal()
        if principal is not None:
            g.principal = principal
            return principal
    if principal is None:
        raise ApiError(401, "unauthenticated", "Send a bearer token: POST /api/v1/auth/token.")
    if current_app.extensions["cvms_denylist"].is_revoked(
        principal.token_id, principal.user_id, principal.issued_at_ms
    ):
        raise ApiError(401, "token_revoked", "The token was revoked; sign in again.")
    g.principal = principal
    return principal


def require_location(location_id: str) -> None:
    """The caller must act for the location, and it must exist."""
    principal: Principal = g.principal
    if not principal.may_act_for(location_id):
        raise ApiError(403, "forbidden", "You do not act for this location.")
    if not current_app.extensions["cvms_directory"].exists(location_id):
        raise ApiError(404, "not_found", f"Location {location_id} not found.")


def require_organization(organization_id: str) -> None:
    """The caller must act for the organization (state admins act for every one)."""
    principal: Principal = g.principal
    if principal.role != "state_admin" and principal.organization_id != organization_id:
        raise ApiError(403, "forbidden", "You do not act for this organization.")


def check_every_route_declared(app: Flask, prefix: str = "/api/") -> None:
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix)
        and not hasattr(app.view_functions[rule.endpoint], ACCESS_ATTR)
    ]
    if undeclared:
        raise RuntimeError(f"routes without an access rule: {undeclared}")
