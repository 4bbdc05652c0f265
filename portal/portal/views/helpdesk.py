"""The help desk for the people it helps (issue 15): register a help-desk account (not a
provider's or recipient's login), verify the address from the e-mailed link, then, signed in,
"Get Help" (the intake form), follow one's own cases, answer them and confirm a resolution.
What a person may see is the API's answer: another's case is not found."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.forms import FormErrors
from portal.gateway import ApiProblem, gateway
from portal.i18n import LANGUAGE_CHOICES

bp = Blueprint("helpdesk", __name__, url_prefix="/helpdesk")

REQUESTER_TYPES = [
    ("vaccine_provider", _l("A vaccine provider")),
    ("recipient", _l("A vaccine recipient")),
    ("public", _l("A member of the public")),
]
TOPICS = [
    ("enrollment", _l("Provider enrollment")),
    ("inventory_and_ordering", _l("Inventory and ordering")),
    ("dose_records_and_portal", _l("Dose records and the recipient portal")),
    ("scheduling", _l("Scheduling")),
    ("marketplace", _l("The Vaccine Marketplace")),
    ("account_and_sign_in", _l("My account and signing in")),
    ("technical_problem", _l("A technical problem")),
    ("other", _l("Something else")),
]
CHANNELS = [("email", _l("By e-mail")), ("phone", _l("By phone"))]
STATUSES = {
    "new": _l("New"),
    "open": _l("Open"),
    "pending": _l("Waiting for your answer"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
CASE_FIELDS = (
    "requester_type",
    "topic",
    "organization_id",
    "location_id",
    "summary",
    "description",
    "language",
    "contact_channel",
    "contact_phone",
)


@bp.app_context_processor
def _helpdesk_names():
    return {
        "helpdesk_statuses": STATUSES,
        "helpdesk_topics": dict(TOPICS),
    }


@bp.route("/register", methods=["GET", "POST"])
def register():
    errors = FormErrors()
    if request.method == "POST":
        form = request.form
        if form.get("password", "") != form.get("confirm_password", ""):
            errors = FormErrors.single("confirm_password", _("The two passwords differ."))
        else:
            try:
                gateway().call(
                    "POST",
                    "/helpdesk/accounts",
                    json={
                        "email": form.get("email", "").strip(),
                        "password": form.get("password", ""),
                        "language": form.get("language") or "en",
                    },
                )
            except ApiProblem as problem:
                errors = FormErrors.from_problem(problem)
            else:
                return render_template("helpdesk/registered.html")
    return render_template(
        "helpdesk/register.html", errors=errors, language_choices=LANGUAGE_CHOICES
    ), (400 if errors else 200)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    """The e-mailed link opens this page; verifying takes a click, so that a mail scanner
    following the link verifies nothing."""
    token = request.values.get("token", "")
    errors = FormErrors()
    if request.method == "POST":
        try:
            gateway().call("POST", "/helpdesk/accounts/verify", json={"token": token})
        except ApiProblem as problem:
            errors = FormErrors.from_problem(problem)
        else:
            flash(
                _("Your e-mail address is verified. Sign in with it and your password."), "success"
            )
            return redirect(url_for("auth.sign_in", next=url_for("helpdesk.cases")))
    return render_template("helpdesk/verify.html", token=token, errors=errors), (
        400 if errors else 200
    )


@bp.get("/cases")
@signed_in
def cases():
    return render_template("helpdesk/cases.html", cases=api("GET", "/helpdesk/my/cases"))


@bp.route("/cases/new", methods=["GET", "POST"])
@signed_in
def new_case():
    errors = FormErrors()
    values = {"language": "en", "contact_channel": "email", "requester_type": "public"}
    suggestions = None
    if request.method == "POST" and request.form.get("action") == "suggest":
        # Articles that may answer the question before it is sent: found by its summary.
        values = {name: request.form.get(name, "").strip() for name in CASE_FIELDS}
        words = f"{values['summary']} {values['description']}".strip()[:200]
        suggestions = (
            api(
                "GET",
                "/helpdesk/articles",
                params={"q": words, "lang": values["language"] or "en", "limit": 5},
            )
            if words
            else []
        )
    elif request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in CASE_FIELDS}
        body = {name: value for name, value in values.items() if value}
        try:
            case = api("POST", "/helpdesk/cases", json=body)
        except ApiProblem as problem:
            errors = FormErrors.from_problem(problem)
        else:
            flash(_("Your case %(reference)s is filed.", reference=case["reference"]), "success")
            return redirect(url_for("helpdesk.case", case_id=case["id"]))
    return render_template(
        "helpdesk/new_case.html",
        errors=errors,
        values=values,
        suggestions=suggestions,
        requester_types=REQUESTER_TYPES,
        topics=TOPICS,
        channels=CHANNELS,
        language_choices=LANGUAGE_CHOICES,
    ), (400 if errors else 200)


# -- agents ------------------------------------------------------------------------------------
@bp.get("/queue")
@signed_in
def queue():
    """The agent's teams' cases, what is due first first (those waiting on the requester last)."""
    found = api("GET", "/helpdesk/queue", params={"include_pending": "true"})
    return render_template("helpdesk/queue.html", cases=found)


AGENT_ACTIONS = {
    "reply": ("replies", "body", _l("Your reply is sent to the requester.")),
    "note": ("notes", "body", _l("The internal note is added.")),
    "resolve": (
        "resolve",
        "notes",
        _l("The case is resolved; the requester is e-mailed the notes."),
    ),
}


@bp.route("/work/<case_id>", methods=["GET", "POST"])
@signed_in
def work(case_id: str):
    """A case as agents see it (internal notes too), answered, noted or resolved; the
    requester's account, with the help desk's tools (unlock, a password link), one click away."""
    errors = FormErrors()
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in AGENT_ACTIONS:
            errors = FormErrors(summary=_("Choose what to do."))
        else:
            path, field, done = AGENT_ACTIONS[action]
            body = {field: request.form.get(field, "").strip()}
            if action == "reply":
                body["status"] = request.form.get("status") or "pending"
            try:
                api("POST", f"/helpdesk/cases/{case_id}/{path}", json=body)
            except ApiProblem as problem:
                if problem.status == 404:
                    raise
                # The note's field has an id of its own (the reply's is field-body).
                errors = FormErrors.from_problem(
                    problem, rename={"body": "note"} if action == "note" else None
                )
            else:
                flash(str(done), "success")
                return redirect(url_for("helpdesk.work", case_id=case_id))
    found = api("GET", f"/helpdesk/cases/{case_id}")
    try:
        requester = api("GET", f"/users/{found['requester_id']}")
    except ApiProblem:
        requester = None
    return render_template("helpdesk/work.html", case=found, requester=requester, errors=errors), (
        400 if errors else 200
    )


@bp.get("/articles/<article_id>")
def article(article_id: str):
    """A published knowledge-base article, for anyone."""
    return render_template(
        "helpdesk/article.html", article=api("GET", f"/helpdesk/articles/{article_id}")
    )


@bp.route("/cases/<case_id>", methods=["GET", "POST"])
@signed_in
def case(case_id: str):
    errors = FormErrors()
    if request.method == "POST":
        try:
            if request.form.get("action") == "confirm":
                api("POST", f"/helpdesk/my/cases/{case_id}/confirm")
                flash(_("Thank you. The case is closed."), "success")
            else:
                api(
                    "POST",
                    f"/helpdesk/my/cases/{case_id}/replies",
                    json={"body": request.form.get("body", "").strip()},
                )
                flash(_("Your reply is sent."), "success")
        except ApiProblem as problem:
            if problem.status == 404:
                raise
            errors = FormErrors.from_problem(problem)
        else:
            return redirect(url_for("helpdesk.case", case_id=case_id))
    found = api("GET", f"/helpdesk/my/cases/{case_id}")
    return render_template("helpdesk/case.html", case=found, errors=errors), (
        400 if errors else 200
    )
