"""Inventory at a location: the dashboard (doses on hand per product and lot, expiry, open
vials, days of supply, the next lot to use) and the work on stock: receiving a shipment,
wastage with its reason, temperature excursions and releasing a quarantined lot, transfers,
the stock-low threshold, a lot's ledger, and discrepancies to reconcile.

Every rule (who may do what, which lot comes next, what is a valid shipment) is the API's: its
refusals are shown beside the fields, a 403 as the refused page.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.forms import FormErrors
from portal.gateway import ApiProblem

bp = Blueprint("inventory", __name__, url_prefix="/provider/locations/<location_id>")

TIME_ZONE = ZoneInfo(os.environ.get("CVMS_PORTAL_TIME_ZONE", "America/New_York"))
PRODUCTS_TTL_SECONDS = 600
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
CAP_COLOURS = {
    "purple": _l("purple"),
    "gray": _l("gray"),
    "grey": _l("gray"),
    "orange": _l("orange"),
    "maroon": _l("maroon"),
    "red": _l("red"),
    "blue": _l("blue"),
    "dark blue": _l("dark blue"),
    "yellow": _l("yellow"),
}


# -- helpers shared by the inventory, reports and offline pages -----------------------------------
def cap_text(colour: str | None) -> str:
    """The cap colour in words (never colour alone)."""
    if not colour:
        return _("no cap colour")
    return _("%(colour)s cap", colour=str(CAP_COLOURS.get(colour.lower(), colour)))


def location_name(location_id: str) -> str:
    """The location's name, asked of the API once per session."""
    names = session.get("inventory_location_names") or {}
    if location_id not in names:
        found = api("GET", "/locations", params={"q": location_id, "limit": 20})["locations"]
        name = next((loc["name"] for loc in found if loc["id"] == location_id), location_id)
        session["inventory_location_names"] = {**names, location_id: name}
        return name
    return names[location_id]


def products() -> list[dict]:
    """The product catalog, asked of the API at most every ten minutes per session."""
    cached = session.get("inventory_products")
    if cached and time.time() - cached.get("at", 0) < PRODUCTS_TTL_SECONDS:
        return cached["items"]
    keep = ("id", "name", "cap_color", "active", "doses_per_vial")
    items = [{k: p.get(k) for k in keep} for p in api("GET", "/products")]
    session["inventory_products"] = {"at": time.time(), "items": items}
    return items


def product_names() -> dict[str, dict]:
    return {p["id"]: p for p in products()}


def product_label(product_id: str, catalog: dict[str, dict] | None = None) -> str:
    product = (catalog or product_names()).get(product_id)
    if not product:
        return product_id
    return f"{product['name']} ({cap_text(product.get('cap_color'))})"


def parse_day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def today() -> date:
    return datetime.now(UTC).date()


@bp.app_template_filter("inventory_date")
def _format_day(value) -> str:
    day = parse_day(value) if not isinstance(value, date) else value
    return format_date(day, "medium") if day else ""


@bp.app_template_filter("inventory_datetime")
def _format_instant(value) -> str:
    instant = parse_instant(value) if isinstance(value, str) else value
    if instant is None:
        return ""
    return format_datetime(instant.astimezone(TIME_ZONE), "medium", rebase=False)


@bp.app_template_filter("inventory_number")
def _format_number(value) -> str:
    return "" if value is None else format_decimal(value)


def time_left(seconds: int | None) -> str:
    seconds = max(int(seconds or 0), 0)
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


def page(template: str, location_id: str, status: int = 200, **context):
    return (
        render_template(
            template,
            location_id=location_id,
            location_name=location_name(location_id),
            cap_text=cap_text,
            product_label=product_label,
            time_zone=TIME_ZONE.key,
            **context,
        ),
        status,
    )


def _form_values(names, prefix: str = "") -> dict[str, str]:
    return {name: (request.form.get(prefix + name) or "").strip() for name in names}


def _int(value: str):
    """An integer if it is one, else the text (the API says what is wrong with it)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _float(value: str):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _refused_form(problem: ApiProblem, rename: dict | None = None) -> FormErrors:
    """A form's 4xx beside its fields; a 403 is the refused page (re-raised)."""
    if problem.status in (401, 403):
        raise problem
    return FormErrors.from_problem(problem, rename=rename)


