"""Identity routes: signing in (access and refresh tokens, logout), setting a password through a
one-time link, password resets, user lookups and management (help desk, organization admins,
state admins), and partner API keys."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import redis
from flask import Blueprint, current_app, g, jsonify, request

from cvms_platform.codes import ROLES
from cvms_platform.errors import NotFound
from cvms_platform.timeutil import utcnow
from gateway import paging
from gateway.access import allow, public
from gateway.api.identity import schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.hardening import client_ip
from gateway.routing import API_PREFIX, body, call, created, services
from gateway.security import issue_token
from gateway.sessions import Lockout

log = logging.getLogger(__name__)

identity = Blueprint("identity", __name__, url_prefix=API_PREFIX)

USER_ADMINS = ("state_admin", "org_admin")
SUPPORT = ("state_admin", "helpdesk")


def _user_answer(user: dict) -> dict:
    """Identity's user, with how long their sign-in stays locked (the edge keeps that)."""
    throttle = current_app.extensions["cvms_login_throttle"]
    return {**user, "locked_for_seconds": throttle.user_locked(user["username"])}


def _end_access_tokens(user_id: str) -> None:
    """Access tokens the user holds stop working at once (their refresh tokens are revoked in
    the database already); one issued from now on works. Without Redis they run out within
    their lifetime: said in the log."""
    try:
        current_app.extensions["cvms_denylist"].revoke_user(
            user_id, int(time.time() * 1000) + 1, current_app.config["CVMS"].token_ttl_seconds
        )
    except redis.RedisError as exc:
        log.warning("cannot revoke a user's access tokens (they expire on their own): %s", exc)


# -- signing in: access and refresh tokens, logout ------------------------------------------------
@identity.post("/auth/token")
@public
@doc(
    "Exchange a username and password for a short-lived access token and a refresh token",
    tag="auth",
    body=schemas.TokenRequest,
    responses={
        200: ("A bearer token and a refresh token", schemas.TokenResponse),
        401: "Wrong username or password",
        429: "Too many failed sign-ins for this username or address: wait Retry-After",
    },
)
def issue_access_token():
    credentials = body()
    throttle = current_app.extensions["cvms_login_throttle"]
    username, ip = credentials["username"], client_ip()
    # Locked or not is decided before the password is checked, the same way for usernames
    # that exist and those that do not.
    if lockout := throttle.locked(username, ip):
        raise _too_many_attempts(lockout)
    signed_in = call.identity.sign_in(credentials)
    if signed_in is None:
        if lockout := throttle.failed(username, ip):
            raise _too_many_attempts(lockout)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    throttle.succeeded(username)
    return _session_answer(signed_in)


def _too_many_attempts(lockout: Lockout) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        "Too many failed sign-ins; try again later.",
        headers={"Retry-After": str(lockout.retry_after)},
    )


def _session_answer(signed_in: dict):
    """The access token for identity's answer (an organization admin acts for the
    organization's locations as they are at sign-in) and the refresh token it issued."""
    settings = current_app.config["CVMS"]
    user = signed_in["user"]
    refresh_ends = datetime.fromisoformat(signed_in["refresh_expires_at"])
    return jsonify(
        access_token=issue_token(user, settings.jwt_secret, settings.token_ttl_seconds),
        token_type="Bearer",
        expires_in=settings.token_ttl_seconds,
        refresh_token=signed_in["refresh_token"],
        refresh_expires_in=max(0, int((refresh_ends - utcnow()).total_seconds())),
        role=user["role"],
        locations=user["location_ids"],
    )


@identity.post("/auth/refresh")
@public
@doc(
    "Exchange a refresh token for a new access token and a new refresh token (the one presented "
    "stops working; presenting it again ends every session of its user)",
    tag="auth",
    body=schemas.RefreshRequest,
    responses={
        200: ("A bearer token and the next refresh token", schemas.TokenResponse),
        401: "Unknown, expired or revoked refresh token",
    },
)
def refresh_access_token():
    presented = body()["refresh_token"]
    refreshed = call.identity.refresh(presented)
    if refreshed is None:
        raise ApiError(
            401, "invalid_refresh_token", "The refresh token is not valid; sign in again."
        )
    return _session_answer(refreshed)


