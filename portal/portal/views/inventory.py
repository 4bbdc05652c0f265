"""Inventory at a location: the dashboard (doses on hand per product and lot, expiry, open
vials, days of supply, the next lot to use) and the work on stock: receiving a shipment,
wastage with its reason, temperature excursions and releasing a quarantined lot, transfers,
the stock-low threshold, a lot's ledger, and discrepancies to reconcile.

Every rule (who may do what, which lot comes next, what is a valid shipment) is the API's: its
refusals are shown beside the fields, a 403 as the refused page.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.catalog import (
    location_page,
    product_label,
    product_options,
    products,
)
from portal.formatting import format_number, now_input, parse_day, parse_local, today
from portal.forms import FormErrors, float_or_text, int_or_text
from portal.gateway import ApiProblem

bp = Blueprint("inventory", __name__, url_prefix="/provider/locations/<location_id>")

EXPIRY_WARNING_DAYS = 30

WASTAGE_REASONS = [
    ("broken_vial", _l("Broken vial")),
    ("drawn_not_administered", _l("Drawn but not given")),
    ("open_vial_time_limit", _l("Open vial time limit passed")),
    ("temperature_excursion", _l("Temperature excursion")),
    ("expired", _l("Expired")),
    ("other", _l("Other (say what happened)")),
]
LEDGER_REASONS = {
    "received": _l("Received"),
    "administered": _l("Administered"),
    "wasted": _l("Wasted"),
    "transferred_out": _l("Transferred out"),
    "transferred_in": _l("Transferred in"),
    "correction": _l("Correction after a count"),
    "administration_voided": _l("Dose voided: put back"),
}
DISCREPANCY_REASONS = {
    "no_stock": _l("A dose was recorded against a lot with no stock left"),
    "unknown_lot": _l("A dose was recorded against an unknown lot"),
    "quarantined_lot": _l("A dose was given from a quarantined lot"),
}


def time_left(seconds: int | None) -> str:
    seconds = max(int(seconds or 0), 0)
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


def _form_values(names, prefix: str = "") -> dict[str, str]:
    return {name: (request.form.get(prefix + name) or "").strip() for name in names}


def _refused_form(problem: ApiProblem, rename: dict | None = None) -> FormErrors:
    """A form's 4xx beside its fields; a 403 is the refused page (re-raised)."""
    if problem.status in (401, 403):
        raise problem
    return FormErrors.from_problem(problem, rename=rename)


# -- the dashboard --------------------------------------------------------------------------------
def _lot_view(lot: dict, catalog: dict, now: date) -> dict:
    expires = parse_day(lot.get("expiration_date"))
    days_left = (expires - now).days if expires else None
    return {
        **lot,
        "product_label": product_label(lot["product_id"], catalog),
        "days_left": days_left,
        "expired": days_left is not None and days_left < 0,
        "expiring": days_left is not None and 0 <= days_left <= EXPIRY_WARNING_DAYS,
        "quarantined": lot.get("status") == "quarantined",
    }