# -- the dashboard --------------------------------------------------------------------------------
def _lot_view(lot: dict, catalog: dict, now: date) -> dict:
    expires = parse_day(lot.get("expiration_date"))
    days_left = (expires - now).days if expires else None
    product = catalog.get(lot["product_id"], {})
    return {
        **lot,
        "product_label": product.get("name") or lot.get("product_name") or lot["product_id"],
        "cap": cap_text(product.get("cap_color")),
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
    supply = api("GET", f"/locations/{location_id}/stock-supply")
    catalog = product_names()
    now = today()
    show_empty = request.args.get("empty") == "1"
    lots = [_lot_view(lot, catalog, now) for lot in inventory.get("lots", [])]
    shown = [lot for lot in lots if show_empty or lot.get("doses_on_hand", 0) > 0]
    threshold = supply.get("threshold_days")
    by_product: dict[str, dict] = {}
    for lot in shown:
        group = by_product.setdefault(
            lot["product_id"],
            {
                "product_id": lot["product_id"],
                "label": lot["product_label"],
                "cap": lot["cap"],
                "lots": [],
                "on_hand": 0,
                "supply": None,
                "next_lot": None,
            },
        )
        group["lots"].append(lot)
        group["on_hand"] += lot.get("doses_on_hand", 0)
    for item in supply.get("products", []):
        group = by_product.setdefault(
            item["product_id"],
            {
                "product_id": item["product_id"],
                "label": catalog.get(item["product_id"], {}).get("name", item["product_id"]),
                "cap": cap_text(catalog.get(item["product_id"], {}).get("cap_color")),
                "lots": [],
                "on_hand": 0,
                "supply": None,
                "next_lot": None,
            },
        )
        days = item.get("days_of_supply")
        group["supply"] = {
            **item,
            "low": days is not None and threshold is not None and days < threshold,
        }
    # The next lot per product in stock is the API's choice (first expired, first out).
    for group in by_product.values():
        if not any(lot.get("doses_on_hand", 0) > 0 for lot in group["lots"]):
            continue
        try:
            group["next_lot"] = api(
                "GET", f"/locations/{location_id}/products/{group['product_id']}/next-lot"
            )
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            group["no_next_lot"] = "; ".join(
                " ".join(m) for m in problem.field_errors().values()
            ) or _("No usable lot.")
    groups = sorted(by_product.values(), key=lambda g: g["label"])
    lot_numbers = {lot["id"]: lot["lot_number"] for lot in lots}
    for vial in vials:
        vial["time_left"] = time_left(vial.get("seconds_left"))
        vial["product_label"] = product_label(vial.get("product_id"), catalog)
        vial["lot_number"] = vial.get("lot_number") or lot_numbers.get(vial.get("lot_id"), "")
    return page(
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


def _product_options() -> list[tuple[str, str]]:
    return [
        (p["id"], f"{p['name']} ({cap_text(p.get('cap_color'))})")
        for p in sorted(products(), key=lambda p: p["name"])
        if p.get("active", True)
    ]


@bp.route("/inventory/receive", methods=["GET", "POST"])
@signed_in
def receive(location_id: str):
    errors = FormErrors()
    if request.method == "GET":
        values = dict.fromkeys(RECEIVE_FIELDS, "")
        values["shipment_id"] = f"SHP-{uuid.uuid4().hex[:10].upper()}"
        return page(
            "inventory/receive.html",
            location_id,
            values=values,
            errors=errors,
            product_options=_product_options(),
        )
    values = _form_values(RECEIVE_FIELDS)
    shipment = {
        "shipment_id": values["shipment_id"],
        "product_id": values["product_id"],
        "lot_number": values["lot_number"],
        "expiration_date": values["expiration_date"],
        "doses": _int(values["doses"]),
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
                doses=format_decimal(lot.get("doses_received", 0)),
            ),
            "success",
        )
        return redirect(url_for(".dashboard", location_id=location_id))
    return page(
        "inventory/receive.html",
        location_id,
        400,
        values=values,
        errors=errors,
        product_options=_product_options(),
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
    catalog = product_names()
    view = _lot_view(lot, catalog, today()) if lot else None
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
    return page(
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
    body = {"doses": _int(values["doses"]), "reason": values["reason"]}
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
        "doses": _int(values["doses"]),
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
            doses=format_decimal(answer.get("doses", 0)),
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
        values["observed_at"] = datetime.now(TIME_ZONE).strftime("%Y-%m-%dT%H:%M")
        values["storage_unit"] = request.args.get("unit", "")
        return page(
            "inventory/excursion.html",
            location_id,
            values=values,
            errors=errors,
            units=_storage_units(location_id),
        )
    values = _form_values(EXCURSION_FIELDS)
    unit = values["storage_unit"]
    body: dict = {}
    try:
        observed = datetime.strptime(values["observed_at"], "%Y-%m-%dT%H:%M")
        body["observed_at"] = observed.replace(tzinfo=TIME_ZONE).isoformat()
    except ValueError:
        errors.fields["observed_at"] = [_("Enter the date and time it was seen.")]
    for name in ("temperature_c", "min_c", "max_c"):
        if values[name]:
            body[name] = _float(values[name].replace(",", "."))
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
    return page(
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
        return page("inventory/threshold.html", location_id, values=values, errors=errors)
    values = _form_values(("threshold_days",))
    try:
        answer = api(
            "PUT",
            f"/locations/{location_id}/stock-threshold",
            json={"threshold_days": _int(values["threshold_days"])},
        )
    except ApiProblem as problem:
        errors = _refused_form(problem)
        return page("inventory/threshold.html", location_id, 400, values=values, errors=errors)
    flash(
        _(
            "Stock is now low under %(days)s days of supply.",
            days=format_decimal(answer["threshold_days"]),
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
    return page(
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
