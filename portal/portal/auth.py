"""Who is signed in, and calling the API as them.

The portal holds no access rule of its own: it knows only whether someone is signed in (and as
what role, to lay out the navigation). What a person may see or change is the API's answer;
a 403 from the API is shown as refused.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, redirect, request, session, stream_with_context, url_for

from portal.gateway import ApiProblem, gateway
from portal.tokens import SignedOut, Tokens, TokenStore

STAFF_ROLES = frozenset({"state_admin", "location_manager", "vaccinator", "org_admin", "helpdesk"})


def token_store() -> TokenStore:
    return current_app.extensions["cvms_tokens"]


def current_user() -> dict | None:
    """What the navigation needs to know of the signed-in person, or None."""
    if "auth" not in session:
        return None
    return {
        "username": session.get("username"),
        "role": session.get("role"),
        "locations": session.get("locations", []),
        "organization_id": session.get("organization_id"),
    }


def is_staff() -> bool:
    user = current_user()
    return bool(user and user["role"] in STAFF_ROLES)


def begin_session(username: str, answer: dict) -> None:
    """Sign-in succeeded: a new session id (no fixation), the tokens kept server-side."""
    current_app.session_interface.regenerate(session)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    tokens = Tokens.from_answer(username, answer, time.time())
    session["auth"] = token_store().save(tokens)
    session["username"] = username
    session["role"] = tokens.role
    session["locations"] = tokens.locations
    session["seen"] = time.time()
    session.permanent = True


def end_session() -> None:
    """Sign out: revoke the access and refresh tokens at the gateway, then forget them."""
    ref = session.get("auth")
    if ref:
        tokens = token_store().forget(ref)
        if tokens:
            # Already expired or revoked (a 4xx): nothing left to revoke.
            with contextlib.suppress(ApiProblem):
                gateway().call(
                    "POST",
                    "/auth/logout",
                    token=tokens.access_token,
                    json={"refresh_token": tokens.refresh_token},
                )
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    current_app.session_interface.regenerate(session)


def api(method: str, path: str, **kwargs: Any) -> Any:
    """Call the API as the signed-in person (anonymously when nobody is signed in)."""
    ref = session.get("auth")
    if not ref:
        return gateway().call(method, path, **kwargs)
    store = token_store()
    token = store.access_token(ref)
    try:
        return gateway().call(method, path, token=token, **kwargs)
    except ApiProblem as problem:
        # Revoked or expired early (a secret rotated): one unseen refresh, then one retry.
        if problem.status != 401:
            raise
        token = store.refresh(ref, stale=token).access_token
        return gateway().call(method, path, token=token, **kwargs)


def api_download(path: str, params: dict | None = None, fallback_name: str = "download"):
    """The API's bytes (a PDF, a CSV) streamed to the browser as the signed-in person, with the
    API's content type and file name."""
    answer = api("GET", path, params=params, raw=True)
    headers = {
        "Content-Disposition": answer.headers.get(
            "Content-Disposition", f'attachment; filename="{fallback_name}"'
        )
    }
    if "Content-Length" in answer.headers:
        headers["Content-Length"] = answer.headers["Content-Length"]

    def chunks():
        try:
            yield from answer.iter_content(64 * 1024)
        finally:
            answer.close()

    return Response(
        stream_with_context(chunks()),
        content_type=answer.headers.get("Content-Type", "application/octet-stream"),
        headers=headers,
    )


def signed_in(view: Callable) -> Callable:
    """The page needs someone signed in; the API decides what they may see."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if "auth" not in session:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def check_idle() -> None:
    """Runs before every request: a signed-in session idle too long ends here."""
    if "auth" not in session:
        return
    settings = current_app.config["CVMS_PORTAL"]
    now = time.time()
    if now - session.get("seen", now) > settings.idle_timeout_seconds:
        end_session()
        g.idle_signed_out = True
        raise SignedOut()
    if request.endpoint not in ("static", "auth.session_status"):
        session["seen"] = now
