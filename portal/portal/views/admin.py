"""Administration: users and API keys (organization admins), finding users, unlocking them and
issuing password links (the help desk), the audit log and the product catalog (state admins).

Who may do what is the API's answer: these pages call it as the signed-in person and show a
refusal as refused. One-time secrets (a set-password link, an API key) are shown once: kept in
the server-side session only until the page after the POST shows them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.forms import FormErrors
from portal.gateway import ApiProblem

bp = Blueprint("admin", __name__, url_prefix="/provider/admin")

ONCE = "admin_shown_once"
ROLE_LABELS = {
    "state_admin": _l("State admin"),
    "location_manager": _l("Location manager"),
    "vaccinator": _l("Vaccinator"),
    "org_admin": _l("Organization admin"),
    "helpdesk": _l("Help desk"),
    "recipient": _l("Recipient"),
    "partner": _l("Partner system"),
}
NEW_USER_ROLES = [("location_manager", _l("Location manager")), ("vaccinator", _l("Vaccinator"))]
SCOPES = [
    ("inventory:read", _l("Read inventory")),
    ("inventory:write", _l("Change inventory (receive, waste, transfer)")),
    ("administrations:read", _l("Read doses")),
    ("administrations:write", _l("Record doses")),
    ("recipients:read", _l("Read recipients")),
    ("recipients:write", _l("Register recipients")),
    ("appointments:read", _l("Read clinic days and appointments")),
    ("appointments:write", _l("Check in, no-show and walk-ins")),
]
PRODUCT_TEXT = ("name", "cap_color", "manufacturer")
PRODUCT_INTEGERS = (
    "doses_per_vial",
    "beyond_use_hours",
    "min_age_years",
    "series_doses",
    "min_interval_days",
    "storage_min_c",
    "storage_max_c",
)


def _show_once(kind: str, value: dict) -> None:
    session[ONCE] = {"kind": kind, **value}


def _shown(kind: str) -> dict | None:
    value = session.get(ONCE)
    if value and value.get("kind") == kind:
        session.pop(ONCE)
        return value
    return None


def _post_new(path: str, new: dict, *, taken: str | None = None) -> tuple[dict | None, FormErrors]:
    """Create a user or an API key from the form's filled fields: the API's answer, or the form's
    errors (a conflict said beside the `taken` field too)."""
    filled = {key: value for key, value in new.items() if value not in ("", [])}
    try:
        return api("POST", path, json=filled), FormErrors()
    except ApiProblem as problem:
        errors = FormErrors.refusal(problem)
        if problem.status == 409 and taken:
            errors.fields.setdefault(taken, []).append(errors.summary or "")
        return None, errors


def _form_page(template: str, account: dict, new: dict, errors: FormErrors, **context):
    """A page of the organization's users or API keys with its form for a new one: 400 when
    the form came back with errors."""
    page = render_template(template, account=account, new=new, errors=errors, **context)
    return page, (400 if errors else 200)


def _show_password_link(username: str, link: dict, *, created: bool) -> None:
    """Show once the set-password link (the API's token and expires_at) issued for a user; a new
    user's link goes to them by e-mail instead, unless the deployment sends none."""
    if "token" not in link:
        return
    url = url_for("auth.set_password", token=link["token"], _external=True)
    _show_once(
        "user_link",
        {"username": username, "url": url, "expires_at": link["expires_at"], "created": created},
    )


# -- users ---------------------------------------------------------------------------------------
@bp.route("/users", methods=["GET", "POST"])
@signed_in
def users():
    account = api("GET", "/account")
    errors = FormErrors()
    new = {"name": "", "email": "", "role": "", "location_ids": []}
    if request.method == "POST":
        new = {
            "name": request.form.get("name", "").strip(),
            "email": request.form.get("email", "").strip(),
            "role": request.form.get("role", ""),
            "location_ids": request.form.getlist("location_ids"),
        }
        path = f"/organizations/{account['organization_id']}/users"
        answer, errors = _post_new(path, new, taken="email")
        if answer is not None:
            name = answer["user"]["username"]
            _show_password_link(name, answer["set_password"], created=True)
            if answer["set_password"].get("sent_by_email"):
                flash(
                    _("%(name)s is created and e-mailed a link to set a password.", name=name),
                    "success",
                )
            else:
                flash(_("%(name)s is created.", name=name), "success")
            return redirect(url_for("admin.users"))
    query = request.args.get("q", "").strip()
    params = {"limit": 100, **({"q": query} if query else {})}
    found = api("GET", "/users", params=params)["users"]
    locations = []
    if account.get("organization_id"):
        locations = api("GET", "/locations", params={"limit": 100})["locations"]
    return _form_page(
        "admin/users.html",
        account,
        new,
        errors,
        users=found,
        query=query,
        locations=locations,
        link=_shown("user_link"),
        roles=ROLE_LABELS,
        new_roles=NEW_USER_ROLES,
    )


def _user_action(user_id: str, path: str, done: str):
    try:
        answer = api("POST", f"/users/{user_id}/{path}")
    except ApiProblem as problem:
        if problem.status not in (404, 409, 422):
            raise
        flash(FormErrors.from_problem(problem).summary or problem.message, "error")
        return None
    flash(done, "success")
    return answer


def _back_to_users():
    query = request.form.get("q", "")
    return redirect(url_for("admin.users", **({"q": query} if query else {})))


@bp.post("/users/<user_id>/deactivate")
@signed_in
def deactivate(user_id: str):
    _user_action(user_id, "deactivate", _("The user is deactivated."))
    return _back_to_users()


@bp.post("/users/<user_id>/unlock")
@signed_in
def unlock(user_id: str):
    _user_action(user_id, "unlock", _("The user can sign in again."))
    return _back_to_users()


@bp.post("/users/<user_id>/password-link")
@signed_in
def password_link(user_id: str):
    answer = _user_action(user_id, "password-reset-links", _("A password link is issued."))
    if answer:
        _show_password_link(request.form.get("username", ""), answer, created=False)
    return _back_to_users()


# -- API keys -----------------------------------------------------------------------------------
@bp.route("/api-keys", methods=["GET", "POST"])
@signed_in
def api_keys():
    account = api("GET", "/account")
    organization = account.get("organization_id")
    errors = FormErrors()
    new = {"name": "", "scopes": []}
    if request.method == "POST":
        new = {
            "name": request.form.get("name", "").strip(),
            "scopes": request.form.getlist("scopes"),
        }
        answer, errors = _post_new(f"/organizations/{organization}/api-keys", new)
        if answer is not None:
            _show_once("api_key", {"name": answer["name"], "key": answer["key"]})
            flash(_("The API key %(name)s is issued.", name=answer["name"]), "success")
            return redirect(url_for("admin.api_keys"))
    keys = api("GET", f"/organizations/{organization}/api-keys")["api_keys"]
    return _form_page(
        "admin/api_keys.html",
        account,
        new,
        errors,
        keys=keys,
        issued=_shown("api_key"),
        scopes=SCOPES,
        scope_labels=dict(SCOPES),
    )


@bp.post("/api-keys/<key_id>/revoke")
@signed_in
def revoke_api_key(key_id: str):
    account = api("GET", "/account")
    try:
        api("DELETE", f"/organizations/{account['organization_id']}/api-keys/{key_id}")
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        flash(_("That API key was not found."), "error")
    else:
        flash(_("The API key is revoked: it stops working now."), "success")
    return redirect(url_for("admin.api_keys"))


# -- the audit log ------------------------------------------------------------------------------
AUDIT_FILTERS = ("actor", "recipient_id", "location_id", "from", "to")


def _day_start(text: str, shift_days: int = 0) -> str | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=shift_days), time.min, tzinfo=UTC).isoformat()