@identity.post("/auth/logout")
@allow(*ROLES)
@doc(
    "Revoke the access token presented, at once, and the refresh token given (if any)",
    tag="auth",
    body=schemas.LogoutRequest,
    responses={204: ("Signed out", None)},
)
def logout():
    request_body = body()
    principal = g.principal
    if "refresh_token" in request_body:
        call.identity.revoke_refresh_token(request_body["refresh_token"], principal.user_id)
    try:
        current_app.extensions["cvms_denylist"].revoke(
            principal.token_id, principal.expires_at, time.time()
        )
    except redis.RedisError as exc:
        # The access token would go on working: say so, so the client retries.
        log.error("logout could not revoke the access token: %s", exc)
        raise _try_again_shortly("Could not revoke the token") from None
    return "", 204


def _try_again_shortly(what_failed: str) -> ApiError:
    """503, Retry-After 5 s: Redis, which a step of the request needs, did not answer."""
    return ApiError(
        503,
        "service_unavailable",
        f"{what_failed}; try again shortly.",
        headers={"Retry-After": "5"},
    )


# -- passwords ------------------------------------------------------------------------------------
@identity.post("/auth/password/set")
@public
@doc(
    "Set a password with a one-time link's token (an invitation or a reset). The link dies, the "
    "user becomes active, and every session of the user ends (refresh and access tokens)",
    tag="auth",
    body=schemas.SetPassword,
    responses={204: ("The password is set; sign in with it", None)},
)
def set_password():
    given = body()
    user = call.identity.set_password(given)
    _end_access_tokens(user["user_id"])
    return "", 204


@identity.post("/auth/password/reset-requests")
@public
@doc(
    "Ask for a password reset link for a username. Always answers 202, whether or not the "
    "username exists; the link goes to the user's e-mail address",
    tag="auth",
    body=schemas.PasswordResetRequest,
    responses={202: ("Accepted", schemas.Accepted)},
)
def request_password_reset():
    username = body()["username"]
    call.identity.request_password_reset(username)
    response = jsonify(message="If the username exists, a reset link is on its way.")
    response.status_code = 202
    return response


@identity.post("/users/<user_id>/password-reset-links")
@allow(*SUPPORT, "org_admin")
@doc(
    "Issue a one-time password reset link for a user, shown to you to hand on (help desk; "
    "organization admins: their organization's users)",
    tag="users",
    responses={
        201: ("The link", schemas.PasswordLink),
        409: "The user is deactivated",
    },
)
def issue_password_reset_link(user_id: str):
    link = call.identity.issue_password_reset_link(g.principal.actor(), user_id)
    return created(link, f"{API_PREFIX}/users/{user_id}")


# -- the signed-in person --------------------------------------------------------------------------
@identity.get("/account")
@allow(*(role for role in ROLES if role != "recipient"))
@doc(
    "The signed-in person: username, role, organization and the locations they act for",
    tag="users",
    responses={200: ("The account", schemas.Account)},
)
def read_account():
    principal = g.principal
    with services() as s:
        try:
            display_name = s.identity.get_account(principal.user_id)["display_name"]
        except NotFound:
            display_name = None
    return jsonify(
        schemas.Account().dump(
            {
                "user_id": principal.user_id,
                "username": principal.username,
                "display_name": display_name,
                "role": principal.role,
                "organization_id": principal.organization_id,
                "location_ids": sorted(principal.location_ids),
            }
        )
    )


@identity.get("/locations")
@allow(*(role for role in ROLES if role != "recipient"))
@doc(
    "The locations the caller acts for, with their names (state admins and the help desk: "
    "every location), `?q=` filters by id or name",
    tag="users",
    responses={200: ("Locations", schemas.LocationList)},
)
def list_locations():
    text = request.args.get("q", "").strip()[:100]
    found = call.identity.list_locations(g.principal.actor(), text, paging.page_size())
    return jsonify(locations=found)


# -- users ----------------------------------------------------------------------------------------
@identity.get("/users")
@allow("state_admin", "helpdesk", "org_admin")
@doc(
    "Find users whose username or e-mail starts with `?q=` (organization admins: their "
    "organization's users only), `?limit=`",
    tag="users",
    responses={200: ("Users", schemas.UserList)},
)
def find_users():
    query = request.args.get("q", "").strip()[:254] or None
    found = call.identity.find_users(g.principal.actor(), query, paging.page_size())
    return jsonify(users=[_user_answer(user) for user in found])


