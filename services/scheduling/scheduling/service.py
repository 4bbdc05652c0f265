"""The scheduling service: public location settings and locator, clinic days and slots,
self-scheduling with confirmation codes, waitlists and leftover doses, reminders."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from marshmallow import ValidationError, fields
from nameko.rpc import RpcProxy
from nameko.timer import timer
from sqlalchemy import func, select

from cvms_platform import validation
from cvms_platform.batch_consumer import consumes_batch
from cvms_platform.config import float_setting
from cvms_platform.consumer import consumes
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from scheduling import appointments, catalog, clinics, contacts, locator, stock, waitlist
from scheduling.models import (
    Appointment,
    ClinicDay,
    Slot,
    WaitlistEntry,
    WalkIn,
)
from scheduling.schemas import (
    AppointmentPublicOut,
    AppointmentStaffOut,
    BookingSchema,
    CancelSchema,
    CapacitySchema,
    CheckInSchema,
    ClinicDayOut,
    ClinicDaysSchema,
    CloseDaySchema,
    HistoryOut,
    LocationSettingsOut,
    LocationSettingsSchema,
    LocatorQuerySchema,
    PublicSlotOut,
    SlotChoiceSchema,
    SlotOut,
    SlotQuerySchema,
    WaitlistEntryPublicOut,
    WaitlistEntryStaffOut,
    WaitlistJoinSchema,
    WalkInOut,
    WalkInSchema,
)

log = logging.getLogger(__name__)
# How often waitlist offers past their time are expired and passed on: an offer lasts minutes,
# so half a minute late is fair; the tests look more often so as not to wait for it.
OFFER_EXPIRY_SWEEP_S = float_setting("CVMS_OFFER_EXPIRY_SWEEP_SECONDS", 30.0)

SETTINGS = LocationSettingsOut()
DAY = ClinicDayOut()
SLOTS = SlotOut(many=True)
PUBLIC_SLOTS = PublicSlotOut(many=True)
PUBLIC_APPOINTMENT = AppointmentPublicOut()
STAFF_APPOINTMENT = AppointmentStaffOut()
STAFF_APPOINTMENTS = AppointmentStaffOut(many=True)
PUBLIC_ENTRY = WaitlistEntryPublicOut()
STAFF_ENTRIES = WaitlistEntryStaffOut(many=True)
HISTORY = HistoryOut(many=True)
BOOKING_CONTACTS = contacts.ManyQuery()
RECIPIENT = "recipient"
_ID = fields.UUID()
_DATE = fields.Date()


def _id(value, what: str) -> str:
    """A path id that is not a UUID names nothing: 404, as an unknown one would."""
    try:
        return str(_ID.deserialize(value))
    except ValidationError:
        raise NotFound(f"{what} {value} not found") from None


def _code(code) -> str:
    if not isinstance(code, str) or not 6 <= len(code) <= 20:
        raise NotFound("No appointment has this confirmation code.")
    return code


def _actor(actor) -> str:
    if not isinstance(actor, str) or not 0 < len(actor) <= 100:
        raise InvalidInput({"actor": ["Who is acting."]})
    return actor


def _optional_date(value, field: str) -> date | None:
    if value is None:
        return None
    try:
        return _DATE.deserialize(value)
    except ValidationError as exc:
        raise InvalidInput({field: exc.messages}) from None


class SchedulingService(CvmsService):
    name = "scheduling"
    inventory = RpcProxy("inventory")

    def now(self) -> datetime:
        """The clock; tests replace it to drive time."""
        return utcnow()

    def _products(self) -> dict[str, dict]:
        return catalog.products(self.inventory)

    def _known_products(self, product_ids: list[str], field: str) -> None:
        known = self._products()
        if unknown := sorted(set(product_ids) - set(known)):
            raise InvalidInput({field: [f"Unknown product: {', '.join(unknown)}."]})

    # -- location settings and the public locator ------------------------------------------------
    @rpc
    def get_location_settings(self, location_id: str) -> dict:
        location_id = validation.location(location_id)
        return SETTINGS.dump(clinics.settings_of(self.db.session, location_id))

    @rpc
    def save_location_settings(self, location_id: str, data: dict, actor: str) -> dict:
        """Create or replace a location's public settings (what the locator shows)."""
        location_id, actor = validation.location(location_id), _actor(actor)
        settings = validation.load(LocationSettingsSchema(), data)
        self._known_products(settings["products"], "products")
        with self.db.transaction() as session:
            saved = clinics.save_settings(session, location_id, settings, actor, self.now())
            answer = SETTINGS.dump(saved)
        return answer

    @rpc
    def locate(self, query: dict) -> list[dict]:
        """Published locations within `radius_miles` of a ZIP code or a point, nearest first."""
        data = validation.load(LocatorQuerySchema(), query)
        return locator.search(self.db.session, data, self.now())

    @rpc
    def public_location(self, location_id: str) -> dict:
        """One published location with its coming clinic days and their free seats."""
        return locator.one(self.db.session, validation.location(location_id), self.now())

    @rpc
    def location_feed(self) -> list[dict]:
        return locator.feed(self.db.session, self.now())

    @consumes("identity", "location_enrolled")
    def on_location_enrolled(self, session, event) -> None:
        clinics.start_enrolled_location(session, event)

    # -- contact details, for the notifications service -----------------------------------------
    @rpc
    def booking_contact(self, kind: str, booking_id: str) -> dict:
        """How to reach the person of an appointment or a waitlist place (`kind`: appointment
        or waitlist) and the location they are expected at: given name, e-mail, phone,
        language, location name, address, phone and time zone."""
        if kind not in contacts.KINDS:
            raise InvalidInput({"kind": ["Must be appointment or waitlist."]})
        return contacts.of(self.db.session, kind, _id(booking_id, kind.capitalize()))

    @rpc
    def booking_contacts(self, kind: str, booking_ids: list[str]) -> dict[str, dict]:
        """`booking_contact` for a batch (notifications sends many messages at once): {id:
        what booking_contact answers} for each of up to 500 ids that names a booking of `kind`;
        an id that names none is left out (booking_contact would say NotFound)."""
        query = validation.load(BOOKING_CONTACTS, {"kind": kind, "booking_ids": booking_ids})
        ids = [str(booking_id) for booking_id in query["booking_ids"]]
        return contacts.of_many(self.db.session, query["kind"], ids)

    # -- the stock status projection --------------------------------------------------------------
    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event) -> None:
        stock.apply(session, event)

    @consumes("inventory", "inventory_adjusted")
    def on_inventory_adjusted(self, session, event) -> None:
        stock.apply(session, event)

    @consumes("inventory", "doses_wasted")
    def on_doses_wasted(self, session, event) -> None:
        stock.apply(session, event)

    @consumes("inventory", "lot_quarantined")
    def on_lot_quarantined(self, session, event) -> None:
        stock.apply(session, event)

    @consumes("inventory", "lot_released")
    def on_lot_released(self, session, event) -> None:
        stock.apply(session, event)

    @rpc
    def stock_status(self, location_id: str) -> dict:
        """{product_id: {status, doses_usable, updated_at}} from the projection."""
        location_id = validation.location(location_id)
        found = stock.statuses(self.db.session, [location_id], self.now()).get(location_id, {})
        return {
            product: {**state, "updated_at": state["updated_at"].isoformat()}
            for product, state in found.items()
        }

    # -- clinic days and slots --------------------------------------------------------------------
    @rpc
    def create_clinic_days(self, location_id: str, data: dict, actor: str) -> list[dict]:
        """Clinic days with slots in bulk; repeating the request adds nothing twice."""
        location_id, actor = validation.location(location_id), _actor(actor)
        request = validation.load(ClinicDaysSchema(), data)
        self._known_products([request["product_id"]], "product_id")

        def work(session):
            created = clinics.create_clinic_days(session, location_id, request, actor, self.now())
            return [{**DAY.dump(day), "slots_added": added} for day, added in created]

        return self.db.idempotent(work)

    @rpc
    def list_clinic_days(
        self, location_id: str, date_from: str | None = None, date_to: str | None = None
    ) -> list[dict]:
        location_id = validation.location(location_id)
        start, end = _optional_date(date_from, "from"), _optional_date(date_to, "to")
        query = select(ClinicDay).where(ClinicDay.location_id == location_id)
        if start:
            query = query.where(ClinicDay.date >= start)
        if end:
            query = query.where(ClinicDay.date <= end)
        days = self.db.session.scalars(query.order_by(ClinicDay.date).limit(366)).all()
        totals = {
            day_id: (int(capacity or 0), int(booked or 0))
            for day_id, capacity, booked in self.db.session.execute(
                select(Slot.clinic_day_id, func.sum(Slot.capacity), func.sum(Slot.booked))
                .where(Slot.clinic_day_id.in_([d.id for d in days]))
                .group_by(Slot.clinic_day_id)
            )
        }
        return [
            {
                **DAY.dump(day),
                "capacity": totals.get(day.id, (0, 0))[0],
                "booked": totals.get(day.id, (0, 0))[1],
            }
            for day in days
        ]

    @rpc
    def get_clinic_day(self, location_id: str, day_id: str) -> dict:
        """A clinic day with its slots, walk-ins and waitlist length."""
        location_id, day_id = validation.location(location_id), _id(day_id, "clinic day")
        session = self.db.session
        day = clinics.clinic_day(session, location_id, day_id)
        walk_ins = session.scalars(select(WalkIn).where(WalkIn.clinic_day_id == day.id)).all()
        waiting = session.scalar(
            select(func.count())
            .select_from(WaitlistEntry)
            .where(WaitlistEntry.clinic_day_id == day.id, WaitlistEntry.status == "waiting")
        )
        return {
            **DAY.dump(day),
            "slots": SLOTS.dump(clinics.day_slots(session, day.id)),
            "walk_ins": WalkInOut(many=True).dump(walk_ins),
            "waitlist_waiting": waiting,
        }

    @rpc
    def set_slot_capacity(self, location_id: str, slot_id: str, data: dict) -> dict:
        """Change a slot's capacity; Conflict `capacity_below_booked` below its bookings. Seats
        added go to the day's waitlist first."""
        location_id, slot_id = validation.location(location_id), _id(slot_id, "slot")
        capacity = validation.load(CapacitySchema(), data)["capacity"]
        with self.db.transaction() as session:
            clinics.set_capacity(session, location_id, slot_id, capacity)
            waitlist.offer_new_seats(session, slot_id, self.now(), self.correlation_id)
            answer = SlotOut().dump(session.get(Slot, slot_id, populate_existing=True))
        return answer

    @rpc
    def close_clinic_day(self, location_id: str, day_id: str, data: dict, actor: str) -> dict:
        """Close a day: each booking moved to `move_to_clinic_day_id` or cancelled, announced."""
        location_id, day_id = validation.location(location_id), _id(day_id, "clinic day")
        actor, request = _actor(actor), validation.load(CloseDaySchema(), data)
        with self.db.transaction() as session:
            outcome = clinics.close_day(
                session, location_id, day_id, request, self.now(), actor, self.correlation_id
            )
            answer = {
                **DAY.dump(outcome["day"]),
                "moved": [a.id for a in outcome["moved"]],
                "cancelled": [a.id for a in outcome["cancelled"]],
            }
        return answer

    @rpc
    def open_slots(self, location_id: str, query: dict | None = None) -> list[dict]:
        """Bookable slots of a published location (public)."""
        location_id = validation.location(location_id)
        request = validation.load(SlotQuerySchema(), query or {})
        slots = clinics.open_slots(
            self.db.session,
            location_id,
            request["date_from"],
            request["days"],
            request["product_id"],
            self.now(),
        )
        return PUBLIC_SLOTS.dump(slots)

    # -- self-scheduling (the confirmation code is the credential) --------------------------------
    @rpc
    def book_appointment(self, data: dict) -> dict:
        """Book a seat: Conflict `slot_full` when none is left, `already_booked` when the person
        holds an active appointment for this dose; Unprocessable on `birth_date` when they are
        younger than the product's minimum age. Returns the appointment and its code."""
        request = validation.load(BookingSchema(), data)
        products = self._products()
        with self.db.transaction() as session:
            appointment = appointments.book(
                session, request, self.now(), RECIPIENT, self.correlation_id, products
            )
            answer = PUBLIC_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def get_appointment(self, code: str) -> dict:
        return PUBLIC_APPOINTMENT.dump(appointments.by_code(self.db.session, _code(code)))

    @rpc
    def cancel_appointment(self, code: str, data: dict | None = None) -> dict:
        note = validation.load(CancelSchema(), data or {})["reason"]
        with self.db.transaction() as session:
            appointment = appointments.by_code(session, _code(code), lock=True)
            appointments.cancel(
                session,
                appointment,
                self.now(),
                actor=RECIPIENT,
                by=RECIPIENT,
                reason="by_recipient",
                note=note,
                correlation_id=self.correlation_id,
            )
            answer = PUBLIC_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def reschedule_appointment(self, code: str, data: dict) -> dict:
        slot_id = str(validation.load(SlotChoiceSchema(), data)["slot_id"])
        with self.db.transaction() as session:
            appointment = appointments.reschedule(
                session,
                _code(code),
                slot_id,
                self.now(),
                actor=RECIPIENT,
                by=RECIPIENT,
                reason="by_recipient",
                correlation_id=self.correlation_id,
            )
            answer = PUBLIC_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def next_dose_slots(self, code: str, days: int = 14) -> dict:
        """The open slots a completed first dose's holder may book the next dose in."""
        appointment = appointments.by_code(self.db.session, _code(code))
        if not isinstance(days, int) or not 1 <= days <= 31:
            raise InvalidInput({"days": ["Between 1 and 31."]})
        slots = appointments.open_next_dose_slots(self.db.session, appointment, self.now(), days)
        return {
            "next_dose": PUBLIC_APPOINTMENT.dump(appointment)["next_dose"],
            "slots": PUBLIC_SLOTS.dump(slots),
        }

    @rpc
    def book_next_dose(self, code: str, data: dict) -> dict:
        slot_id = str(validation.load(SlotChoiceSchema(), data)["slot_id"])
        with self.db.transaction() as session:
            appointment = appointments.book_next_dose(
                session, _code(code), slot_id, self.now(), self.correlation_id
            )
            answer = PUBLIC_APPOINTMENT.dump(appointment)
        return answer

    # -- the clinic's side ------------------------------------------------------------------------
    @rpc
    def list_appointments(self, location_id: str, on_date: str | None = None) -> list[dict]:
        location_id = validation.location(location_id)
        day = _optional_date(on_date, "date")
        query = select(Appointment).where(Appointment.location_id == location_id)
        if day is not None:
            zone = clinics.zone_of(self.db.session, location_id)
            start = datetime.combine(day, time(), zone)
            end = datetime.combine(day + timedelta(days=1), time(), zone)
            query = query.where(Appointment.starts_at >= start, Appointment.starts_at < end)
        rows = self.db.session.scalars(query.order_by(Appointment.starts_at).limit(5000))
        return STAFF_APPOINTMENTS.dump(rows)

    @rpc
    def appointment_history(self, location_id: str, appointment_id: str) -> dict:
        location_id = validation.location(location_id)
        appointment_id = _id(appointment_id, "appointment")
        appointment = appointments.at_location(self.db.session, location_id, appointment_id)
        return {
            **STAFF_APPOINTMENT.dump(appointment),
            "history": HISTORY.dump(appointments.history(self.db.session, appointment.id)),
        }

    @rpc
    def check_in(self, location_id: str, appointment_id: str, data: dict, actor: str) -> dict:
        """The person arrived; `recipient_id` (administration's) links the dose recorded next."""
        location_id, actor = validation.location(location_id), _actor(actor)
        appointment_id = _id(appointment_id, "appointment")
        recipient = validation.load(CheckInSchema(), data or {})["recipient_id"]
        with self.db.transaction() as session:
            appointment = appointments.check_in(
                session,
                location_id,
                appointment_id,
                str(recipient) if recipient else None,
                self.now(),
                actor,
            )
            answer = STAFF_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def mark_no_show(self, location_id: str, appointment_id: str, actor: str) -> dict:
        location_id, actor = validation.location(location_id), _actor(actor)
        appointment_id = _id(appointment_id, "appointment")
        with self.db.transaction() as session:
            appointment = appointments.no_show(
                session, location_id, appointment_id, self.now(), actor
            )
            answer = STAFF_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def cancel_for_location(
        self, location_id: str, appointment_id: str, data: dict, actor: str
    ) -> dict:
        """Staff cancel a booking (e.g. the person phoned), saying why."""
        location_id, actor = validation.location(location_id), _actor(actor)
        appointment_id = _id(appointment_id, "appointment")
        note = validation.load(CancelSchema(), data or {})["reason"]
        if not note:
            raise InvalidInput({"reason": ["Say why."]})
        with self.db.transaction() as session:
            appointment = appointments.at_location(session, location_id, appointment_id, lock=True)
            appointments.cancel(
                session,
                appointment,
                self.now(),
                actor=actor,
                by="staff",
                reason="by_staff",
                note=note,
                correlation_id=self.correlation_id,
            )
            answer = STAFF_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def record_walk_in(self, location_id: str, day_id: str, data: dict, actor: str) -> dict:
        location_id, actor = validation.location(location_id), _actor(actor)
        day_id = _id(day_id, "clinic day")
        request = validation.load(WalkInSchema(), data)
        self._known_products([request["product_id"]], "product_id")
        with self.db.transaction() as session:
            day = clinics.clinic_day(session, location_id, day_id)
            walk_in = WalkIn(
                clinic_day_id=day.id,
                location_id=location_id,
                product_id=request["product_id"],
                recipient_id=str(request["recipient_id"]) if request["recipient_id"] else None,
                recorded_at=self.now(),
                recorded_by=actor,
            )
            session.add(walk_in)
            session.flush()
            answer = WalkInOut().dump(walk_in)
        return answer

    # The busiest event: taken in batches, one transaction and one inbox statement each.
    @consumes_batch("administration", "dose_administered")
    def on_dose_administered(self, session, events) -> None:
        products = self._products()
        # In one order in every batch (a person's doses keep theirs): no two batches wait on
        # each other's appointment locks.
        for event in sorted(events, key=lambda event: str(event.payload["recipient_id"])):
            appointments.complete(session, event, products)

    @consumes("administration", "administrations_imported")
    def on_administrations_imported(self, session, event) -> None:
        appointments.complete_imported(session, event, self._products())

    @consumes("administration", "administration_voided")
    def on_administration_voided(self, session, event) -> None:
        """A voided dose reopens the appointment it completed (`appointment_reopened`)."""
        appointments.reopen(session, event)

    # -- waitlists and leftover doses --------------------------------------------------------------
    @rpc
    def join_waitlist(self, data: dict) -> dict:
        request = validation.load(WaitlistJoinSchema(), data)
        products = self._products()
        with self.db.transaction() as session:
            answer = PUBLIC_ENTRY.dump(waitlist.join(session, request, self.now(), products))
        return answer

    @rpc
    def get_waitlist_entry(self, code: str) -> dict:
        return PUBLIC_ENTRY.dump(waitlist.entry_by_code(self.db.session, _code(code)))

    @rpc
    def accept_waitlist_offer(self, code: str) -> dict:
        with self.db.transaction() as session:
            appointment = waitlist.accept(session, _code(code), self.now(), self.correlation_id)
            answer = PUBLIC_APPOINTMENT.dump(appointment)
        return answer

    @rpc
    def list_waitlist(self, location_id: str, day_id: str) -> list[dict]:
        location_id, day_id = validation.location(location_id), _id(day_id, "clinic day")
        day = clinics.clinic_day(self.db.session, location_id, day_id)
        entries = self.db.session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.clinic_day_id == day.id)
            .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        )
        return STAFF_ENTRIES.dump(entries)

    @rpc
    def offer_leftover_doses(self, location_id: str) -> list[dict]:
        """Offer the doses left in the location's opened vials to today's waitlist."""
        location_id = validation.location(location_id)
        vials = [_vial(v) for v in self.inventory.open_vials(location_id)]
        with self.db.transaction() as session:
            offers = waitlist.offer_leftover_doses(
                session, location_id, vials, self.now(), self.correlation_id
            )
            answer = STAFF_ENTRIES.dump(offers)
        return answer

    @timer(interval=300)
    def offer_leftovers_at_day_end(self) -> None:
        offered = self.run_day_end_leftovers(self.now())
        if offered:
            log.info("%d leftover doses offered to waitlists at the end of clinic days", offered)

    def run_day_end_leftovers(self, now: datetime) -> int:
        """Near the end of each clinic day with people waiting, offer them the doses left in
        the location's opened vials (inventory.open_vials), once per day."""
        with self.db.transaction() as session:
            due = waitlist.days_ending(session, now)
        offered = 0
        for day_id, location_id in due:
            vials = [_vial(v) for v in self.inventory.open_vials(location_id)]
            with self.db.transaction() as session:
                if waitlist.claim_day_end(session, day_id, now):
                    offered += len(
                        waitlist.offer_leftover_doses(
                            session, location_id, vials, now, self.correlation_id
                        )
                    )
        return offered

    # -- timers -----------------------------------------------------------------------------------
    @timer(interval=60)
    def remind(self) -> None:
        sent = self.send_reminders(self.now())
        if sent:
            log.info("%d appointment reminders due", sent)

    def send_reminders(self, now: datetime) -> int:
        with self.db.transaction() as session:
            return appointments.send_due_reminders(session, now, self.correlation_id)

    @timer(interval=OFFER_EXPIRY_SWEEP_S)
    def expire_offers(self) -> None:
        expired = self.run_offer_expiry(self.now())
        if expired:
            log.info("%d waitlist offers expired", expired)

    def run_offer_expiry(self, now: datetime) -> int:
        """Expire the offers not accepted in time. A seat passes on in the same transaction; a
        leftover dose passes on after inventory says which opened vials still hold doses (the
        dose may have gone to a walk-in meanwhile). Returns how many offers expired."""
        with self.db.transaction() as session:
            expired = waitlist.expire_offers(session, now, self.correlation_id)
            leftover_days = sorted(
                {
                    (e.clinic_day_id, e.location_id)
                    for e in expired
                    if e.offer_kind == waitlist.LEFTOVER_DOSES
                }
            )
            count = len(expired)
        for day_id, location_id in leftover_days:
            try:
                vials = [_vial(v) for v in self.inventory.open_vials(location_id)]
            except Exception:
                # Not lost for good: staff can offer leftover doses again, and the end-of-day
                # offer still runs for a day not offered yet.
                log.exception("leftover doses of %s not passed on: no answer on vials", location_id)
                continue
            with self.db.transaction() as session:
                waitlist.pass_on_leftover_doses(session, day_id, vials, now, self.correlation_id)
        return count


def _vial(vial: dict) -> dict:
    """One of inventory.open_vials' answers, checked: it crosses a service boundary."""
    try:
        beyond_use_at = fields.AwareDateTime().deserialize(vial["beyond_use_at"])
        doses_left = int(vial["doses_left"])
        product_id = str(vial["product_id"])
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise RuntimeError(f"inventory.open_vials answered an unexpected vial: {exc}") from None
    return {"product_id": product_id, "doses_left": doses_left, "beyond_use_at": beyond_use_at}
