"""Offline operations: the printable forms and CSV templates (the API's bytes streamed through),
and a filled CSV uploaded (doses given on paper, or the Inventory Levels form) with its per-row
report. Without JavaScript the upload is a plain form post; offline.js shows its progress.
"""

from __future__ import annotations

import csv
import io
import time
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, api_download, signed_in
from portal.catalog import location_page
from portal.forms import FormErrors
from portal.gateway import ApiProblem

bp = Blueprint("offline", __name__, url_prefix="/provider/locations/<location_id>/offline")

# What may be downloaded: name -> (API path, query, title, what it is for). Location-scoped
# paths have {location} filled in.
DOWNLOADS = {
    "recipient-registration-en.pdf": (
        "/forms/recipient-registration.pdf",
        {"lang": "en"},
        _l("Recipient registration form (English, PDF)"),
    ),
    "recipient-registration-es.pdf": (
        "/forms/recipient-registration.pdf",
        {"lang": "es"},
        _l("Recipient registration form (Spanish, PDF)"),
    ),
    "vaccine-administration-en.pdf": (
        "/forms/vaccine-administration.pdf",
        {"lang": "en"},
        _l("Vaccine administration form (English, PDF)"),
    ),
    "vaccine-administration-es.pdf": (
        "/forms/vaccine-administration.pdf",
        {"lang": "es"},
        _l("Vaccine administration form (Spanish, PDF)"),
    ),
    "administration-import.csv": (
        "/forms/administration-import.csv",
        {},
        _l("Administration import template (CSV)"),
    ),
    "inventory-levels-form.pdf": (
        "/locations/{location}/inventory-levels/form.pdf",
        {},
        _l("Inventory levels form of this location (PDF)"),
    ),
    "inventory-levels-form.csv": (
        "/locations/{location}/inventory-levels/form.csv",
        {},
        _l("Inventory levels form of this location (CSV to fill in)"),
    ),
}
ADMIN_STATUSES = {
    "accepted": _l("Accepted"),
    "duplicate": _l("Duplicate"),
    "rejected": _l("Rejected"),
}
LEVELS_STATUSES = {
    "recorded": _l("Recorded"),
    "unchanged": _l("Unchanged"),
    "skipped": _l("Skipped"),
    "duplicate": _l("Duplicate"),
    "rejected": _l("Rejected"),
}
KEPT_LEVELS_REPORTS = 5


def _index(location_id: str, status: int = 200, admin_errors=None, levels_errors=None):
    return location_page(
        "offline/index.html",
        location_id,
        status,
        downloads=DOWNLOADS,
        admin_errors=admin_errors or FormErrors(),
        levels_errors=levels_errors or FormErrors(),
    )


@bp.get("")
@signed_in
def index(location_id: str):
    return _index(location_id)


@bp.get("/downloads/<name>")
@signed_in
def download(location_id: str, name: str):
    if name not in DOWNLOADS:
        abort(404)
    path, params, _title = DOWNLOADS[name]
    params = dict(params)
    if "{location}" in path:
        for key in ("from", "to"):
            if request.args.get(key):
                params[key] = request.args[key]
    return api_download(path.replace("{location}", location_id), params, name)


def _to_report(url: str):
    """Off to the report: a redirect for a form post; for offline.js's upload, where to go."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return jsonify({"report": url})
    return redirect(url, 303)


def _post_csv(location_id: str, field: str, path: str, errors_name: str, **headers):
    """The CSV uploaded in `field` posted to the API: (its answer, None), or (None, the page
    again with what is wrong beside the file input)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        errors = FormErrors.single(field, _("Choose the filled CSV file."))
        return None, _index(location_id, 400, **{errors_name: errors})
    try:
        answer = api(
            "POST", path, data=upload.read(), headers={"Content-Type": "text/csv", **headers}
        )
    except ApiProblem as problem:
        return None, _index(location_id, 400, **{errors_name: _upload_errors(problem, field)})
    return answer, None