@bp.get("/inventory")
@signed_in
def dashboard(location_id: str):
    inventory = api("GET", f"/locations/{location_id}/inventory")
    vials = api("GET", f"/locations/{location_id}/open-vials")
    # Days of supply per product, each with its next lot (the API's choice: first expired, first
    # out): three calls for the whole page, however many products are in stock.
    supply = api("GET", f"/locations/{location_id}/stock-supply")
    catalog = products()
    now = today()
    show_empty = request.args.get("empty") == "1"
    lots = [_lot_view(lot, catalog, now) for lot in inventory.get("lots", [])]
    shown = [lot for lot in lots if show_empty or lot.get("doses_on_hand", 0) > 0]
    threshold = supply.get("threshold_days")
    by_product: dict[str, dict] = {}

    def group(product_id: str) -> dict:
        return by_product.setdefault(
            product_id,
            {
                "product_id": product_id,
                "label": product_label(product_id, catalog),
                "lots": [],
                "on_hand": 0,
                "supply": None,
                "next_lot": None,
            },
        )

    for lot in shown:
        group(lot["product_id"])["lots"].append(lot)
        group(lot["product_id"])["on_hand"] += lot.get("doses_on_hand", 0)
    for item in supply.get("products", []):
        days = item.get("days_of_supply")
        group(item["product_id"]).update(
            supply={**item, "low": days is not None and threshold is not None and days < threshold},
            next_lot=item.get("next_lot"),
        )
    groups = sorted(by_product.values(), key=lambda g: g["label"])
    lot_numbers = {lot["id"]: lot["lot_number"] for lot in lots}
    for vial in vials:
        vial["time_left"] = time_left(vial.get("seconds_left"))
        vial["product_label"] = product_label(vial.get("product_id"), catalog)
        vial["lot_number"] = vial.get("lot_number") or lot_numbers.get(vial.get("lot_id"), "")
    return location_page(
        "inventory/dashboard.html",
        location_id,
        total=inventory.get("total_doses_on_hand", 0),
        groups=groups,
        vials=vials,
        threshold=threshold,
        low_count=sum(1 for g in groups if g["supply"] and g["supply"]["low"]),
        show_empty=show_empty,
        empty_count=sum(1 for lot in lots if not lot.get("doses_on_hand")),
    )


# -- receive a shipment ---------------------------------------------------------------------------
RECEIVE_FIELDS = (
    "product_id",
    "lot_number",
    "expiration_date",
    "doses",
    "shipment_id",
    "storage_unit",
)


@bp.route("/inventory/receive", methods=["GET", "POST"])
@signed_in
def receive(location_id: str):
    errors = FormErrors()
    if request.method == "GET":
        values = dict.fromkeys(RECEIVE_FIELDS, "")
        values["shipment_id"] = f"SHP-{uuid.uuid4().hex[:10].upper()}"
        return location_page(
            "inventory/receive.html",
            location_id,
            values=values,
            errors=errors,
            product_options=product_options(products(), active_only=True),
        )
    values = _form_values(RECEIVE_FIELDS)
    shipment = {
        "shipment_id": values["shipment_id"],
        "product_id": values["product_id"],
        "lot_number": values["lot_number"],
        "expiration_date": values["expiration_date"],
        "doses": int_or_text(values["doses"]),
    }
    if values["storage_unit"]:
        shipment["storage_unit"] = values["storage_unit"]
    try:
        lot = api("POST", f"/locations/{location_id}/lots", json=shipment)
    except ApiProblem as problem:
        errors = _refused_form(problem)
    else:
        flash(
            _(
                "Lot %(lot)s received: %(doses)s doses.",
                lot=lot["lot_number"],
                doses=format_number(lot.get("doses_received", 0)),
            ),
            "success",
        )
        return redirect(url_for(".dashboard", location_id=location_id))
    return location_page(
        "inventory/receive.html",
        location_id,
        400,
        values=values,
        errors=errors,
        product_options=product_options(products(), active_only=True),
    )


# -- a lot: its ledger, wastage, transfers, release -----------------------------------------------
def _find_lot(location_id: str, lot_id: str) -> dict | None:
    inventory = api("GET", f"/locations/{location_id}/inventory")
    return next((lot for lot in inventory.get("lots", []) if lot["id"] == lot_id), None)


def _lot_page(location_id: str, lot_id: str, status: int = 200, **forms):
    ledger = api(
        "GET",
        f"/locations/{location_id}/lots/{lot_id}/ledger",
        params={k: v for k, v in {"before": request.args.get("before")}.items() if v},
    )
    lot = _find_lot(location_id, lot_id)
    view = _lot_view(lot, products(), today()) if lot else None
    defaults = {
        "wastage": ({"doses": "", "reason": "", "note": ""}, FormErrors()),
        "transfer": (
            {
                "to_location_id": "",
                "doses": "",
                "note": "",
                "transfer_id": f"TRF-{uuid.uuid4().hex[:12]}",
            },
            FormErrors(),
        ),
        "release": ({"note": ""}, FormErrors()),
    }
    defaults.update(forms)
    return location_page(
        "inventory/lot.html",
        location_id,
        status,
        lot=view,
        lot_id=lot_id,
        lot_number=view["lot_number"] if view else lot_id,
        entries=ledger.get("entries", []),
        next_before=ledger.get("next_before"),
        ledger_reasons=LEDGER_REASONS,
        wastage_labels=dict(WASTAGE_REASONS),
        wastage_reasons=WASTAGE_REASONS,
        forms=defaults,
    )


