"""Provider enrollment: the public application and the state admin's review queue.

The applicant needs no account. Their draft is held by the edit token the API answers once:
the portal keeps it in the applicant's server-side session and shows it once, with the
application number, so they can come back from another browser (the resume page). Section B
grows and shrinks by submit buttons that re-render the form, so it works without JavaScript.
Completeness and consistency are the API's: its 400/422 field errors are shown beside the
fields (the form's field names are the API's dotted paths)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.forms import FormErrors
from portal.gateway import ApiProblem, gateway

bp = Blueprint("enrollment", __name__)

TOKEN_HEADER = "X-Enrollment-Token"
HELD = "enrollments"  # session key: {enrollment id: edit token}
SHOW_TOKEN = "enrollment_token_shown"
APPROVED = "enrollment_approved"
MAX_LOCATIONS = 100
MAX_USERS = 200

LOCATION_TYPES = [
    ("clinic", _l("Clinic")),
    ("pharmacy", _l("Pharmacy")),
    ("hospital", _l("Hospital")),
    ("health_department", _l("Health department")),
    ("long_term_care", _l("Long-term care facility")),
    ("mass_vaccination_site", _l("Mass vaccination site")),
    ("mobile_unit", _l("Mobile unit")),
    ("other", _l("Other")),
]
ROLES = [("location_manager", _l("Location manager")), ("vaccinator", _l("Vaccinator"))]
ROLE_LABELS = {**dict(ROLES), "org_admin": _l("Organization admin")}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted, waiting for review"),
    "approved": _l("Approved"),
    "rejected": _l("Returned for corrections"),
}
INTEGER_FIELDS = {"refrigerated_doses", "frozen_doses", "ultra_cold_doses"}
FIELD_NAME = re.compile(r"^(organization|locations)(\.[A-Za-z0-9_]+)+$")


# -- the form as the API has it, and as the page posts it -----------------------------------------
def _set(tree: dict, path: list[str], value: str) -> None:
    """Put `value` at a dotted path; numeric parts are list indexes (kept as dict keys here)."""
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _listify(node):
    """Dicts whose keys are all indexes become lists, in index order."""
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [_listify(node[key]) for key in sorted(node, key=int)]
        return {key: _listify(value) for key, value in node.items()}
    return node


def posted_form() -> dict:
    """The form as posted: every field, empty ones too (the page shows them again)."""
    tree: dict = {}
    for name, value in request.form.items():
        if FIELD_NAME.match(name):
            _set(tree, name.split("."), value.strip())
    form = _listify(tree)
    form.setdefault("organization", {})
    locations = form.get("locations") or []
    form["locations"] = [
        {**location, "users": location.get("users") or []}
        for location in (locations if isinstance(locations, list) else [])
    ]
    return form


def _filled(node):
    """What the API is sent: empty fields and empty rows left out (a draft may be partial)."""
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            value = _filled(value)
            if value in ("", None, {}, []):
                continue
            if key in INTEGER_FIELDS and isinstance(value, str) and value.isdigit():
                value = int(value)
            kept[key] = value
        return kept
    if isinstance(node, list):
        return [item for item in (_filled(item) for item in node) if item not in ("", {}, [])]
    return node


def api_body(form: dict) -> dict:
    body = {"organization": _filled(form["organization"])}
    body["locations"] = _filled(form["locations"])
    return body


def flat_values(node, prefix: str = "") -> dict[str, str]:
    """`organization.address.city` -> value, for the template's fields."""
    values: dict[str, str] = {}
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = ((str(index), item) for index, item in enumerate(node))
    else:
        return {prefix: "" if node is None else str(node)}
    for key, value in items:
        values.update(flat_values(value, f"{prefix}.{key}" if prefix else key))
    return values


def with_rows(form: dict) -> dict:
    """At least one location, each with at least one user row, for the page to show."""
    if not form["locations"]:
        form["locations"] = [{"users": []}]
    for location in form["locations"]:
        location.setdefault("users", [])
        if not location["users"]:
            location["users"].append({})
    return form


def change_rows(form: dict, action: str) -> bool:
    """Apply an add/remove row button; True when the action was one."""
    parts = action.split(":")
    locations = form["locations"]
    try:
        if parts[0] == "add_location" and len(locations) < MAX_LOCATIONS:
            locations.append({"users": [{}]})
        elif parts[0] == "remove_location":
            del locations[int(parts[1])]
        elif parts[0] == "add_user":
            users = locations[int(parts[1])].setdefault("users", [])
            if len(users) < MAX_USERS:
                users.append({})
        elif parts[0] == "remove_user":
            del locations[int(parts[1])]["users"][int(parts[2])]
        else:
            return False
    except (IndexError, ValueError):
        return True  # a stale page's button: show the form as it is
    return True