@identity.get("/users/<user_id>")
@allow("state_admin", "helpdesk", "org_admin")
@doc(
    "A user's account: role, what they act for, active, locked out",
    tag="users",
    responses={200: ("The user", schemas.UserView)},
)
def read_user(user_id: str):
    return jsonify(_user_answer(call.identity.get_user(g.principal.actor(), user_id)))


@identity.post("/users/<user_id>/unlock")
@allow(*SUPPORT)
@doc(
    "End a user's sign-in lockout after failed sign-ins",
    tag="users",
    responses={204: ("Unlocked", None)},
)
def unlock_user(user_id: str):
    user = call.identity.get_user(g.principal.actor(), user_id)
    try:
        current_app.extensions["cvms_login_throttle"].unlock(user["username"])
    except redis.RedisError as exc:
        log.error("cannot unlock a user: %s", exc)
        raise _try_again_shortly("Could not unlock") from None
    return "", 204


@identity.post("/users/<user_id>/deactivate")
@allow(*USER_ADMINS)
@doc(
    "Deactivate a user: no more sign-ins, and their tokens stop working at once (organization "
    "admins: their organization's location users)",
    tag="users",
    responses={200: ("The user", schemas.UserView), 409: "That is you"},
)
def deactivate_user(user_id: str):
    user = call.identity.deactivate_user(g.principal.actor(), user_id)
    _end_access_tokens(user["id"])
    return jsonify(_user_answer(user))


@identity.post("/organizations/<organization_id>/users")
@allow(*USER_ADMINS, organization_scoped=True)
@doc(
    "Create a location manager or vaccinator of the organization's locations; answers their "
    "one-time set-password link",
    tag="users",
    body=schemas.NewLocationUser,
    responses={
        201: ("The user (inactive until the password is set) and the link", schemas.InvitedUser),
        409: "The e-mail address has an account",
        422: "A location is not the organization's",
    },
)
def create_location_user(organization_id: str):
    given = body()
    invited = call.identity.create_location_user(g.principal.actor(), organization_id, given)
    answer = {**invited, "user": _user_answer(invited["user"])}
    return created(answer, f"{API_PREFIX}/users/{invited['user']['id']}")


# -- API keys -------------------------------------------------------------------------------------


@identity.post("/organizations/<organization_id>/api-keys")
@allow(*USER_ADMINS, organization_scoped=True)
@doc(
    "Issue an API key for a partner system of the organization, with scopes; the key is shown "
    "once (send it as X-API-Key)",
    tag="api-keys",
    body=schemas.NewApiKey,
    responses={201: ("The key", schemas.IssuedApiKey)},
)
def issue_api_key(organization_id: str):
    given = body()
    issued = call.identity.issue_api_key(g.principal.actor(), organization_id, given)
    return created(issued, f"{API_PREFIX}/organizations/{organization_id}/api-keys")


@identity.get("/organizations/<organization_id>/api-keys")
@allow(*USER_ADMINS, organization_scoped=True)
@doc(
    "The organization's API keys (never the keys themselves), with when each was last used",
    tag="api-keys",
    responses={200: ("Keys", schemas.ApiKeyList)},
)
def list_api_keys(organization_id: str):
    return jsonify(api_keys=call.identity.list_api_keys(organization_id))


@identity.delete("/organizations/<organization_id>/api-keys/<key_id>")
@allow(*USER_ADMINS, organization_scoped=True)
@doc(
    "Revoke an API key: it stops working at once",
    tag="api-keys",
    responses={204: ("Revoked", None)},
)
def revoke_api_key(organization_id: str, key_id: str):
    revoked = call.identity.revoke_api_key(organization_id, key_id)
    if not revoked:
        raise NotFound(f"API key {key_id} not found.")
    current_app.extensions["cvms_directory"].forget_key(key_id)
    # Other workers remember the key for up to `api_key_cache_seconds`: tell them through
    # Redis until then. Without Redis they still refuse it once that second has passed.
    now = time.time()
    try:
        current_app.extensions["cvms_denylist"].revoke(
            key_id, now + current_app.config["CVMS"].api_key_cache_seconds + 1, now
        )
    except redis.RedisError as exc:
        log.warning("cannot tell other workers a key was revoked (they stop within 1 s): %s", exc)
    return "", 204
