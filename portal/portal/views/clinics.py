"""Clinics: a location's clinic days and slots, the day's appointments, the waitlist and the
location's Vaccines.gov listing.

Who may open days, change capacity, close a day, cancel for someone or see the waitlist is the
API's decision: a refusal is shown as such (the app renders an uncaught 403 as refused).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api, signed_in
from portal.catalog import location_page, product_options, products
from portal.formatting import local_day, today
from portal.forms import FormErrors, int_or_text
from portal.gateway import ApiProblem
from portal.views.public import (
    APPOINTMENT_STATUS,
    STOCK_STATUS,
    WAITLIST_STATUS,
    WEEKDAYS,
    refusal,
)

bp = Blueprint("clinics", __name__, url_prefix="/provider/locations/<location_id>")

MAX_DAYS = 62
DAY_CHOICES = (
    ("mon", _l("Mon")),
    ("tue", _l("Tue")),
    ("wed", _l("Wed")),
    ("thu", _l("Thu")),
    ("fri", _l("Fri")),
    ("sat", _l("Sat")),
    ("sun", _l("Sun")),
)
HISTORY_ACTIONS = {
    "booked": _l("Booked"),
    "rescheduled": _l("Rescheduled"),
    "cancelled": _l("Cancelled"),
    "checked_in": _l("Checked in"),
    "no_show": _l("Marked as no-show"),
    "completed": _l("Completed (dose recorded)"),
    "moved": _l("Moved to another day"),
    "next_dose_booked": _l("Next dose booked"),
}
DAY_STATUS = {"open": _l("Open"), "closed": _l("Closed")}


# -- helpers --------------------------------------------------------------------------------------
def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@bp.context_processor
def _labels() -> dict:
    return {
        "appointment_status": APPOINTMENT_STATUS,
        "waitlist_status": WAITLIST_STATUS,
        "stock_status": STOCK_STATUS,
        "weekdays": WEEKDAYS,
        "day_status": DAY_STATUS,
        "history_actions": HISTORY_ACTIONS,
    }


def _page(template: str, location_id: str, status: int = 200, **context):
    """A clinics page: in the location's frame, with the product catalog (kept per session)."""
    catalog = products()
    return location_page(
        template,
        location_id,
        status,
        catalog=catalog,
        product_options=product_options(catalog),
        **context,
    )


# -- clinic days ----------------------------------------------------------------------------------
def _days_form(form) -> dict:
    return {
        "first_date": form.get("first_date", "").strip(),
        "last_date": form.get("last_date", "").strip(),
        "weekdays": form.getlist("weekdays") if hasattr(form, "getlist") else [],
        "product_id": form.get("product_id", ""),
        "opens": form.get("opens", "09:00").strip(),
        "closes": form.get("closes", "17:00").strip(),
        "every_minutes": form.get("every_minutes", "15").strip(),
        "capacity": form.get("capacity", "10").strip(),
    }


def _dates(values: dict) -> tuple[list[str], FormErrors]:
    first = _parse_date(values["first_date"])
    if first is None:
        return [], FormErrors.single("first_date", _("Enter the first date."))
    last = _parse_date(values["last_date"]) if values["last_date"] else first
    if last is None or last < first:
        return [], FormErrors.single("last_date", _("The last date must be on or after the first."))
    keys = [key for key, _label in DAY_CHOICES]
    chosen = set(values["weekdays"]) if values["last_date"] else set(keys)
    chosen = chosen or set(keys)
    dates, day = [], first
    while day <= last:
        if keys[day.weekday()] in chosen:
            dates.append(day.isoformat())
        day += timedelta(days=1)
    if not dates:
        return [], FormErrors.single("weekdays", _("No date in that range falls on those days."))
    if len(dates) > MAX_DAYS:
        return [], FormErrors.single(
            "last_date", _("At most %(count)s days at once.", count=MAX_DAYS)
        )
    return dates, FormErrors()