def _upload_errors(problem: ApiProblem, field: str) -> FormErrors:
    if problem.status in (401, 403):
        raise problem
    errors = FormErrors.from_problem(problem)
    # Whatever the API says of the file (its header, its encoding) belongs beside the file input.
    messages = [m for name, found in errors.fields.items() for m in found]
    if not messages:
        messages = [errors.summary or problem.message]
    errors.fields = {field: messages}
    return errors


# -- doses given on paper -------------------------------------------------------------------------
@bp.post("/administration-imports")
@signed_in
def import_administrations(location_id: str):
    answer, refused = _post_csv(
        location_id,
        "administrations_file",
        f"/locations/{location_id}/administration-imports",
        "admin_errors",
    )
    if refused:
        return refused
    flash(
        _(
            "File imported: %(accepted)s accepted, %(duplicate)s duplicate, %(rejected)s rejected.",
            accepted=answer["accepted"],
            duplicate=answer["duplicate"],
            rejected=answer["rejected"],
        ),
        "success" if not answer["rejected"] else "warning",
    )
    return _to_report(
        url_for(".administration_report", location_id=location_id, import_id=answer["import_id"])
    )


@bp.get("/administration-imports/<import_id>")
@signed_in
def administration_report(location_id: str, import_id: str):
    report = api("GET", f"/locations/{location_id}/administration-imports/{import_id}")
    return location_page(
        "offline/administration_report.html",
        location_id,
        report=report,
        import_id=import_id,
        statuses=ADMIN_STATUSES,
    )


@bp.get("/administration-imports/<import_id>/report.csv")
@signed_in
def administration_report_csv(location_id: str, import_id: str):
    return api_download(
        f"/locations/{location_id}/administration-imports/{import_id}/report.csv",
        None,
        f"import-{import_id}-report.csv",
    )


# -- the Inventory Levels form --------------------------------------------------------------------
def _kept_reports() -> dict:
    return session.get("offline_levels_reports") or {}


@bp.post("/levels-imports")
@signed_in
def import_levels(location_id: str):
    answer, refused = _post_csv(
        location_id,
        "levels_file",
        f"/locations/{location_id}/inventory-levels/form.csv",
        "levels_errors",
        Accept="application/json",
    )
    if refused:
        return refused
    # The API keeps no report of a form import: the person's session keeps their last few.
    report_id = uuid.uuid4().hex[:16]
    kept = dict(_kept_reports())
    kept[report_id] = {"at": time.time(), "location_id": location_id, "answer": answer}
    for old in sorted(kept, key=lambda k: kept[k]["at"])[:-KEPT_LEVELS_REPORTS]:
        kept.pop(old)
    session["offline_levels_reports"] = kept
    flash(
        _(
            "Form imported: %(recorded)s recorded, %(unchanged)s unchanged, %(skipped)s "
            "skipped, %(duplicate)s duplicate, %(rejected)s rejected.",
            recorded=answer.get("recorded", 0),
            unchanged=answer.get("unchanged", 0),
            skipped=answer.get("skipped", 0),
            duplicate=answer.get("duplicate", 0),
            rejected=answer.get("rejected", 0),
        ),
        "success" if not answer.get("rejected") else "warning",
    )
    return _to_report(url_for(".levels_report", location_id=location_id, report_id=report_id))


def _levels_report(location_id: str, report_id: str) -> dict:
    kept = _kept_reports().get(report_id)
    if not kept or kept["location_id"] != location_id:
        abort(404)
    return kept


@bp.get("/levels-imports/<report_id>")
@signed_in
def levels_report(location_id: str, report_id: str):
    kept = _levels_report(location_id, report_id)
    return location_page(
        "offline/levels_report.html",
        location_id,
        report=kept["answer"],
        report_id=report_id,
        statuses=LEVELS_STATUSES,
    )


@bp.get("/levels-imports/<report_id>/report.csv")
@signed_in
def levels_report_csv(location_id: str, report_id: str):
    answer = _levels_report(location_id, report_id)["answer"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row_id", "status", "reason", "ledger_entry_ids"])
    for row in answer.get("rows", []):
        writer.writerow(
            [
                row.get("row_id", ""),
                row.get("status", ""),
                row.get("reason") or "",
                " ".join(row.get("ledger_entry_ids") or []),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="inventory-levels-import-{report_id}-report.csv"'
            )
        },
    )