def enrollment_errors(problem: ApiProblem) -> FormErrors:
    errors = FormErrors.from_problem(problem)
    return errors


# -- the applicant's side (public) -----------------------------------------------------------------
def _held() -> dict:
    return session.get(HELD, {})


def _remember(enrollment_id: str, token: str) -> None:
    held = dict(_held())
    held[enrollment_id] = token
    session[HELD] = held


def _token(enrollment_id: str) -> str | None:
    return _held().get(enrollment_id)


def _call(method: str, path: str, token: str | None = None, **kwargs):
    headers = {TOKEN_HEADER: token} if token else {}
    return gateway().call(method, path, headers=headers, **kwargs)


@bp.get("/enroll/")
def start():
    return render_template("enrollment/start.html", held=list(_held()))


@bp.route("/enroll/new", methods=["GET", "POST"])
def new():
    form = posted_form() if request.method == "POST" else {"organization": {}, "locations": []}
    errors = FormErrors()
    if request.method == "POST":
        action = request.form.get("action", "save")
        if not change_rows(form, action):
            try:
                answer = _call("POST", "/enrollments", json=api_body(form))
            except ApiProblem as problem:
                if problem.status in (400, 422):
                    errors = enrollment_errors(problem)
                else:
                    raise
            else:
                _remember(answer["id"], answer["edit_token"])
                session[SHOW_TOKEN] = answer["id"]
                flash(_("Your application is saved as a draft."), "success")
                return redirect(url_for("enrollment.edit", enrollment_id=answer["id"]))
    return _form_page(None, form, errors, status="draft")


@bp.route("/enroll/<enrollment_id>", methods=["GET", "POST"])
def edit(enrollment_id: str):
    token = _token(enrollment_id)
    if not token:
        flash(_("Enter your application number and edit code to continue."), "info")
        return redirect(url_for("enrollment.resume", enrollment_id=enrollment_id))
    saved = _read(enrollment_id, token)
    if saved is None:
        return redirect(url_for("enrollment.resume", enrollment_id=enrollment_id))
    errors = FormErrors()
    editable = saved["status"] in ("draft", "rejected")
    if request.method == "POST":
        if not editable:
            flash(_("This application can no longer be changed."), "warning")
            return redirect(url_for("enrollment.edit", enrollment_id=enrollment_id))
        form = posted_form()
        action = request.form.get("action", "save")
        if change_rows(form, action):
            return _form_page(saved, form, errors, status=saved["status"])
        try:
            _call("PUT", f"/enrollments/{enrollment_id}", token, json=api_body(form))
            if action == "submit":
                _call("POST", f"/enrollments/{enrollment_id}/submit", token)
        except ApiProblem as problem:
            if problem.status not in (400, 409, 422):
                raise
            errors = enrollment_errors(problem)
            if action == "submit" and problem.status == 422:
                errors.summary = _(
                    "Your changes are saved, but the application is not complete yet. "
                    "Correct the fields below and submit again."
                )
            return _form_page(saved, form, errors, status=saved["status"])
        if action == "submit":
            flash(
                _("Your application is submitted. A state administrator will review it."), "success"
            )
        else:
            flash(_("Your application is saved as a draft."), "success")
        return redirect(url_for("enrollment.edit", enrollment_id=enrollment_id))
    shown_token = None
    if session.get(SHOW_TOKEN) == enrollment_id:
        session.pop(SHOW_TOKEN)
        shown_token = token
    if not editable:
        return render_template(
            "enrollment/status.html",
            enrollment=saved,
            status_label=STATUS_LABELS.get(saved["status"], saved["status"]),
            shown_token=shown_token,
            location_types=dict(LOCATION_TYPES),
            roles=dict(ROLES),
        )
    form = with_rows(
        {"organization": saved["organization"] or {}, "locations": saved["locations"] or []}
    )
    return _form_page(saved, form, errors, status=saved["status"], shown_token=shown_token)


def _read(enrollment_id: str, token: str) -> dict | None:
    try:
        return _call("GET", f"/enrollments/{enrollment_id}", token)
    except ApiProblem as problem:
        if problem.status in (400, 404):
            held = dict(_held())
            held.pop(enrollment_id, None)
            session[HELD] = held
            flash(_("We could not find that application with that edit code."), "error")
            return None
        raise