@bp.route("/clinic-days", methods=["GET", "POST"])
@signed_in
def days(location_id: str):
    errors, status = FormErrors(), 200
    if request.method == "POST":
        values = _days_form(request.form)
        dates, errors = _dates(values)
        if not errors:
            try:
                created = api(
                    "POST",
                    f"/locations/{location_id}/clinic-days",
                    json={
                        "dates": dates,
                        "product_id": values["product_id"],
                        "opens": values["opens"],
                        "closes": values["closes"],
                        "every_minutes": int_or_text(values["every_minutes"]),
                        "capacity": int_or_text(values["capacity"]),
                    },
                )
            except ApiProblem as problem:
                errors = FormErrors.refusal(problem, rename={"dates": "first_date"})
            else:
                slots = sum(day.get("slots_added", 0) for day in created)
                flash(
                    _(
                        "%(days)s clinic days ready, %(slots)s slots added.",
                        days=len(created),
                        slots=slots,
                    ),
                    "success",
                )
                return redirect(url_for(".days", location_id=location_id))
        status = 400 if errors else 200
    else:
        start = today()
        values = _days_form({})
        values.update(
            first_date=(start + timedelta(days=1)).isoformat(),
            weekdays=["mon", "tue", "wed", "thu", "fri"],
        )
    start = _parse_date(request.args.get("from")) or today()
    end = _parse_date(request.args.get("to")) or start + timedelta(days=30)
    listed = api(
        "GET",
        f"/locations/{location_id}/clinic-days",
        params={"from": start.isoformat(), "to": end.isoformat()},
    )
    return _page(
        "clinics/days.html",
        location_id,
        status,
        clinic_days=listed,
        values=values,
        errors=errors,
        day_choices=DAY_CHOICES,
        shown_from=start.isoformat(),
        shown_to=end.isoformat(),
    )


@bp.get("/clinic-days/<day_id>")
@signed_in
def day(location_id: str, day_id: str):
    detail = api("GET", f"/locations/{location_id}/clinic-days/{day_id}")
    others = []
    if detail["status"] == "open":
        listed = api(
            "GET",
            f"/locations/{location_id}/clinic-days",
            params={"from": today().isoformat()},
        )
        others = [d for d in listed if d["id"] != day_id and d["status"] == "open"]
    day_products = sorted({s["product_id"] for s in detail["slots"]})
    return _page(
        "clinics/day.html",
        location_id,
        detail=detail,
        others=others,
        day_products=day_products,
        totals={
            "capacity": sum(s["capacity"] for s in detail["slots"]),
            "booked": sum(s["booked"] for s in detail["slots"]),
        },
        errors=FormErrors(),
    )


@bp.post("/clinic-days/<day_id>/slots/<slot_id>")
@signed_in
def slot_capacity(location_id: str, day_id: str, slot_id: str):
    try:
        api(
            "PATCH",
            f"/locations/{location_id}/slots/{slot_id}",
            json={"capacity": int_or_text(request.form.get("capacity", "").strip())},
        )
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        if problem.code == "capacity_below_booked":
            flash(_("The capacity cannot be below the places already booked."), "error")
        else:
            flash(refusal(problem).summary or _("Some fields need your attention."), "error")
    else:
        flash(_("Capacity changed."), "success")
    return redirect(url_for(".day", location_id=location_id, day_id=day_id) + "#slots")


@bp.post("/clinic-days/<day_id>/walk-ins")
@signed_in
def walk_in(location_id: str, day_id: str):
    sent = {"product_id": request.form.get("product_id", "")}
    if recipient := request.form.get("recipient_id", "").strip():
        sent["recipient_id"] = recipient
    try:
        api("POST", f"/locations/{location_id}/clinic-days/{day_id}/walk-ins", json=sent)
    except ApiProblem as problem:
        errors = FormErrors.refusal(problem)
        flash(" ".join([errors.summary or "", *sum(errors.fields.values(), [])]), "error")
    else:
        flash(_("Walk-in recorded."), "success")
    return redirect(url_for(".day", location_id=location_id, day_id=day_id) + "#walk-ins")


@bp.post("/clinic-days/<day_id>/close")
@signed_in
def close_day(location_id: str, day_id: str):
    sent = {"reason": request.form.get("reason", "").strip()}
    if move_to := request.form.get("move_to", ""):
        sent["move_to_clinic_day_id"] = move_to
    try:
        closed = api("POST", f"/locations/{location_id}/clinic-days/{day_id}/close", json=sent)
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        if "reason" in problem.field_errors():
            flash(_("Say why the day is closed."), "error")
        else:
            flash(refusal(problem).summary or "", "error")
    else:
        flash(
            _(
                "The day is closed: %(moved)s bookings moved, %(cancelled)s cancelled.",
                moved=len(closed.get("moved", [])),
                cancelled=len(closed.get("cancelled", [])),
            ),
            "success",
        )
    return redirect(url_for(".day", location_id=location_id, day_id=day_id))


@bp.get("/clinic-days/<day_id>/waitlist")
@signed_in
def waitlist(location_id: str, day_id: str):
    entries = api("GET", f"/locations/{location_id}/clinic-days/{day_id}/waitlist")
    detail = api("GET", f"/locations/{location_id}/clinic-days/{day_id}")
    return _page("clinics/waitlist.html", location_id, entries=entries, detail=detail)