@bp.get("/inventory/lots/<lot_id>")
@signed_in
def lot(location_id: str, lot_id: str):
    return _lot_page(location_id, lot_id)


@bp.post("/inventory/lots/<lot_id>/wastage")
@signed_in
def wastage(location_id: str, lot_id: str):
    values = _form_values(("doses", "reason", "note"), "wastage.")
    body = {"doses": int_or_text(values["doses"]), "reason": values["reason"]}
    if values["note"]:
        body["note"] = values["note"]
    try:
        api("POST", f"/locations/{location_id}/lots/{lot_id}/wastage", json=body)
    except ApiProblem as problem:
        errors = _refused_form(problem, rename={n: f"wastage.{n}" for n in values})
        return _lot_page(location_id, lot_id, 400, wastage=(values, errors))
    flash(_("Wastage recorded."), "success")
    return redirect(url_for(".lot", location_id=location_id, lot_id=lot_id))


@bp.post("/inventory/lots/<lot_id>/transfer")
@signed_in
def transfer(location_id: str, lot_id: str):
    values = _form_values(("to_location_id", "doses", "note"), "transfer.")
    values["transfer_id"] = (request.form.get("transfer_id") or "").strip()
    body = {
        "transfer_id": values["transfer_id"] or f"TRF-{uuid.uuid4().hex[:12]}",
        "to_location_id": values["to_location_id"],
        "doses": int_or_text(values["doses"]),
    }
    if values["note"]:
        body["note"] = values["note"]
    try:
        answer = api("POST", f"/locations/{location_id}/lots/{lot_id}/transfers", json=body)
    except ApiProblem as problem:
        errors = _refused_form(problem, rename={n: f"transfer.{n}" for n in values})
        return _lot_page(location_id, lot_id, 400, transfer=(values, errors))
    flash(
        _(
            "%(doses)s doses transferred to %(location)s.",
            doses=format_number(answer.get("doses", 0)),
            location=answer.get("to_location_id", body["to_location_id"]),
        ),
        "success",
    )
    return redirect(url_for(".lot", location_id=location_id, lot_id=lot_id))


@bp.post("/inventory/lots/<lot_id>/release")
@signed_in
def release(location_id: str, lot_id: str):
    values = _form_values(("note",), "release.")
    try:
        api("POST", f"/locations/{location_id}/lots/{lot_id}/release", json=values)
    except ApiProblem as problem:
        errors = _refused_form(problem, rename={"note": "release.note"})
        if problem.status == 409:
            errors.fields.setdefault("release.note", []).append(_("The lot is not quarantined."))
        return _lot_page(location_id, lot_id, 400, release=(values, errors))
    flash(_("The lot is released: its doses may be given again."), "success")
    return redirect(url_for(".lot", location_id=location_id, lot_id=lot_id))


# -- temperature excursions -----------------------------------------------------------------------
EXCURSION_FIELDS = ("storage_unit", "observed_at", "temperature_c", "min_c", "max_c", "note")


def _storage_units(location_id: str) -> list[str]:
    inventory = api("GET", f"/locations/{location_id}/inventory")
    return sorted(
        {lot["storage_unit"] for lot in inventory.get("lots", []) if lot.get("storage_unit")}
    )