def _form_page(saved, form, errors, status, shown_token=None):
    form = with_rows(form)
    return render_template(
        "enrollment/form.html",
        enrollment=saved,
        form=form,
        values=flat_values(form),
        errors=errors,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        shown_token=shown_token,
        location_types=LOCATION_TYPES,
        roles=ROLES,
    ), (400 if errors else 200)


@bp.route("/enroll/resume", methods=["GET", "POST"])
def resume():
    errors = FormErrors()
    enrollment_id = request.values.get("enrollment_id", "").strip()
    if request.method == "POST":
        token = request.form.get("edit_token", "").strip()
        if not enrollment_id or not token:
            errors = FormErrors(summary=_("Enter your application number and edit code."))
            if not enrollment_id:
                errors.fields["enrollment_id"] = [_("Enter your application number.")]
            if not token:
                errors.fields["edit_token"] = [_("Enter your edit code.")]
        else:
            try:
                _call("GET", f"/enrollments/{enrollment_id}", token)
            except ApiProblem as problem:
                if problem.status not in (400, 404):
                    raise
                errors = FormErrors(
                    summary=_("We could not find that application with that edit code.")
                )
            else:
                _remember(enrollment_id, token)
                return redirect(url_for("enrollment.edit", enrollment_id=enrollment_id))
    return render_template("enrollment/resume.html", errors=errors, enrollment_id=enrollment_id), (
        400 if errors else 200
    )


# -- the state admin's review queue --------------------------------------------------------------
@bp.get("/provider/enrollments")
@signed_in
def reviews():
    status = request.args.get("status", "submitted")
    if status not in ("submitted", "rejected", "approved"):
        status = "submitted"
    found = api("GET", "/enrollment-reviews", params={"status": status, "limit": 100})
    return render_template(
        "enrollment/reviews.html",
        enrollments=found["enrollments"],
        status=status,
        status_labels=STATUS_LABELS,
    )


@bp.route("/provider/enrollments/<enrollment_id>", methods=["GET", "POST"])
@signed_in
def review(enrollment_id: str):
    errors = FormErrors()
    reason = ""
    if request.method == "POST":
        decision = request.form.get("decision")
        reason = request.form.get("reason", "").strip()
        try:
            if decision == "approve":
                answer = api("POST", f"/enrollment-reviews/{enrollment_id}/approve")
                session[APPROVED] = answer
                return redirect(url_for("enrollment.approved", enrollment_id=enrollment_id))
            if decision == "reject":
                if not reason:
                    errors = FormErrors.single(
                        "reason", _("Say why, so the applicant can correct the application.")
                    )
                else:
                    api(
                        "POST",
                        f"/enrollment-reviews/{enrollment_id}/reject",
                        json={"reason": reason},
                    )
                    flash(_("The application is returned to the applicant."), "success")
                    return redirect(url_for("enrollment.reviews"))
            else:
                abort(400)
        except ApiProblem as problem:
            errors = FormErrors.refusal(problem)
    found = api("GET", f"/enrollment-reviews/{enrollment_id}")
    return render_template(
        "enrollment/review.html",
        enrollment=found,
        errors=errors,
        reason=reason,
        status_label=STATUS_LABELS.get(found["status"], found["status"]),
        location_types=dict(LOCATION_TYPES),
        roles=dict(ROLES),
    ), (400 if errors else 200)


@bp.get("/provider/enrollments/<enrollment_id>/approved")
@signed_in
def approved(enrollment_id: str):
    """The new users and their set-password links: e-mailed to each user, or (where the
    deployment sends no e-mail) as the API answered them, shown once."""
    answer = session.pop(APPROVED, None)
    if not answer or answer.get("enrollment_id") != enrollment_id:
        flash(_("The set-password links were shown once and are no longer available."), "info")
        return redirect(url_for("enrollment.review", enrollment_id=enrollment_id))
    links = [
        {
            **invitation,
            "url": url_for(
                "auth.set_password", token=invitation["set_password_token"], _external=True
            )
            if "set_password_token" in invitation
            else None,
        }
        for invitation in answer["invitations"]
    ]
    return render_template(
        "enrollment/approved.html",
        answer=answer,
        links=links,
        handed_out=any(link["url"] for link in links),
        roles=ROLE_LABELS,
    )