@bp.post("/leftover-doses/offers")
@signed_in
def offer_leftovers(location_id: str):
    offers = api("POST", f"/locations/{location_id}/leftover-doses/offers")
    count = len(offers or [])
    if count:
        flash(_("Leftover doses offered to the waitlist: %(count)s.", count=count), "success")
    else:
        flash(
            _("No offer made: no opened vial has doses left, or nobody is waiting today."), "info"
        )
    day_id = request.form.get("day_id", "")
    if day_id:
        return redirect(url_for(".waitlist", location_id=location_id, day_id=day_id))
    return redirect(url_for(".days", location_id=location_id))


# -- the day's appointments -----------------------------------------------------------------------
@bp.get("/appointments")
@signed_in
def appointments(location_id: str):
    on = _parse_date(request.args.get("date")) or today()
    listed = api("GET", f"/locations/{location_id}/appointments", params={"date": on.isoformat()})
    counts: dict[str, int] = {}
    for appointment in listed:
        counts[appointment["status"]] = counts.get(appointment["status"], 0) + 1
    return _page(
        "clinics/appointments.html",
        location_id,
        listed=listed,
        on=on,
        counts=counts,
        previous_day=(on - timedelta(days=1)).isoformat(),
        next_day=(on + timedelta(days=1)).isoformat(),
    )


def _candidates(appointment: dict) -> list[dict]:
    """Registered recipients who may be this person (the API's search by name and birth date)."""
    try:
        found = api(
            "GET",
            "/recipients",
            params={
                "family_name": appointment["family_name"],
                "birth_date": appointment["birth_date"],
            },
        )
    except ApiProblem as problem:
        if problem.status not in (400, 403, 422):
            raise
        return []
    return found.get("recipients", [])


@bp.get("/appointments/<appointment_id>")
@signed_in
def appointment(location_id: str, appointment_id: str):
    return _appointment_page(location_id, appointment_id)


def _appointment_page(location_id, appointment_id, errors=None, status=200, values=None):
    detail = api("GET", f"/locations/{location_id}/appointments/{appointment_id}")
    candidates = _candidates(detail) if detail["status"] == "booked" else []
    day = local_day(detail["starts_at"])
    return _page(
        "clinics/appointment.html",
        location_id,
        status,
        detail=detail,
        detail_day=day.isoformat() if day else "",
        candidates=candidates,
        errors=errors or FormErrors(),
        values=values or {},
    )


@bp.post("/appointments/<appointment_id>/check-in")
@signed_in
def check_in(location_id: str, appointment_id: str):
    choice = request.form.get("recipient_choice", "")
    entered = request.form.get("recipient_id_entered", "").strip()
    sent: dict = {}
    if choice == "entered":
        if not entered:
            return _appointment_page(
                location_id,
                appointment_id,
                FormErrors.single("recipient_id_entered", _("Enter the recipient ID.")),
                400,
                {"recipient_choice": choice},
            )
        sent["recipient_id"] = entered
    elif choice and choice != "none":
        sent["recipient_id"] = choice
    try:
        api(
            "POST",
            f"/locations/{location_id}/appointments/{appointment_id}/check-in",
            json=sent,
        )
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        errors = refusal(problem, rename={"recipient_id": "recipient_id_entered"})
        return _appointment_page(
            location_id,
            appointment_id,
            errors,
            problem.status,
            {"recipient_choice": choice, "recipient_id_entered": entered},
        )
    flash(_("Checked in."), "success")
    return redirect(url_for(".appointment", location_id=location_id, appointment_id=appointment_id))


@bp.post("/appointments/<appointment_id>/no-show")
@signed_in
def no_show(location_id: str, appointment_id: str):
    try:
        api("POST", f"/locations/{location_id}/appointments/{appointment_id}/no-show")
    except ApiProblem as problem:
        if problem.status not in (409, 422):
            raise
        flash(refusal(problem).summary or "", "error")
    else:
        flash(_("Marked as no-show."), "success")
    return redirect(url_for(".appointment", location_id=location_id, appointment_id=appointment_id))


@bp.post("/appointments/<appointment_id>/cancel")
@signed_in
def cancel(location_id: str, appointment_id: str):
    reason = request.form.get("reason", "").strip()
    try:
        api(
            "POST",
            f"/locations/{location_id}/appointments/{appointment_id}/cancel",
            json={"reason": reason},
        )
    except ApiProblem as problem:
        if problem.status not in (400, 409, 422):
            raise
        errors = refusal(problem)
        if "reason" in problem.field_errors() or not reason:
            errors = FormErrors.single("reason", _("Say why the appointment is cancelled."))
        return _appointment_page(
            location_id, appointment_id, errors, problem.status, {"reason": reason}
        )
    flash(_("Appointment cancelled."), "success")
    return redirect(url_for(".appointment", location_id=location_id, appointment_id=appointment_id))


