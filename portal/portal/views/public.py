"""Public self-scheduling: find a location, book a time, manage the booking, the waitlist.

No sign-in: the confirmation code (or a waitlist entry's code) is the credential. It never
appears in a URL (it would reach logs, history and the Referer): a code typed in or just
received is kept in the server-side session, and the pages about "my appointment" read it from
there. Personal data travels only in POST bodies. Every rule (who may book, how many seats, the
minimum age, the series' interval) is the API's: its refusals are said in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.auth import api
from portal.catalog import product_options, products
from portal.formatting import local_day
from portal.forms import FormErrors
from portal.gateway import ApiProblem, public_read
from portal.i18n import LANGUAGE_CHOICES

bp = Blueprint("public", __name__)

RADII = (5, 10, 25, 50, 100)
DEFAULT_RADIUS = 25
CODE_KEY = "public_code"  # the booking this browser looks at (server-side session)
WAITLIST_KEY = "public_waitlist_code"
JUST_BOOKED_KEY = "public_just_booked"
PERSON_FIELDS = ("given_name", "family_name", "birth_date", "phone", "email", "preferred_language")
# The API's contact_preferences channel -> the form's checkbox.
CHANNEL_BOXES = {"email": "contact_email", "sms": "contact_sms"}

STOCK_STATUS = {
    "in_stock": _l("In stock"),
    "call_to_confirm": _l("Call to confirm"),
    "out_of_stock": _l("Out of stock"),
}
APPOINTMENT_STATUS = {
    "booked": _l("Booked"),
    "checked_in": _l("Checked in"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "no_show": _l("Missed"),
}
WAITLIST_STATUS = {
    "waiting": _l("Waiting"),
    "offered": _l("Offered a place"),
    "accepted": _l("Accepted"),
    "expired": _l("Expired"),
    "withdrawn": _l("Withdrawn"),
}
WEEKDAYS = (
    ("mon", _l("Monday")),
    ("tue", _l("Tuesday")),
    ("wed", _l("Wednesday")),
    ("thu", _l("Thursday")),
    ("fri", _l("Friday")),
    ("sat", _l("Saturday")),
    ("sun", _l("Sunday")),
)
# The API's refusals a member of the public meets, said plainly in their language.
REFUSALS = {
    "slot_full": _l(
        "Sorry, that time was just taken: no place is left. Choose another time, or join the "
        "day's waitlist if the day is full."
    ),
    "already_booked": _l(
        "You already have an appointment for this dose. Use your confirmation code to see, "
        "change or cancel it."
    ),
    "slot_unavailable": _l(
        "That time can no longer be booked: it is closed or has passed. Choose another time."
    ),
    "rate_limited": _l("Too many requests from your connection. Wait a minute and try again."),
    "appointment_not_active": _l("This appointment is no longer active, so it cannot be changed."),
    "no_next_dose": _l(
        "No next dose can be booked with this code: none is due, or it is booked already."
    ),
    "seats_available": _l("That day still has free times: book one instead."),
    "already_waiting": _l("You are already on this day's waitlist."),
    "offer_not_open": _l("There is no open offer to accept: it may have expired."),
}


# -- helpers shared with the clinics pages --------------------------------------------------------
def refused(problem: ApiProblem, statuses=(400, 404, 409, 422, 429)) -> tuple[FormErrors, int]:
    """A refusal a member of the public may meet here (`statuses`), said plainly, with its
    status; anything else goes on to the error pages."""
    if problem.status not in statuses:
        raise problem
    return refusal(problem), problem.status


def refusal(problem: ApiProblem, rename: dict[str, str] | None = None) -> FormErrors:
    """An API refusal as a form's errors, with the conflicts said plainly."""
    errors = FormErrors.from_problem(problem, rename=rename)
    if problem.status == 429:
        errors.summary = str(REFUSALS["rate_limited"])
    elif problem.code in REFUSALS:
        errors.summary = str(REFUSALS[problem.code])
    return errors