@bp.route("/inventory/excursions", methods=["GET", "POST"])
@signed_in
def excursion(location_id: str):
    errors = FormErrors()
    if request.method == "GET":
        values = dict.fromkeys(EXCURSION_FIELDS, "")
        values["observed_at"] = now_input()
        values["storage_unit"] = request.args.get("unit", "")
        return location_page(
            "inventory/excursion.html",
            location_id,
            values=values,
            errors=errors,
            units=_storage_units(location_id),
        )
    values = _form_values(EXCURSION_FIELDS)
    unit = values["storage_unit"]
    body: dict = {}
    observed = parse_local(values["observed_at"])
    if observed is None:
        errors.fields["observed_at"] = [_("Enter the date and time it was seen.")]
    else:
        body["observed_at"] = observed.isoformat()
    for name in ("temperature_c", "min_c", "max_c"):
        if values[name]:
            body[name] = float_or_text(values[name])
    if values["note"]:
        body["note"] = values["note"]
    if not unit:
        errors.fields["storage_unit"] = [_("Name the storage unit.")]
    if not errors:
        try:
            answer = api(
                "POST", f"/locations/{location_id}/storage-units/{unit}/excursions", json=body
            )
        except ApiProblem as problem:
            errors = _refused_form(problem)
        else:
            count = len(answer.get("quarantined_lots") or [])
            flash(
                _(
                    "Excursion recorded in %(unit)s: %(count)s lots quarantined until released.",
                    unit=unit,
                    count=count,
                ),
                "warning" if count else "success",
            )
            return redirect(url_for(".dashboard", location_id=location_id))
    if errors and not errors.summary:
        errors.summary = _("Some fields need your attention.")
    return location_page(
        "inventory/excursion.html",
        location_id,
        400,
        values=values,
        errors=errors,
        units=_storage_units(location_id),
    )


# -- the stock-low threshold ----------------------------------------------------------------------
@bp.route("/inventory/threshold", methods=["GET", "POST"])
@signed_in
def threshold(location_id: str):
    errors = FormErrors()
    if request.method == "GET":
        supply = api("GET", f"/locations/{location_id}/stock-supply")
        values = {"threshold_days": str(supply.get("threshold_days") or "")}
        return location_page("inventory/threshold.html", location_id, values=values, errors=errors)
    values = _form_values(("threshold_days",))
    try:
        answer = api(
            "PUT",
            f"/locations/{location_id}/stock-threshold",
            json={"threshold_days": int_or_text(values["threshold_days"])},
        )
    except ApiProblem as problem:
        errors = _refused_form(problem)
        return location_page(
            "inventory/threshold.html", location_id, 400, values=values, errors=errors
        )
    flash(
        _(
            "Stock is now low under %(days)s days of supply.",
            days=format_number(answer["threshold_days"]),
        ),
        "success",
    )
    return redirect(url_for(".dashboard", location_id=location_id))


# -- discrepancies --------------------------------------------------------------------------------
def _discrepancies_page(location_id: str, status: int = 200, failed: tuple | None = None):
    include_resolved = request.args.get("resolved") == "1"
    items = api(
        "GET",
        f"/locations/{location_id}/discrepancies",
        params={"include_resolved": "true" if include_resolved else "false"},
    )
    inventory = api("GET", f"/locations/{location_id}/inventory")
    lot_numbers = {lot["id"]: lot["lot_number"] for lot in inventory.get("lots", [])}
    for item in items:
        item["lot_number"] = lot_numbers.get(item.get("lot_id"), item.get("lot_id"))
        item["reason_text"] = str(DISCREPANCY_REASONS.get(item.get("reason"), item.get("reason")))
    return location_page(
        "inventory/discrepancies.html",
        location_id,
        status,
        items=items,
        include_resolved=include_resolved,
        failed=failed,
    )


@bp.get("/inventory/discrepancies")
@signed_in
def discrepancies(location_id: str):
    return _discrepancies_page(location_id)


@bp.post("/inventory/discrepancies/<discrepancy_id>/resolve")
@signed_in
def resolve(location_id: str, discrepancy_id: str):
    resolution = (request.form.get("resolution") or "").strip()
    try:
        api(
            "POST",
            f"/locations/{location_id}/discrepancies/{discrepancy_id}/resolve",
            json={"resolution": resolution},
        )
    except ApiProblem as problem:
        errors = _refused_form(problem)
        return _discrepancies_page(location_id, 400, failed=(discrepancy_id, resolution, errors))
    flash(_("Discrepancy resolved."), "success")
    return redirect(url_for(".discrepancies", location_id=location_id))
