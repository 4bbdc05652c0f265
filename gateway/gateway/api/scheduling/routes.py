"""Scheduling's routes: the public locator and self-scheduling (no login: a confirmation code
is the credential), and the clinic's side of it.

Public self-scheduling is where a rush lands (in January 2021 one state site saw 10,000
requests/s for 6,000 slots and answered 502s). So its routes are limited per code, person and
slot, with generous ceilings per address that many people share (in Redis, across workers and
instances, by `public_limits`), and each gunicorn worker serves at most a bounded number of
them at once (`admission`): beyond that it answers 503 with Retry-After at once, instead of
queueing requests until gunicorn's timeout turns them into 502s."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform.answers.notifications import MessageList
from cvms_platform.errors import Conflict
from cvms_platform.products import product_labels
from gateway.access import MANAGERS, STAFF, allow, public
from gateway.api.scheduling import schemas
from gateway.docs import doc
from gateway.routing import API_PREFIX, body, call, created

log = logging.getLogger(__name__)

scheduling = Blueprint("scheduling", __name__, url_prefix=API_PREFIX)


def _query() -> dict:
    return request.args.to_dict()


def _actor() -> str:
    return g.principal.username


# -- public: the locator --------------------------------------------------------------------------
@scheduling.get("/public/locations")
@public
@doc(
    "Find vaccination locations near a ZIP code or a point (query: zip, or latitude and "
    "longitude; radius_miles (default 25); product_id; date), nearest first, with appointment "
    "availability and stock status per product",
    tag="locator",
    responses={200: ("Locations", schemas.PublicLocation(many=True))},
)
def public_locate():
    return jsonify(call.scheduling.locate(_query()))


@scheduling.get("/public/locations/feed")
@public
@doc(
    "Every published location with its products, stock status and availability (for machines)",
    tag="locator",
    responses={200: ("Locations", schemas.PublicLocation(many=True))},
)
def public_location_feed():
    return jsonify(call.scheduling.location_feed())


@scheduling.get("/public/locations/<location_id>/slots")
@public
@doc(
    "Bookable slots of a location (query: date_from, days (default 7), product_id)",
    tag="self-scheduling",
    responses={200: ("Slots with free seats", schemas.PublicSlot(many=True))},
)
def public_open_slots(location_id: str):
    return jsonify(call.scheduling.open_slots(location_id, _query()))


@scheduling.get("/public/locations/<location_id>")
@public
@doc(
    "One published location as the locator shows it, with its open clinic days of the next 14 "
    "days and the seats free on each per product (0: full, its waitlist may be joined)",
    tag="locator",
    responses={200: ("The location", schemas.PublicLocationDetail)},
)
def public_location(location_id: str):
    return jsonify(call.scheduling.public_location(location_id))


PUBLIC_PRODUCT_FIELDS = tuple(schemas.PublicProduct().fields)


@scheduling.get("/public/products")
@public
@doc(
    "The vaccines the public may find and book: names, cap colours, minimum ages",
    tag="locator",
    responses={200: ("Active products", schemas.PublicProduct(many=True))},
)
def public_products():
    catalog = call.inventory.list_products()
    return jsonify(
        [
            {
                **{name: product.get(name) for name in PUBLIC_PRODUCT_FIELDS},
                "labels": product_labels(product),
            }
            for product in catalog
            if product.get("active", True)
        ]
    )


# -- public: booking with a confirmation code ----------------------------------------------------
@scheduling.post("/public/appointments")
@public
@doc(
    "Book a slot: the answer carries the confirmation code that views, cancels and reschedules",
    tag="self-scheduling",
    body=schemas.BookingRequest,
    responses={
        201: ("Booked", schemas.Appointment),
        409: (
            "`slot_full`: no seat left (choose another slot or join the waitlist); "
            "`already_booked`: this person holds an active appointment for this dose; "
            "`slot_unavailable`: the slot is closed or past"
        ),
        422: "`birth_date`: younger than the vaccine's minimum age on the appointment's day",
        503: "Overloaded: try again after Retry-After",
    },
)
def public_book():
    data = body()
    slot_id = str(data["slot_id"])
    full_slots = current_app.extensions["cvms_full_slots"]
    if (known := full_slots.refusal(slot_id)) is not None:
        raise known
    try:
        answer = call.scheduling.book_appointment(data)
    except Conflict as refused:
        full_slots.remember(slot_id, refused)
        raise
    return _booked(answer)


def _booked(appointment: dict):
    """201, with the Location of the appointment as its holder sees it (by its code)."""
    code = appointment["confirmation_code"]
    return created(appointment, url_for(".public_appointment", code=code))


@scheduling.get("/public/appointments/<code>")
@public
@doc(
    "An appointment, by its confirmation code",
    tag="self-scheduling",
    responses={200: ("The appointment", schemas.Appointment)},
)
def public_appointment(code: str):
    return jsonify(call.scheduling.get_appointment(code))


@scheduling.post("/public/appointments/<code>/cancel")
@public
@doc(
    "Cancel an appointment by its confirmation code",
    tag="self-scheduling",
    body=schemas.CancelRequest,
    responses={
        200: ("Cancelled", schemas.Appointment),
        409: "`appointment_not_active`: not a booked appointment",
    },
)
def public_cancel(code: str):
    data = body()
    return jsonify(call.scheduling.cancel_appointment(code, data))


@scheduling.post("/public/appointments/<code>/reschedule")
@public
@doc(
    "Move an appointment to another slot of the same vaccine at the same location, atomically: "
    "the new seat or the old one, never both or neither. To go to another location, cancel and "
    "book there",
    tag="self-scheduling",
    body=schemas.SlotChoice,
    responses={
        200: ("Rescheduled", schemas.Appointment),
        409: "`slot_full` or `appointment_not_active`: nothing changed",
        422: "`slot_id`: at another location, for another vaccine, or before the series allows",
    },
)
def public_reschedule(code: str):
    data = body()
    return jsonify(call.scheduling.reschedule_appointment(code, data))


@scheduling.get("/public/appointments/<code>/next-dose")
@public
@doc(
    "After a recorded first dose: when the next one may be given and the open slots for it",
    tag="self-scheduling",
    responses={
        200: ("The next dose and its slots", schemas.NextDoseSlots),
        409: "`no_next_dose`: none is due, or it is booked",
    },
)
def public_next_dose_slots(code: str):
    return jsonify(call.scheduling.next_dose_slots(code))


@scheduling.post("/public/appointments/<code>/next-dose")
@public
@doc(
    "Book the series' next dose with the first dose's confirmation code",
    tag="self-scheduling",
    body=schemas.SlotChoice,
    responses={
        201: ("Booked: a new appointment with its own code", schemas.Appointment),
        409: "`no_next_dose`, `slot_full` or `already_booked`",
        422: "Another location or product, or before the minimum interval",
    },
)
def public_book_next_dose(code: str):
    data = body()
    return _booked(call.scheduling.book_next_dose(code, data))


@scheduling.post("/public/waitlist")
@public
@doc(
    "Join a full clinic day's waitlist: a freed seat or a leftover dose is offered in turn",
    tag="self-scheduling",
    body=schemas.WaitlistRequest,
    responses={
        201: ("On the waitlist", schemas.WaitlistEntry),
        409: "`seats_available`: book instead; `already_waiting`",
        422: "`birth_date`: younger than the vaccine's minimum age on that day",
    },
)
def public_join_waitlist():
    data = body()
    answer = call.scheduling.join_waitlist(data)
    return created(answer, url_for(".public_waitlist_entry", code=answer["code"]))


@scheduling.get("/public/waitlist/<code>")
@public
@doc(
    "A waitlist entry and its offer, if any, by its code",
    tag="self-scheduling",
    responses={200: ("The entry", schemas.WaitlistEntry)},
)
def public_waitlist_entry(code: str):
    return jsonify(call.scheduling.get_waitlist_entry(code))


@scheduling.post("/public/waitlist/<code>/accept")
@public
@doc(
    "Accept the place offered before the offer expires",
    tag="self-scheduling",
    responses={
        201: ("Booked", schemas.Appointment),
        409: "`offer_not_open`: no offer, or it expired; `already_booked`",
    },
)
def public_accept_offer(code: str):
    return _booked(call.scheduling.accept_waitlist_offer(code))


# -- the clinic's side ----------------------------------------------------------------------------
@scheduling.get("/locations/<location_id>/public-settings")
@allow(*STAFF, location_scoped=True)
@doc(
    "A location's public settings (what the locator shows)",
    responses={200: ("Settings", schemas.LocationSettings)},
)
def get_public_settings(location_id: str):
    return jsonify(call.scheduling.get_location_settings(location_id))


@scheduling.put("/locations/<location_id>/public-settings")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Set a location's public settings: name, address, hours, products, walk-ins, whether it "
    "accepts appointments and is published",
    body=schemas.LocationSettingsRequest,
    responses={
        200: ("Saved", schemas.LocationSettings),
        422: "Unknown time zone, or published without coordinates",
    },
)
def put_public_settings(location_id: str):
    data = body()
    return jsonify(call.scheduling.save_location_settings(location_id, data, _actor()))


@scheduling.get("/locations/<location_id>/stock-status")
@allow(*STAFF, location_scoped=True)
@doc(
    "Stock status per product as the public sees it (from inventory's events)",
    responses={200: ("Status per product id", schemas.StockStatus(many=True))},
)
def stock_status(location_id: str):
    return jsonify(call.scheduling.stock_status(location_id))


@scheduling.post("/locations/<location_id>/clinic-days")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Create clinic days with slots in bulk (e.g. 09:00-17:00 every 15 minutes, 10 per slot, "
    "for one product); repeating the request adds nothing twice",
    body=schemas.ClinicDaysRequest,
    responses={
        201: ("The clinic days", schemas.ClinicDay(many=True)),
        422: "Dates in the past, a closed day, or no public settings yet",
    },
)
def create_clinic_days(location_id: str):
    data = body()
    answer = call.scheduling.create_clinic_days(location_id, data, _actor())
    return created(answer, url_for(".list_clinic_days", location_id=location_id))


@scheduling.get("/locations/<location_id>/clinic-days")
@allow(*STAFF, location_scoped=True, scopes=("appointments:read",))
@doc(
    "Clinic days (query: from, to) with their capacity and bookings",
    responses={200: ("Clinic days", schemas.ClinicDay(many=True))},
)
def list_clinic_days(location_id: str):
    return jsonify(
        call.scheduling.list_clinic_days(
            location_id, request.args.get("from"), request.args.get("to")
        )
    )


@scheduling.get("/locations/<location_id>/clinic-days/<day_id>")
@allow(*STAFF, location_scoped=True, scopes=("appointments:read",))
@doc(
    "A clinic day with its slots, walk-ins and waitlist",
    responses={200: ("The clinic day", schemas.ClinicDayDetail)},
)
def get_clinic_day(location_id: str, day_id: str):
    return jsonify(call.scheduling.get_clinic_day(location_id, day_id))


@scheduling.post("/locations/<location_id>/clinic-days/<day_id>/close")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Close a clinic day: its bookings are moved to another day or cancelled, each announced",
    body=schemas.CloseDayRequest,
    responses={200: ("Closed", schemas.ClosedDay)},
)
def close_clinic_day(location_id: str, day_id: str):
    data = body()
    return jsonify(call.scheduling.close_clinic_day(location_id, day_id, data, _actor()))


@scheduling.patch("/locations/<location_id>/slots/<slot_id>")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Change a slot's capacity (never below the seats booked)",
    body=schemas.CapacityRequest,
    responses={
        200: ("The slot", schemas.Slot),
        409: "`capacity_below_booked`",
    },
)
def set_slot_capacity(location_id: str, slot_id: str):
    data = body()
    return jsonify(call.scheduling.set_slot_capacity(location_id, slot_id, data))


@scheduling.post("/locations/<location_id>/clinic-days/<day_id>/walk-ins")
@allow(*STAFF, location_scoped=True, scopes=("appointments:write",))
@doc(
    "Record a walk-in (vaccinated without an appointment) against a clinic day",
    body=schemas.WalkInRequest,
    responses={201: ("Recorded", schemas.WalkIn)},
)
def record_walk_in(location_id: str, day_id: str):
    data = body()
    answer = call.scheduling.record_walk_in(location_id, day_id, data, _actor())
    return created(answer, url_for(".get_clinic_day", location_id=location_id, day_id=day_id))


@scheduling.get("/locations/<location_id>/clinic-days/<day_id>/waitlist")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "A clinic day's waitlist, in order",
    responses={200: ("Entries", schemas.StaffWaitlistEntry(many=True))},
)
def list_waitlist(location_id: str, day_id: str):
    return jsonify(call.scheduling.list_waitlist(location_id, day_id))


@scheduling.post("/locations/<location_id>/leftover-doses/offers")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Offer the doses left in opened vials to today's waitlist (first come, first offered)",
    responses={200: ("The offers made", schemas.StaffWaitlistEntry(many=True))},
)
def offer_leftover_doses(location_id: str):
    return jsonify(call.scheduling.offer_leftover_doses(location_id))


@scheduling.get("/locations/<location_id>/appointments")
@allow(*STAFF, location_scoped=True, scopes=("appointments:read",))
@doc(
    "A location's appointments (query: date, the location's local date)",
    responses={200: ("Appointments", schemas.StaffAppointment(many=True))},
)
def list_appointments(location_id: str):
    return jsonify(call.scheduling.list_appointments(location_id, request.args.get("date")))


@scheduling.get("/locations/<location_id>/appointments/<appointment_id>")
@allow(*STAFF, location_scoped=True, scopes=("appointments:read",))
@doc(
    "An appointment with its history (who changed what, when and why)",
    responses={200: ("The appointment", schemas.AppointmentWithHistory)},
)
def get_appointment(location_id: str, appointment_id: str):
    return jsonify(call.scheduling.appointment_history(location_id, appointment_id))


@scheduling.get("/locations/<location_id>/appointments/<appointment_id>/messages")
@allow(*STAFF, location_scoped=True)
@doc(
    "The messages sent (or to be sent) about an appointment: confirmation, changes, reminder; "
    "each with its channel, state and masked address",
    responses={200: ("Messages, oldest first", MessageList)},
)
def appointment_messages(location_id: str, appointment_id: str):
    call.scheduling.appointment_history(location_id, appointment_id)  # 404 if not the location's
    return jsonify(messages=call.notifications.messages_about(appointment_id))


@scheduling.post("/locations/<location_id>/appointments/<appointment_id>/check-in")
@allow(*STAFF, location_scoped=True, scopes=("appointments:write",))
@doc(
    "Check a person in; with the registered recipient's id, the dose recorded next completes "
    "the appointment",
    body=schemas.CheckInRequest,
    responses={200: ("Checked in", schemas.StaffAppointment)},
)
def check_in(location_id: str, appointment_id: str):
    data = body()
    return jsonify(call.scheduling.check_in(location_id, appointment_id, data, _actor()))


@scheduling.post("/locations/<location_id>/appointments/<appointment_id>/no-show")
@allow(*STAFF, location_scoped=True, scopes=("appointments:write",))
@doc(
    "Mark a booked appointment whose time has come as a no-show",
    responses={200: ("Marked", schemas.StaffAppointment)},
)
def mark_no_show(location_id: str, appointment_id: str):
    return jsonify(call.scheduling.mark_no_show(location_id, appointment_id, _actor()))


@scheduling.post("/locations/<location_id>/appointments/<appointment_id>/cancel")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Cancel a booking for the person (e.g. they phoned), saying why",
    body=schemas.StaffCancelRequest,
    responses={200: ("Cancelled", schemas.StaffAppointment)},
)
def cancel_for_location(location_id: str, appointment_id: str):
    data = body()
    return jsonify(call.scheduling.cancel_for_location(location_id, appointment_id, data, _actor()))