# -- the Vaccines.gov listing ---------------------------------------------------------------------
LISTING_RENAME = {
    "address.line1": "line1",
    "address.line2": "line2",
    "address.city": "city",
    "address.state": "state",
    "address.zip": "zip",
}


def _listing_values(settings: dict) -> dict:
    address = settings.get("address") or {}
    hours = settings.get("hours") or {}
    values = {
        "name": settings.get("name") or "",
        "line1": address.get("line1") or "",
        "line2": address.get("line2") or "",
        "city": address.get("city") or "",
        "state": address.get("state") or "",
        "zip": address.get("zip") or "",
        "phone": settings.get("phone") or "",
        "website": settings.get("website") or "",
        "products": list(settings.get("products") or []),
        "walk_ins_accepted": bool(settings.get("walk_ins_accepted")),
        "accepting_appointments": bool(settings.get("accepting_appointments")),
        "published": bool(settings.get("published")),
        "public_notes": settings.get("public_notes") or "",
    }
    for key, _label in WEEKDAYS:
        first = (hours.get(key) or [{}])[0]
        values[f"hours.{key}.opens"] = first.get("opens", "")
        values[f"hours.{key}.closes"] = first.get("closes", "")
    return values


def _posted_listing(form) -> dict:
    values = {
        name: form.get(name, "").strip() for name in _listing_values({}) if name != "products"
    }
    values["products"] = form.getlist("products")
    for flag in ("walk_ins_accepted", "accepting_appointments", "published"):
        values[flag] = bool(form.get(flag))
    return values


def _listing_request(values: dict, saved: dict) -> dict:
    hours = {}
    for key, _label in WEEKDAYS:
        opens, closes = values[f"hours.{key}.opens"], values[f"hours.{key}.closes"]
        if opens or closes:
            hours[key] = [{"opens": opens[:5], "closes": closes[:5]}]
    address = {
        "line1": values["line1"],
        "line2": values["line2"] or None,
        "city": values["city"],
        "state": values["state"].upper(),
        "zip": values["zip"],
    }
    sent = {
        "name": values["name"],
        "address": address,
        "phone": values["phone"] or None,
        "website": values["website"] or None,
        "hours": hours,
        "products": values["products"],
        "walk_ins_accepted": values["walk_ins_accepted"],
        "accepting_appointments": values["accepting_appointments"],
        "published": values["published"],
        "public_notes": values["public_notes"] or None,
    }
    before = saved.get("address") or {}
    if before.get("zip") == address["zip"] and before.get("line1") == address["line1"]:
        # Same place: keep its coordinates and time zone (else the new ZIP code's are used).
        for key in ("latitude", "longitude", "time_zone"):
            if saved.get(key) is not None:
                sent[key] = saved[key]
    return sent


def _preview(values: dict, stock: dict, location_id: str) -> dict:
    """The listing as the locator would show it (free appointments are counted by the locator)."""
    return {
        "location_id": location_id,
        "name": values["name"] or location_id,
        "address": {
            "line1": values["line1"],
            "line2": values["line2"],
            "city": values["city"],
            "state": values["state"],
            "zip": values["zip"],
        },
        "phone": values["phone"],
        "accepting_appointments": values["accepting_appointments"],
        "walk_ins_accepted": values["walk_ins_accepted"],
        "public_notes": values["public_notes"],
        "products": [
            {
                "product_id": pid,
                "stock_status": (stock.get(pid) or {}).get("status", "out_of_stock"),
                "appointments_available": None,
            }
            for pid in values["products"]
        ],
    }


@bp.route("/listing", methods=["GET", "POST"])
@signed_in
def listing(location_id: str):
    try:
        saved = api("GET", f"/locations/{location_id}/public-settings")
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        saved = {}
    errors, status = FormErrors(), 200
    if request.method == "POST":
        values = _posted_listing(request.form)
        try:
            api(
                "PUT",
                f"/locations/{location_id}/public-settings",
                json=_listing_request(values, saved),
            )
        except ApiProblem as problem:
            if problem.status not in (400, 409, 422):
                raise
            errors, status = FormErrors.from_problem(problem, rename=LISTING_RENAME), problem.status
            for name in [n for n in errors.fields if n.startswith("hours")]:
                errors.fields.setdefault("hours", []).extend(errors.fields.pop(name))
        else:
            flash(_("Listing saved."), "success")
            return redirect(url_for(".listing", location_id=location_id))
    else:
        values = _listing_values(saved)
    stock = api("GET", f"/locations/{location_id}/stock-status")
    return _page(
        "clinics/listing.html",
        location_id,
        status,
        values=values,
        errors=errors,
        saved=saved,
        preview=_preview(values, stock, location_id),
    )
