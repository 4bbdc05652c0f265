"""Sign in and out, forgotten passwords, set a password from a one-time link, the language."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from portal import auth
from portal.forms import FormErrors
from portal.gateway import ApiProblem, gateway
from portal.i18n import LANG_COOKIE, LANGUAGES

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only a path of this site: never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def landing_for(role: str | None) -> str:
    if role == "recipient":
        return url_for("recipient.home")
    if role == "requester":
        return url_for("helpdesk.cases")
    return url_for("provider.home")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors = FormErrors()
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            errors = FormErrors(summary=_("Enter your username and password."))
            if not username:
                errors.fields["username"] = [_("Enter your username.")]
            if not password:
                errors.fields["password"] = [_("Enter your password.")]
        else:
            try:
                answer = gateway().call(
                    "POST", "/auth/token", json={"username": username, "password": password}
                )
            except ApiProblem as problem:
                if problem.status == 429:
                    errors = FormErrors(
                        summary=_("Too many failed sign-ins. Wait a few minutes and try again.")
                    )
                elif problem.status == 401:
                    errors = FormErrors(summary=_("Wrong username or password."))
                else:
                    errors = FormErrors.from_problem(problem)
            else:
                auth.begin_session(username, answer)
                target = safe_next(request.args.get("next"), landing_for(answer.get("role")))
                return redirect(target)
    status = 200 if not errors else 400
    return render_template("auth/sign_in.html", errors=errors, username=username), status


@bp.post("/sign-out")
def sign_out():
    auth.end_session()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    errors = FormErrors()
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        if not username:
            errors = FormErrors.single("username", _("Enter your username."))
        else:
            try:
                gateway().call("POST", "/auth/password/reset-requests", json={"username": username})
            except ApiProblem as problem:
                errors = FormErrors.from_problem(problem)
            else:
                # Always the same answer: whether a username exists is not told.
                return render_template("auth/forgot_sent.html")
    return render_template("auth/forgot.html", errors=errors), 400 if errors else 200


@bp.route("/password/set", methods=["GET", "POST"])
def set_password():
    token = request.values.get("token", "")
    errors = FormErrors()
    if request.method == "POST":
        password = request.form.get("password", "")
        confirm = request.form.get("confirm_password", "")
        if password != confirm:
            errors = FormErrors.single("confirm_password", _("The two passwords differ."))
        else:
            try:
                gateway().call(
                    "POST", "/auth/password/set", json={"token": token, "password": password}
                )
            except ApiProblem as problem:
                errors = FormErrors.from_problem(problem)
            else:
                flash(_("Your password is set. You can sign in now."), "success")
                return redirect(url_for("auth.sign_in"))
    return render_template("auth/set_password.html", token=token, errors=errors), (
        400 if errors else 200
    )


@bp.get("/language/<code>")
def choose_language(code: str):
    """The language switch: a plain link, so it works without JavaScript; remembered in the
    session and for a year in this browser."""
    target = safe_next(request.args.get("next"), url_for("home.index"))
    response = make_response(redirect(target))
    if code in LANGUAGES:
        session["lang"] = code
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["CVMS_PORTAL"].secure_cookies,
        )
    return response


@bp.post("/session/keep-alive")
def keep_alive():
    """The idle warning's "stay signed in": a request, so the session's clock restarts."""
    return jsonify(signed_in="auth" in session)


@bp.get("/session/status")
def session_status():
    """How long the session has left, for the idle warning (does not restart the clock)."""
    if "auth" not in session:
        return jsonify(signed_in=False)
    settings = current_app.config["CVMS_PORTAL"]
    left = settings.idle_timeout_seconds - (time.time() - session.get("seen", time.time()))
    return jsonify(signed_in=True, seconds_left=max(0, int(left)))