def _context(**more) -> dict:
    return {
        "stock_status": STOCK_STATUS,
        "appointment_status": APPOINTMENT_STATUS,
        "waitlist_status": WAITLIST_STATUS,
        "weekdays": WEEKDAYS,
        **more,
    }


def _render(template: str, status: int = 200, **context):
    """A public page, with the public catalog to name products by (kept in the process)."""
    if "catalog" not in context:
        context["catalog"] = products(public=True)
    return render_template(template, **_context(**context)), status


def _clean_code(value: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", value or "").upper()


def _person(form) -> dict:
    """The form's person; on a new form (nothing posted) both channels are ticked."""
    values = {name: (form.get(name) or "").strip() for name in PERSON_FIELDS}
    if values["preferred_language"] not in dict(LANGUAGE_CHOICES):
        values["preferred_language"] = "es" if request_lang() == "es" else "en"
    posted = "channels_shown" in form
    for box in CHANNEL_BOXES.values():
        values[box] = not posted or bool(form.get(box))
    return values


def request_lang() -> str:
    return g.get("lang", "en")


def _person_request(values: dict) -> dict:
    """The person as the API takes them: empty optional fields left out, and a channel whose
    box was cleared sent as not chosen (a ticked one is chosen where its address is given)."""
    sent = {k: v for k, v in values.items() if v and k in PERSON_FIELDS}
    declined = {channel: False for channel, box in CHANNEL_BOXES.items() if not values[box]}
    if declined:
        sent["contact_preferences"] = declined
    return sent


def _location(location_id: str) -> dict:
    return api("GET", f"/public/locations/{location_id}")


# -- find a location ------------------------------------------------------------------------------
@bp.get("/find")
def locator():
    query = {
        "zip": request.args.get("zip", "").strip(),
        "radius": request.args.get("radius", "").strip() or str(DEFAULT_RADIUS),
        "product": request.args.get("product", "").strip(),
        "date": request.args.get("date", "").strip(),
    }
    catalog = products(public=True)
    errors = FormErrors()
    locations = None
    if query["zip"]:
        params = {"zip": query["zip"], "radius_miles": query["radius"]}
        if query["product"]:
            params["product_id"] = query["product"]
        if query["date"]:
            params["date"] = query["date"]
        try:
            locations = public_read("/public/locations", params=params)
        except ApiProblem as problem:
            if problem.status not in (400, 422, 429):
                raise
            errors = refusal(problem, rename={"radius_miles": "radius", "product_id": "product"})
    elif request.args:
        errors = FormErrors.single("zip", _("Enter a 5-digit ZIP code."))
    return _render(
        "public/locator.html",
        query=query,
        errors=errors,
        locations=locations,
        radii=[(str(r), _("%(miles)s miles", miles=r)) for r in RADII],
        product_options=product_options(catalog),
        catalog=catalog,
    )


@bp.get("/find/locations/<location_id>")
def location(location_id: str):
    place = _location(location_id)
    catalog = products(public=True)
    chosen = request.args.get("product", "")
    days = [d for d in place.get("clinic_days", []) if not chosen or d["product_id"] == chosen]
    return _render(
        "public/location.html",
        place=place,
        catalog=catalog,
        chosen=chosen,
        days=days,
    )


@bp.get("/find/locations/<location_id>/times")
def times(location_id: str):
    day, product = request.args.get("date", ""), request.args.get("product", "")
    place = _location(location_id)
    slots = api(
        "GET",
        f"/public/locations/{location_id}/slots",
        params={"date_from": day, "days": 1, "product_id": product},
    )
    slots = [s for s in slots if not day or _local_date(s["starts_at"], place) == day]
    return _render(
        "public/times.html",
        place=place,
        day=day,
        product=product,
        slots=slots,
        clinic_day=_clinic_day(place, day, product),
    )


def _person_form(values: dict, errors: FormErrors) -> dict:
    """What the form of a person's details (booking, joining a waitlist) shows."""
    return {"values": values, "errors": errors, "languages_offered": LANGUAGE_CHOICES}


def _clinic_day(place: dict, day: str, product: str, *, full: bool = False) -> dict | None:
    """The place's clinic day of `product` on `day` (one with no seat left, if `full`)."""
    return next(
        (
            d
            for d in place.get("clinic_days", [])
            if d["date"] == day and d["product_id"] == product and (not full or d["available"] == 0)
        ),
        None,
    )


def _day_by_id(place: dict | None, clinic_day_id: str) -> dict | None:
    """The clinic day of the place (if still published) with this id."""
    days = (place or {}).get("clinic_days", [])
    return next((d for d in days if d["clinic_day_id"] == clinic_day_id), None)


def _local_date(starts_at: str, place: dict) -> str:
    day = local_day(starts_at, place.get("time_zone"))
    return day.isoformat() if day else ""


# -- book -----------------------------------------------------------------------------------------
@bp.route("/find/locations/<location_id>/book", methods=["GET", "POST"])
def book(location_id: str):
    source = request.form if request.method == "POST" else request.args
    slot_id = source.get("slot_id", "")
    day, product = source.get("date", ""), source.get("product", "")
    if not slot_id:
        flash(_("Choose a time first."), "info")
        return redirect(url_for(".times", location_id=location_id, date=day, product=product))
    values = _person(request.form) if request.method == "POST" else _person({})
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        try:
            answer = api(
                "POST", "/public/appointments", json={"slot_id": slot_id, **_person_request(values)}
            )
        except ApiProblem as problem:
            errors, status = refused(problem)
        else:
            session[CODE_KEY] = answer["confirmation_code"]
            session[JUST_BOOKED_KEY] = True
            return redirect(url_for(".booking"))
    place = _location(location_id)
    slots = api(
        "GET",
        f"/public/locations/{location_id}/slots",
        params={"date_from": day, "days": 1, "product_id": product} if day else {},
    )
    slot = next((s for s in slots if s["id"] == slot_id), None)
    if slot is None and request.method == "GET":
        flash(str(REFUSALS["slot_unavailable"]), "warning")
        return redirect(url_for(".times", location_id=location_id, date=day, product=product))
    return _render(
        "public/book.html",
        status,
        place=place,
        slot=slot,
        slot_id=slot_id,
        day=day,
        product=product,
        **_person_form(values, errors),
        full_day=_clinic_day(place, day, product, full=True),
    )


# -- my appointment -------------------------------------------------------------------------------
@bp.route("/appointments", methods=["GET", "POST"])
def find_booking():
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        code = _clean_code(request.form.get("code"))
        if not code:
            errors, status = FormErrors.single("code", _("Enter your confirmation code.")), 400
        else:
            errors, status = _look_up_code(
                f"/public/appointments/{code}",
                _("We could not find an appointment with that code. Check it and try again."),
            )
            if status == 200:
                session[CODE_KEY] = code
                session.pop(JUST_BOOKED_KEY, None)
                return redirect(url_for(".booking"))
    return render_template(
        "public/find_booking.html", errors=errors, has_code=bool(session.get(CODE_KEY))
    ), status


def _look_up_code(path: str | None, not_found: str) -> tuple[FormErrors, int]:
    """Whether the API knows the booking or waitlist entry a person's code names (`path`; None
    for no code): no errors and 200 if it does, else the code field's error and its status."""
    try:
        if not path:
            raise ApiProblem(404, "not_found", "")
        api("GET", path)
    except ApiProblem as problem:
        if problem.status == 429:
            return refusal(problem), 429
        if problem.status in (400, 404):
            return FormErrors.single("code", not_found), 404
        raise
    return FormErrors(), 200


def _no_code():
    flash(_("Enter your confirmation code to see your appointment."), "info")
    return redirect(url_for(".find_booking"))


def _no_waitlist_code():
    return redirect(url_for(".find_waitlist"))


def _kept(key: str, ask: Callable) -> Callable:
    """A page about the booking or waitlist entry whose code this browser keeps (`key`): called
    with the code, else the person is asked for it (`ask`)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def page(**kwargs):
            code = session.get(key)
            if not code:
                return ask()
            return view(code, **kwargs)

        return page

    return decorate


_with_code = _kept(CODE_KEY, _no_code)
_with_waitlist_code = _kept(WAITLIST_KEY, _no_waitlist_code)


@bp.get("/appointments/mine")
@_with_code
def booking(code: str):
    try:
        appointment = api("GET", f"/public/appointments/{code}")
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        session.pop(CODE_KEY, None)
        return _no_code()
    place = _location_or_none(appointment["location_id"])
    just_booked = session.pop(JUST_BOOKED_KEY, False)
    return _render(
        "public/booking.html",
        appointment=appointment,
        place=place,
        just_booked=just_booked,
    )


def _location_or_none(location_id: str) -> dict | None:
    try:
        return _location(location_id)
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        return None  # no longer published: the booking still stands


@bp.route("/appointments/mine/cancel", methods=["GET", "POST"])
@_with_code
def cancel(code: str):
    errors, status = FormErrors(), 200
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        try:
            api("POST", f"/public/appointments/{code}/cancel", json={"reason": reason or None})
        except ApiProblem as problem:
            errors, status = refused(problem, (400, 409, 422, 429))
        else:
            flash(_("Your appointment is cancelled."), "success")
            return redirect(url_for(".booking"))
    appointment = api("GET", f"/public/appointments/{code}")
    return _render(
        "public/cancel.html",
        status,
        appointment=appointment,
        place=_location_or_none(appointment["location_id"]),
        errors=errors,
    )


def _slots_by_day(slots: list[dict], place: dict | None) -> list[tuple[str, list[dict]]]:
    """The slots grouped by their day where `place` (the location, if still published) is."""
    zone = place.get("time_zone") if place else None
    grouped: dict[str, list[dict]] = {}
    for slot in slots:
        day = local_day(slot["starts_at"], zone)
        grouped.setdefault(day.isoformat() if day else "", []).append(slot)
    return list(grouped.items())


def _post_chosen_slot(path: str, missing: str) -> tuple[Any, FormErrors, int]:
    """POST the slot the form chose to the API: its answer and status 200 once taken, else no
    answer and the form's errors with their status. A GET shows the form: nothing, no errors."""
    if request.method != "POST":
        return None, FormErrors(), 200
    slot_id = request.form.get("slot_id", "")
    if not slot_id:
        return None, FormErrors.single("slot_id", missing), 400
    try:
        return api("POST", path, json={"slot_id": slot_id}), FormErrors(), 200
    except ApiProblem as problem:
        return None, *refused(problem, (400, 409, 422, 429))


@bp.route("/appointments/mine/reschedule", methods=["GET", "POST"])
@_with_code
def reschedule(code: str):
    path = f"/public/appointments/{code}/reschedule"
    rescheduled, errors, status = _post_chosen_slot(path, _("Choose a new time."))
    if request.method == "POST" and status == 200:
        flash(_("Your appointment has a new time."), "success")
        return redirect(url_for(".booking"))
    appointment = api("GET", f"/public/appointments/{code}")
    place = _location_or_none(appointment["location_id"])
    slots = []
    if place is not None:
        slots = api(
            "GET",
            f"/public/locations/{appointment['location_id']}/slots",
            params={"product_id": appointment["product_id"], "days": 14},
        )
        slots = [s for s in slots if s["id"] != appointment.get("slot_id")]
    return _render(
        "public/reschedule.html",
        status,
        appointment=appointment,
        place=place,
        groups=_slots_by_day(slots, place),
        errors=errors,
    )


@bp.route("/appointments/mine/next-dose", methods=["GET", "POST"])
@_with_code
def next_dose(code: str):
    path = f"/public/appointments/{code}/next-dose"
    answer, errors, status = _post_chosen_slot(path, _("Choose a time."))
    if request.method == "POST" and status == 200:
        session[CODE_KEY] = answer["confirmation_code"]
        session[JUST_BOOKED_KEY] = True
        return redirect(url_for(".booking"))
    try:
        offered = api("GET", f"/public/appointments/{code}/next-dose")
    except ApiProblem as problem:
        if problem.status != 409:
            raise
        flash(str(REFUSALS.get(problem.code, REFUSALS["no_next_dose"])), "info")
        return redirect(url_for(".booking"))
    place = _location_or_none(offered["next_dose"].get("location_id", ""))
    return _render(
        "public/next_dose.html",
        status,
        offered=offered,
        place=place,
        groups=_slots_by_day(offered["slots"], place),
        errors=errors,
    )


@bp.post("/appointments/forget")
def forget():
    session.pop(CODE_KEY, None)
    session.pop(WAITLIST_KEY, None)
    session.pop(JUST_BOOKED_KEY, None)
    flash(_("This device no longer shows your appointment. Keep your confirmation code."), "info")
    return redirect(url_for(".find_booking"))


# -- the waitlist ---------------------------------------------------------------------------------
@bp.route("/waitlist/join/<location_id>", methods=["GET", "POST"])
def join_waitlist(location_id: str):
    source = request.form if request.method == "POST" else request.args
    clinic_day_id, product = source.get("day", ""), source.get("product", "")
    values = _person(request.form) if request.method == "POST" else _person({})
    errors, status = FormErrors(), 200
    if request.method == "POST":
        try:
            answer = api(
                "POST",
                "/public/waitlist",
                json={
                    "clinic_day_id": clinic_day_id,
                    "product_id": product,
                    **_person_request(values),
                },
            )
        except ApiProblem as problem:
            errors, status = refused(problem)
        else:
            session[WAITLIST_KEY] = answer["code"]
            flash(_("You are on the waitlist. Keep your waitlist code."), "success")
            return redirect(url_for(".waitlist_entry"))
    place = _location(location_id)
    return _render(
        "public/join_waitlist.html",
        status,
        place=place,
        clinic_day_id=clinic_day_id,
        product=product,
        day=_day_by_id(place, clinic_day_id),
        **_person_form(values, errors),
    )


@bp.route("/waitlist", methods=["GET", "POST"])
def find_waitlist():
    errors, status = FormErrors(), 200
    if request.method == "POST":
        code = _clean_code(request.form.get("code"))
        errors, status = _look_up_code(
            code and f"/public/waitlist/{code}",
            _("We could not find a waitlist entry with that code."),
        )
        if status == 200:
            session[WAITLIST_KEY] = code
            return redirect(url_for(".waitlist_entry"))
    return render_template("public/find_waitlist.html", errors=errors), status


@bp.get("/waitlist/mine")
@_with_waitlist_code
def waitlist_entry(code: str):
    entry = api("GET", f"/public/waitlist/{code}")
    place = _location_or_none(entry["location_id"])
    return _render(
        "public/waitlist_entry.html",
        entry=entry,
        code=code,
        place=place,
        day=_day_by_id(place, entry["clinic_day_id"]),
    )


@bp.post("/waitlist/mine/accept")
@_with_waitlist_code
def accept_offer(code: str):
    try:
        answer = api("POST", f"/public/waitlist/{code}/accept")
    except ApiProblem as problem:
        if problem.status not in (409, 429):
            raise
        flash(str(refusal(problem).summary), "error")
        return redirect(url_for(".waitlist_entry"))
    session[CODE_KEY] = answer["confirmation_code"]
    session[JUST_BOOKED_KEY] = True
    return redirect(url_for(".booking"))


# Strings only used as values above, marked for the catalog.
def _mark_for_extraction() -> None:  # pragma: no cover - never called
    _("Enter a 5-digit ZIP code.")