@bp.get("/audit")
@signed_in
def audit():
    filters = {name: request.args.get(name, "").strip() for name in AUDIT_FILTERS}
    page = request.args.get("page", "1")
    params: dict = {
        name: filters[name] for name in ("actor", "recipient_id", "location_id") if filters[name]
    }
    errors = FormErrors()
    # Days as a person enters them: from the start of `from` to the end of `to` (UTC).
    for name, shift in (("from", 0), ("to", 1)):
        if filters[name]:
            value = _day_start(filters[name], shift)
            if value is None:
                errors.fields[name] = [_("Enter a date as YYYY-MM-DD.")]
            else:
                params[name] = value
    params["page"] = page if page.isdigit() else "1"
    result = {"events": [], "page": 1, "next_page": None}
    if errors:
        errors.summary = _("Some fields need your attention.")
    else:
        try:
            result = api("GET", "/audit-events", params=params)
        except ApiProblem as problem:
            if problem.status != 400:
                raise
            errors = FormErrors.from_problem(problem)
    searched = {name: value for name, value in filters.items() if value}
    return render_template(
        "admin/audit.html",
        filters=filters,
        searched=searched,
        result=result,
        errors=errors,
        roles=ROLE_LABELS,
    ), (400 if errors else 200)


# -- the product catalog ------------------------------------------------------------------------
@bp.get("/products")
@signed_in
def products():
    return render_template("admin/products.html", products=api("GET", "/products"))


def _product(product_id: str) -> dict | None:
    return next((p for p in api("GET", "/products") if p["id"] == product_id), None)


@bp.route("/products/<product_id>", methods=["GET", "POST"])
@signed_in
def product(product_id: str):
    current = _product(product_id)
    if current is None:
        return render_template("errors/404.html"), 404
    errors = FormErrors()
    values = dict(current)
    if request.method == "POST":
        changes: dict = {}
        for name in PRODUCT_TEXT:
            value = request.form.get(name, "").strip()
            values[name] = value
            if value != (current.get(name) or ""):
                changes[name] = value
        for name in PRODUCT_INTEGERS:
            text = request.form.get(name, "").strip()
            values[name] = text
            try:
                value = int(text)
            except ValueError:
                changes[name] = text  # the API says why it is not a number
                continue
            if value != current.get(name):
                changes[name] = value
        active = request.form.get("active") == "1"
        values["active"] = active
        if active != current.get("active"):
            changes["active"] = active
        if not changes:
            flash(_("Nothing changed."), "info")
            return redirect(url_for("admin.product", product_id=product_id))
        try:
            api("PATCH", f"/products/{product_id}", json=changes)
        except ApiProblem as problem:
            errors = FormErrors.refusal(problem)
        else:
            flash(_("%(name)s is saved.", name=values["name"]), "success")
            return redirect(url_for("admin.products"))
    return render_template("admin/product.html", product=current, values=values, errors=errors), (
        400 if errors else 200
    )
