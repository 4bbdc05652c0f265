"""Doses and recipients: the screen a vaccinator uses all day.

Find the recipient (or register them, the API's likely-duplicate match shown), record a dose
with the lot the API chooses first-expiring-first, see the dose with its history, correct or
void it with a reason, and see a recipient's doses. Every rule (who may record, override,
correct or void; the clinical checks) is the API's: its refusals are shown beside the fields.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.catalog import location_page, product_label, products
from portal.formatting import (
    format_day,
    format_instant,
    format_number,
    local_input,
    now_input,
    parse_day,
    parse_local,
    today,
)
from portal.forms import FormErrors
from portal.gateway import ApiProblem
from portal.i18n import LANGUAGE_CHOICES

bp = Blueprint("doses", __name__, url_prefix="/provider/locations/<location_id>")

# HL7 table 0163 (administrative site) and 0162 (route of administration): the codes the API
# accepts, with their names for people.
SITES = [
    ("LD", _l("Left deltoid")),
    ("RD", _l("Right deltoid")),
    ("LA", _l("Left arm")),
    ("RA", _l("Right arm")),
    ("LT", _l("Left thigh")),
    ("RT", _l("Right thigh")),
    ("LVL", _l("Left vastus lateralis")),
    ("RVL", _l("Right vastus lateralis")),
    ("LG", _l("Left gluteus medius")),
    ("RG", _l("Right gluteus medius")),
    ("LLFA", _l("Left lower forearm")),
    ("RLFA", _l("Right lower forearm")),
]
ROUTES = [
    ("IM", _l("Intramuscular")),
    ("SC", _l("Subcutaneous")),
    ("ID", _l("Intradermal")),
    ("IN", _l("Intranasal")),
    ("IV", _l("Intravenous")),
    ("PO", _l("Oral")),
    ("TD", _l("Transdermal")),
    ("OTH", _l("Other or miscellaneous")),
]
# A 422 on these fields may be a clinical check (minimum age, minimum interval, dose sequence, a
# quarantined lot): the API lets some roles record the dose anyway with a reason, so the form
# offers it; the API says whether this person may.
CLINICAL_FIELDS = {"recipient_id", "administered_at", "dose_number", "lot_id"}
RECORD_FIELDS = (
    "recipient_id",
    "record_id",
    "product_id",
    "lots_product",
    "lot_id",
    "dose_number",
    "site",
    "route",
    "dose_volume_ml",
    "performer_name",
    "administered_at",
    "override",
    "override_reason",
)
CORRECTABLE = ("lot_id", "dose_number", "site", "route", "dose_volume_ml", "administered_at")
REGISTER_FIELDS = ("given_name", "family_name", "birth_date", "phone", "email", "language")


# -- small helpers --------------------------------------------------------------------------------
def site_label(code: str | None) -> str:
    return next((str(label) for value, label in SITES if value == code), code or "")


def route_label(code: str | None) -> str:
    return next((str(label) for value, label in ROUTES if value == code), code or "")


@bp.context_processor
def _pick_lists() -> dict:
    return {"sites": SITES, "routes": ROUTES, "site_label": site_label, "route_label": route_label}


# -- find or register a recipient -----------------------------------------------------------------
SEARCH_FIELDS = ("family_name", "given_name", "birth_date", "phone")


@bp.get("/recipients")
@signed_in
def find_recipient(location_id: str):
    query = {name: request.args.get(name, "").strip() for name in SEARCH_FIELDS}
    searched = any(query.values())
    errors = FormErrors()
    matches, more = [], False
    if searched:
        try:
            answer = api("GET", "/recipients", params={k: v for k, v in query.items() if v})
        except ApiProblem as problem:
            errors = FormErrors.refusal(problem, (400, 422))
            if problem.field_errors().get("_schema"):
                errors.summary = _("Give the family name and date of birth, or a phone number.")
        else:
            matches, more = answer["recipients"], answer["more"]
    new = {
        "given_name": query["given_name"],
        "family_name": query["family_name"],
        "birth_date": query["birth_date"],
        "phone": query["phone"],
        "email": "",
        "language": "en",
    }
    return location_page(
        "doses/find_recipient.html",
        location_id,
        400 if errors else 200,
        query=query,
        searched=searched and not errors,
        matches=matches,
        more=more,
        errors=errors,
        new=new,
        new_errors=FormErrors(),
        match=None,
        languages_offered=LANGUAGE_CHOICES,
    )


@bp.post("/recipients")
@signed_in
def register_recipient(location_id: str):
    new = {name: request.form.get(f"new.{name}", "").strip() for name in REGISTER_FIELDS}
    recipient = {
        "given_name": new["given_name"],
        "family_name": new["family_name"],
        "birth_date": new["birth_date"],
        "preferred_language": new["language"] if new["language"] in ("en", "es") else "en",
    }
    for name in ("phone", "email"):
        if new[name]:
            recipient[name] = new[name]
    errors = FormErrors()
    missing = [n for n in ("given_name", "family_name", "birth_date") if not new[n]]
    if missing:
        errors = FormErrors(summary=_("Some fields need your attention."))
        for name in missing:
            errors.fields[f"new.{name}"] = [_("Enter this to register the recipient.")]
    match = None
    if not errors:
        try:
            answer = api("POST", "/recipients", json=recipient)
        except ApiProblem as problem:
            if problem.status not in (400, 422):
                raise
            errors = FormErrors.from_problem(
                problem,
                rename={
                    **{n: f"new.{n}" for n in REGISTER_FIELDS},
                    "preferred_language": "new.language",
                },
            )
        else:
            if not answer.get("matched"):
                name = " ".join((answer["given_name"], answer["family_name"]))
                flash(_("%(name)s is registered. Record their dose below.", name=name), "success")
                return redirect(
                    url_for(".record", location_id=location_id, recipient_id=answer["id"])
                )
            match = answer
    query = {
        "family_name": new["family_name"],
        "given_name": new["given_name"],
        "birth_date": new["birth_date"],
        "phone": new["phone"],
    }
    return location_page(
        "doses/find_recipient.html",
        location_id,
        200 if match else 400,
        query=query,
        searched=False,
        matches=[],
        more=False,
        errors=FormErrors(),
        new=new,
        new_errors=errors,
        match=match,
        languages_offered=LANGUAGE_CHOICES,
    )


# -- a recipient ----------------------------------------------------------------------------------
@bp.get("/recipients/<recipient_id>")
@signed_in
def recipient(location_id: str, recipient_id: str):
    person = api("GET", f"/recipients/{recipient_id}")
    doses = api("GET", f"/recipients/{recipient_id}/vaccinations")
    return location_page("doses/recipient.html", location_id, recipient=person, doses=doses)


# -- record a dose --------------------------------------------------------------------------------
def _default_product(location_id: str, lots: list[dict], offered: list[dict]) -> str:
    """The product last recorded here, else the only one in stock here, else none."""
    offered_ids = {p["id"] for p in offered}
    last = (session.get("doses_last_product") or {}).get(location_id)
    if last in offered_ids:
        return last
    in_stock = {
        lot["product_id"]
        for lot in lots
        if lot.get("doses_on_hand", 0) > 0 and lot.get("status", "usable") == "usable"
    }
    return next(iter(in_stock)) if len(in_stock) == 1 else ""


def _lot_label(lot: dict) -> str:
    label = _(
        "%(lot)s · expires %(expires)s · %(doses)s on hand",
        lot=lot["lot_number"],
        expires=format_day(lot.get("expiration_date")),
        doses=format_number(lot.get("doses_on_hand", 0)),
    )
    if lot.get("status") == "quarantined":
        label += " · " + _("quarantined")
    expires = parse_day(lot.get("expiration_date"))
    if expires and expires < today():
        label += " · " + _("expired")
    return label


def _record_form(form) -> dict[str, str]:
    values = {name: (form.get(name) or "").strip() for name in RECORD_FIELDS}
    values["override"] = "1" if form.get("override") else ""
    return values


def _dose_request(values: dict, location_id: str) -> tuple[dict, FormErrors]:
    errors = FormErrors()
    dose: dict = {
        "id": values["record_id"] or str(uuid.uuid4()),
        "recipient_id": values["recipient_id"],
        "location_id": location_id,
    }
    if values["lot_id"]:
        dose["lot_id"] = values["lot_id"]
    elif values["product_id"]:
        dose["product_id"] = values["product_id"]
    else:
        errors.fields["product_id"] = [_("Choose the product.")]
    given = parse_local(values["administered_at"]) if values["administered_at"] else None
    if given is None:
        errors.fields["administered_at"] = [_("Enter the date and time the dose was given.")]
    else:
        dose["administered_at"] = given.isoformat()
    if values["dose_number"]:
        try:
            dose["dose_number"] = int(values["dose_number"])
        except ValueError:
            errors.fields["dose_number"] = [_("Enter a whole number, such as 2.")]
    if values["dose_volume_ml"]:
        try:
            dose["dose_volume_ml"] = float(values["dose_volume_ml"].replace(",", "."))
        except ValueError:
            errors.fields["dose_volume_ml"] = [_("Enter the volume in mL, such as 0.3.")]
    for name in ("site", "route", "performer_name"):
        if values[name]:
            dose[name] = values[name]
    if values["override"]:
        if not values["override_reason"]:
            errors.fields["override_reason"] = [_("Say why the checks are overridden.")]
        dose["override"] = {"reason": values["override_reason"]}
    if errors.fields:
        errors.summary = _("Some fields need your attention.")
    return dose, errors


@bp.route("/doses/new", methods=["GET", "POST"])
@signed_in
def record(location_id: str):
    posted = request.method == "POST"
    values = _record_form(request.form if posted else request.args)
    if not values["recipient_id"]:
        flash(_("Find or register the recipient first."), "info")
        return redirect(url_for(".find_recipient", location_id=location_id))
    choosing = posted and request.form.get("action") == "choose_lot"
    if posted and not choosing and values["product_id"] != values["lots_product"]:
        # The product changed after the lots were listed (no script to refresh them): list the
        # new product's lots with its first-expiring lot chosen, and ask again.
        choosing = True
        flash(_("The product changed: check the lot, then record the dose."), "info")
    errors = FormErrors()
    show_override = bool(values["override"])
    if posted and not choosing:
        dose, errors = _dose_request(values, location_id)
        values["record_id"] = dose["id"]
        if not errors:
            try:
                answer = api("POST", "/administrations", json=dose)
            except ApiProblem as problem:
                if problem.status not in (400, 409, 422):
                    raise
                errors = FormErrors.from_problem(
                    problem, rename={"override.reason": "override_reason", "id": "record_id"}
                )
                if problem.status == 422 and set(problem.field_errors()) & CLINICAL_FIELDS:
                    show_override = True
            else:
                last = dict(session.get("doses_last_product") or {})
                last[location_id] = answer["product_id"]
                session["doses_last_product"] = last
                return redirect(
                    url_for(
                        ".dose",
                        location_id=location_id,
                        administration_id=answer["id"],
                        recorded=1,
                    )
                )

    person = api("GET", f"/recipients/{values['recipient_id']}")
    inventory = api("GET", f"/locations/{location_id}/inventory")
    catalog = products()
    held = {lot["product_id"] for lot in inventory["lots"]}
    offered = [p for p in catalog.values() if p["id"] in held] or [
        p for p in catalog.values() if p.get("active", True)
    ]
    if not values["product_id"]:
        values["product_id"] = _default_product(location_id, inventory["lots"], offered)
    product = catalog.get(values["product_id"])
    lots = [lot for lot in inventory["lots"] if lot["product_id"] == values["product_id"]]
    lots.sort(key=lambda lot: (str(lot.get("expiration_date")), lot["lot_number"]))
    fefo = None
    if product and (not posted or choosing or not values["lot_id"]):
        try:
            fefo = api("GET", f"/locations/{location_id}/products/{product['id']}/next-lot")
        except ApiProblem as problem:
            if problem.status not in (404, 422):
                raise
            if not errors:
                errors = FormErrors.from_problem(problem)
        else:
            values["lot_id"] = fefo["lot_id"]
    if product and (choosing or not values["dose_volume_ml"]) and product.get("dose_volume_ml"):
        values["dose_volume_ml"] = f"{product['dose_volume_ml']:g}"
    if not values["administered_at"]:
        values["administered_at"] = now_input()
    if not values["route"] and not posted:
        values["route"] = "IM"
    if not values["record_id"]:
        values["record_id"] = str(uuid.uuid4())
    values["lots_product"] = values["product_id"]
    return location_page(
        "doses/record.html",
        location_id,
        (422 if errors.code == "rule_violated" else 400) if errors and posted else 200,
        recipient=person,
        values=values,
        errors=errors,
        products_offered=[(p["id"], product_label(p)) for p in offered],
        lots=[(lot["id"], _lot_label(lot)) for lot in lots],
        fefo=fefo,
        product=product,
        show_override=show_override,
    )


# -- a dose: details, history, correction and void -----------------------------------------------
def _dose_page(
    location_id: str,
    administration_id: str,
    status: int = 200,
    correction: dict | None = None,
    correction_errors: FormErrors | None = None,
    void_errors: FormErrors | None = None,
    show_override: bool = False,
):
    dose = api("GET", f"/administrations/{administration_id}")
    if dose["location_id"] != location_id:
        abort(404)
    person = api("GET", f"/recipients/{dose['recipient_id']}")
    inventory = api("GET", f"/locations/{location_id}/inventory")
    product = products().get(dose["product_id"])
    lot = next((lot for lot in inventory["lots"] if lot["id"] == dose["lot_id"]), None)
    lots = sorted(
        (lot for lot in inventory["lots"] if lot["product_id"] == dose["product_id"]),
        key=lambda lot: (str(lot.get("expiration_date")), lot["lot_number"]),
    )
    current = _correctable(dose)
    lot_options = [(lot["id"], _lot_label(lot)) for lot in lots]
    if not any(value == dose["lot_id"] for value, _label in lot_options):
        lot_options.insert(0, (dose["lot_id"], dose["lot_number"]))
    return location_page(
        "doses/dose.html",
        location_id,
        status,
        dose=dose,
        recipient=person,
        product=product,
        product_name=product_label(product) if product else dose["product_id"],
        lot=lot,
        lots=lot_options,
        recorded=request.args.get("recorded") == "1",
        correction=correction or {**current, "reason": "", "override": "", "override_reason": ""},
        correction_errors=correction_errors or FormErrors(),
        void_errors=void_errors or FormErrors(),
        show_override=show_override,
        history=[_change(change) for change in dose.get("history") or []],
        was=current,
        uuid=str(uuid.uuid4()),
    )


def _correctable(dose: dict) -> dict[str, str]:
    volume = dose.get("dose_volume_ml")
    return {
        "lot_id": dose.get("lot_id") or "",
        "dose_number": str(dose.get("dose_number") or ""),
        "site": dose.get("site") or "",
        "route": dose.get("route") or "",
        "dose_volume_ml": f"{volume:g}" if volume is not None else "",
        "administered_at": local_input(dose.get("administered_at")),
    }


FIELD_NAMES = {
    "lot_id": _l("Lot"),
    "lot_number": _l("Lot number"),
    "dose_number": _l("Dose number"),
    "site": _l("Site"),
    "route": _l("Route"),
    "dose_volume_ml": _l("Dose volume (mL)"),
    "administered_at": _l("Date and time given"),
    "status": _l("Status"),
    "product_id": _l("Product"),
}


def _shown(name: str, value) -> str:
    if value is None or value == "":
        return "—"
    if name == "site":
        return site_label(value)
    if name == "route":
        return route_label(value)
    if name == "administered_at":
        return format_instant(value)
    if name == "status":
        return {"completed": _("completed"), "voided": _("voided")}.get(value, str(value))
    return str(value)


def _change(change: dict) -> dict:
    before, after = change.get("before") or {}, change.get("after") or {}
    names = [n for n in list(before) + [n for n in after if n not in before] if n != "lot_id"]
    if "lot_id" in before and "lot_number" not in before:
        names.insert(0, "lot_id")
    return {
        **change,
        "action_label": {"corrected": _("Corrected"), "voided": _("Voided")}.get(
            change.get("action"), change.get("action")
        ),
        "changes": [
            {
                "field": str(FIELD_NAMES.get(name, name)),
                "before": _shown(name, before.get(name)),
                "after": _shown(name, after.get(name)),
            }
            for name in names
        ],
    }


@bp.get("/doses/<administration_id>")
@signed_in
def dose(location_id: str, administration_id: str):
    return _dose_page(location_id, administration_id)


@bp.post("/doses/<administration_id>/corrections")
@signed_in
def correct(location_id: str, administration_id: str):
    form = {name: request.form.get(name, "").strip() for name in CORRECTABLE}
    form.update(
        reason=request.form.get("reason", "").strip(),
        override="1" if request.form.get("override") else "",
        override_reason=request.form.get("override_reason", "").strip(),
        correction_id=request.form.get("correction_id", "").strip(),
    )
    current = {name: request.form.get(f"was_{name}", "") for name in CORRECTABLE}
    change: dict = {"id": form["correction_id"] or str(uuid.uuid4()), "reason": form["reason"]}
    errors = FormErrors()
    for name in CORRECTABLE:
        if form[name] == current[name]:
            continue
        value = form[name]
        if name == "administered_at":
            given = parse_local(value)
            if given is None:
                errors.fields[name] = [_("Enter the date and time the dose was given.")]
                continue
            change[name] = given.isoformat()
        elif name == "dose_number":
            try:
                change[name] = int(value)
            except ValueError:
                errors.fields[name] = [_("Enter a whole number, such as 2.")]
        elif name == "dose_volume_ml":
            try:
                change[name] = float(value.replace(",", ".")) if value else None
            except ValueError:
                errors.fields[name] = [_("Enter the volume in mL, such as 0.3.")]
        else:
            change[name] = value or None
    if form["override"]:
        change["override"] = {"reason": form["override_reason"]}
    show_override = bool(form["override"])
    if not errors.fields:
        try:
            api("POST", f"/administrations/{administration_id}/corrections", json=change)
        except ApiProblem as problem:
            errors = FormErrors.refusal(
                problem, (400, 403, 409, 422), rename={"override.reason": "override_reason"}
            )
            if problem.status == 422 and set(problem.field_errors()) & CLINICAL_FIELDS:
                show_override = True
        else:
            flash(_("The dose is corrected; its history shows the change."), "success")
            return redirect(
                url_for(".dose", location_id=location_id, administration_id=administration_id)
            )
    else:
        errors.summary = _("Some fields need your attention.")
    return _dose_page(
        location_id,
        administration_id,
        422 if errors.code == "rule_violated" else 400,
        correction=form,
        correction_errors=errors,
        show_override=show_override,
    )


@bp.post("/doses/<administration_id>/void")
@signed_in
def void(location_id: str, administration_id: str):
    reason = request.form.get("void_reason", "").strip()
    errors = FormErrors()
    if not reason:
        errors = FormErrors.single("void_reason", _("Say why the dose is voided."))
    else:
        try:
            api(
                "POST",
                f"/administrations/{administration_id}/void",
                json={"id": request.form.get("void_id") or str(uuid.uuid4()), "reason": reason},
            )
        except ApiProblem as problem:
            errors = FormErrors.refusal(
                problem, (400, 403, 409, 422), rename={"reason": "void_reason"}
            )
        else:
            flash(_("The dose is voided; it stays on record with its history."), "success")
            return redirect(
                url_for(".dose", location_id=location_id, administration_id=administration_id)
            )
    return _dose_page(location_id, administration_id, 400, void_errors=errors)
