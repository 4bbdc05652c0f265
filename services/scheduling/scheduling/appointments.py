"""Self-scheduling: book, view, cancel and reschedule with a confirmation code; check-in,
no-show and the recorded dose that completes an appointment; second doses; reminders."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from scheduling import eligibility, people, records, seats, waitlist
from scheduling.exceptions import NO_NEXT_DOSE, NOT_ACTIVE, NotFound, Unprocessable, conflict
from scheduling.models import (
    ACTIVE_STATUSES,
    BOOKED,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    NO_SHOW,
    Appointment,
    AppointmentHistory,
    LocationSettings,
    Slot,
)

REMINDER_LEAD = timedelta(hours=24)


def by_code(session: Session, code: str, *, lock: bool = False) -> Appointment:
    missing = "No appointment has this confirmation code."
    return people.by_code(session, Appointment.confirmation_code, code, lock=lock, missing=missing)


def at_location(
    session: Session, location_id: str, appointment_id: str, *, lock: bool = False
) -> Appointment:
    appointment = session.get(Appointment, appointment_id, with_for_update=lock)
    if appointment is None or appointment.location_id != location_id:
        raise NotFound(f"appointment {appointment_id} not found")
    return appointment


def book(
    session: Session,
    data: dict,
    now: datetime,
    actor: str,
    correlation_id: str,
    catalog: dict[str, dict],
) -> Appointment:
    """A seat of the slot and the appointment in it, or nothing (one transaction). The person
    must be old enough for the slot's product on the slot's day."""
    slot_id = str(data["slot_id"])
    taken = seats.try_take(session, slot_id, now)
    # A refusal says why; being too young comes first, whether or not a seat was left.
    slot = taken or seats.describe(session, slot_id)
    if slot is not None:
        eligibility.require_minimum_age(
            catalog.get(slot.product_id),
            data["birth_date"],
            _day_in(slot.time_zone, slot.starts_at),
        )
    if taken is None:
        seats.refuse(slot, slot_id, now)
    return records.create(
        session,
        data,
        location_id=taken.location_id,
        product_id=taken.product_id,
        slot_id=taken.id,
        starts_at=taken.starts_at,
        dose_number=1,
        now=now,
        actor=actor,
        correlation_id=correlation_id,
    )


def _require_booked(appointment: Appointment) -> None:
    if appointment.status != BOOKED:
        raise conflict(NOT_ACTIVE, f"This appointment is {appointment.status.replace('_', ' ')}.")


def cancel(
    session: Session,
    appointment: Appointment,
    now: datetime,
    *,
    actor: str,
    by: str,
    reason: str,
    note: str | None,
    correlation_id: str,
) -> Appointment:
    """Cancel a booked appointment (locked by the caller); its seat goes to the waitlist or back
    to the public."""
    _require_booked(appointment)
    appointment.status = CANCELLED
    appointment.updated_at = now
    if appointment.slot_id:
        waitlist.seat_freed(session, appointment.slot_id, now, correlation_id)
    records.trace(
        session, appointment, "cancelled", actor, now, reason=note or reason, details={"by": by}
    )
    records.announce_cancelled(
        session,
        appointment,
        slot_id=appointment.slot_id,
        starts_at=appointment.starts_at,
        reason=reason,
        by=by,
        correlation_id=correlation_id,
    )
    return appointment


def _earliest_date(session: Session, appointment: Appointment):
    """A later dose of a series may not move before its minimum interval."""
    if not appointment.previous_appointment_id:
        return None
    previous = session.get(Appointment, appointment.previous_appointment_id)
    return previous.next_dose_from if previous else None


def _local_date(session: Session, location_id: str, moment: datetime):
    settings = session.get(LocationSettings, location_id)
    return _day_in(settings.time_zone if settings else None, moment)


def _day_in(time_zone: str | None, moment: datetime):
    return moment.astimezone(ZoneInfo(time_zone or "UTC")).date()


def reschedule(
    session: Session,
    code: str,
    slot_id: str,
    now: datetime,
    *,
    actor: str,
    by: str,
    reason: str,
    correlation_id: str,
) -> Appointment:
    """Move a booked appointment to another slot of the same product at the same location in
    one transaction: the new seat is taken before the old one is let go, and a failure leaves
    both as they were. Going to another location is a cancellation and a new booking there:
    that location's own products, settings and waitlists then apply."""
    appointment = by_code(session, code, lock=True)
    _require_booked(appointment)
    if appointment.slot_id == slot_id:
        raise Unprocessable({"slot_id": ["This is the appointment's slot already."]})
    target = session.get(Slot, slot_id)
    if target is None:
        raise NotFound(f"slot {slot_id} not found")
    problems = []
    if target.location_id != appointment.location_id:
        problems.append(
            "A slot at the appointment's location, please; to go to another location, cancel "
            "this appointment and book there."
        )
    if target.product_id != appointment.product_id:
        problems.append("A slot for the same vaccine product, please.")
    if problems:
        raise Unprocessable({"slot_id": problems})
    earliest = _earliest_date(session, appointment)
    if earliest and _local_date(session, target.location_id, target.starts_at) < earliest:
        raise Unprocessable({"slot_id": [f"This dose may not be given before {earliest}."]})
    taken = seats.take(session, slot_id, now)
    previous_slot_id, previous_starts_at = appointment.slot_id, appointment.starts_at
    if previous_slot_id:
        waitlist.seat_freed(session, previous_slot_id, now, correlation_id)
    appointment.slot_id = taken.id
    appointment.starts_at = taken.starts_at
    appointment.location_id = taken.location_id
    appointment.reminder_sent_at = None
    appointment.updated_at = now
    records.trace(
        session,
        appointment,
        "rescheduled",
        actor,
        now,
        reason=reason,
        details={"from_slot_id": previous_slot_id, "to_slot_id": taken.id, "by": by},
    )
    records.announce_rescheduled(
        session,
        appointment,
        previous_slot_id=previous_slot_id,
        previous_starts_at=previous_starts_at,
        reason=reason,
        by=by,
        correlation_id=correlation_id,
    )
    return appointment


def book_next_dose(
    session: Session, code: str, slot_id: str, now: datetime, correlation_id: str
) -> Appointment:
    """Book the series' next dose with the code of the completed one: same person, same
    product, same location, on or after the day the minimum interval allows."""
    first = by_code(session, code, lock=True)
    if first.status != COMPLETED or first.next_dose_from is None:
        raise conflict(NO_NEXT_DOSE, "No further dose of a series is due for this appointment.")
    if first.next_dose_appointment_id is not None:
        raise conflict(NO_NEXT_DOSE, "The next dose is booked already.")
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"slot {slot_id} not found")
    problems = []
    if slot.location_id != first.location_id:
        problems.append("A slot at the location of the first dose, please.")
    if slot.product_id != first.product_id:
        problems.append("A slot for the same vaccine product, please.")
    if _local_date(session, slot.location_id, slot.starts_at) < first.next_dose_from:
        problems.append(f"This dose may not be given before {first.next_dose_from}.")
    if problems:
        raise Unprocessable({"slot_id": problems})
    taken = seats.take(session, slot_id, now)
    appointment = records.create(
        session,
        first.person(),
        location_id=taken.location_id,
        product_id=taken.product_id,
        slot_id=taken.id,
        starts_at=taken.starts_at,
        dose_number=first.next_dose_number,
        now=now,
        actor="recipient",
        correlation_id=correlation_id,
        previous_appointment_id=first.id,
    )
    first.next_dose_appointment_id = appointment.id
    records.trace(
        session, first, "next_dose_booked", "recipient", now, details={"next": appointment.id}
    )
    return appointment


def open_next_dose_slots(session: Session, appointment: Appointment, now: datetime, days: int):
    """The open slots the next dose may be booked in (from the minimum interval on)."""
    if appointment.next_dose_from is None or appointment.next_dose_appointment_id:
        raise conflict(NO_NEXT_DOSE, "No further dose of a series is due for this appointment.")
    settings = session.get(LocationSettings, appointment.location_id)
    zone = ZoneInfo(settings.time_zone if settings else "UTC")
    start = datetime.combine(appointment.next_dose_from, datetime.min.time(), zone)
    start = max(start, now)
    return session.scalars(
        select(Slot)
        .where(
            Slot.location_id == appointment.location_id,
            Slot.product_id == appointment.product_id,
            Slot.open.is_(True),
            Slot.booked < Slot.capacity,
            Slot.starts_at > start,
            Slot.starts_at < start + timedelta(days=days),
        )
        .order_by(Slot.starts_at)
        .limit(500)
    ).all()


def check_in(
    session: Session,
    location_id: str,
    appointment_id: str,
    recipient_id: str | None,
    now: datetime,
    actor: str,
) -> Appointment:
    appointment = at_location(session, location_id, appointment_id, lock=True)
    _require_booked(appointment)
    appointment.status = CHECKED_IN
    appointment.recipient_id = recipient_id
    appointment.updated_at = now
    records.trace(
        session, appointment, "checked_in", actor, now, details={"recipient_id": recipient_id}
    )
    return appointment


def no_show(
    session: Session, location_id: str, appointment_id: str, now: datetime, actor: str
) -> Appointment:
    """The person did not come. Only once the appointment's time has come: before that it is
    a cancellation, which frees the seat."""
    appointment = at_location(session, location_id, appointment_id, lock=True)
    _require_booked(appointment)
    if appointment.starts_at > now:
        raise Unprocessable({"appointment": ["Its time has not come yet; cancel it instead."]})
    appointment.status = NO_SHOW
    appointment.updated_at = now
    records.trace(session, appointment, "no_show", actor, now)
    return appointment


def complete(session: Session, event: Event, catalog: dict[str, dict]) -> Appointment | None:
    """A dose was recorded for the recipient at the location: complete their appointment and,
    when the series has another dose, open its booking from the minimum interval on."""
    payload = event.payload
    appointment = session.scalars(
        select(Appointment)
        .where(
            Appointment.recipient_id == str(payload["recipient_id"]),
            Appointment.location_id == payload["location_id"],
            Appointment.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Appointment.status == CHECKED_IN, Appointment.starts_at)
        .with_for_update()
    ).all()
    if not appointment:
        return None
    appointment = appointment[-1]  # checked in (if any), else the latest
    now = event.occurred_at
    appointment.status = COMPLETED
    appointment.administration_id = str(payload["administration_id"])
    appointment.updated_at = now
    product = catalog.get(payload["product_id"]) or {}
    dose_number = payload["dose_number"]
    if dose_number < product.get("series_doses", 1):
        given_on = _local_date(session, appointment.location_id, payload["administered_at"])
        appointment.next_dose_number = dose_number + 1
        appointment.next_dose_from = given_on + timedelta(days=product["min_interval_days"])
    records.trace(
        session,
        appointment,
        "completed",
        "system",
        now,
        details={
            "administration_id": appointment.administration_id,
            "next_dose_from": str(appointment.next_dose_from or "") or None,
        },
    )
    records.announce(
        session,
        "appointment_completed",
        appointment,
        {
            "product_id": payload["product_id"],
            "dose_number": dose_number,
            "administration_id": appointment.administration_id,
            "recipient_id": str(payload["recipient_id"]),
            "next_dose_from": appointment.next_dose_from,
        },
        event.correlation_id,
    )
    return appointment


def complete_imported(session: Session, event: Event, catalog: dict[str, dict]) -> None:
    """A chunk of doses typed in from paper records (`administrations_imported`): each completes
    its recipient's appointment as a recorded dose does. Most are backdated and have none, so
    the recipients with one are found in one query and only their doses are looked at."""
    doses = event.payload["doses"]
    waiting = set(
        session.scalars(
            select(Appointment.recipient_id).where(
                Appointment.recipient_id.in_({str(d["recipient_id"]) for d in doses}),
                Appointment.location_id == event.payload["location_id"],
                Appointment.status.in_(ACTIVE_STATUSES),
            )
        )
    )
    for dose in doses:
        if str(dose["recipient_id"]) in waiting:
            complete(session, dataclasses.replace(event, payload=dose), catalog)


def reopen(session: Session, event: Event) -> Appointment | None:
    """The dose that completed an appointment was voided (entered in error, never given): the
    appointment is open again, checked in (or booked, when it never was), as before the dose.
    The next dose it opened is withdrawn unless booked already: a booked one is the person's
    and the clinic's to keep or cancel, and the event names it."""
    payload = event.payload
    appointment = session.scalars(
        select(Appointment)
        .where(Appointment.administration_id == str(payload["administration_id"]))
        .with_for_update()
    ).first()
    if appointment is None or appointment.status != COMPLETED:
        return None  # a walk-in's dose, or one no appointment was waiting for
    now, reason = event.occurred_at, payload["reason"]
    voided_administration_id = appointment.administration_id
    if _holds_another(session, appointment):
        return _retire(session, appointment, now, reason, event.correlation_id)
    appointment.status = CHECKED_IN if appointment.recipient_id else BOOKED
    appointment.administration_id = None
    appointment.updated_at = now
    withdrawn = appointment.next_dose_from is not None and not appointment.next_dose_appointment_id
    if withdrawn:
        appointment.next_dose_number = None
        appointment.next_dose_from = None
    records.trace(
        session,
        appointment,
        "reopened",
        payload["voided_by"],
        now,
        reason=reason,
        details={
            "voided_administration_id": voided_administration_id,
            "status": appointment.status,
            "next_dose_withdrawn": withdrawn,
            "next_dose_appointment_id": appointment.next_dose_appointment_id,
        },
    )
    records.announce(
        session,
        "appointment_reopened",
        appointment,
        {
            "product_id": appointment.product_id,
            "dose_number": appointment.dose_number,
            "status": appointment.status,
            "voided_administration_id": voided_administration_id,
            "reason": reason,
            "next_dose_withdrawn": withdrawn,
            "next_dose_appointment_id": appointment.next_dose_appointment_id,
        },
        event.correlation_id,
    )
    return appointment


def _holds_another(session: Session, appointment: Appointment) -> bool:
    """Whether the person booked this dose again since it was (wrongly) recorded: one active
    appointment per person per dose, so this one cannot be reopened."""
    return (
        session.scalars(
            select(Appointment.id).where(
                Appointment.person_key == appointment.person_key,
                Appointment.dose_number == appointment.dose_number,
                Appointment.id != appointment.id,
                Appointment.status.in_(ACTIVE_STATUSES),
            )
        ).first()
        is not None
    )


def _retire(
    session: Session, appointment: Appointment, now: datetime, reason: str, correlation_id: str
) -> Appointment:
    """The voided dose's appointment when the person holds a newer one for the same dose: it
    is cancelled (the newer booking stands) rather than completed by a dose never given."""
    voided_administration_id = appointment.administration_id
    appointment.status = CANCELLED
    appointment.administration_id = None
    if not appointment.next_dose_appointment_id:
        appointment.next_dose_number = None
        appointment.next_dose_from = None
    appointment.updated_at = now
    if appointment.slot_id:
        waitlist.seat_freed(session, appointment.slot_id, now, correlation_id)
    records.trace(
        session,
        appointment,
        "cancelled",
        "system",
        now,
        reason=reason,
        details={
            "by": "system",
            "voided_administration_id": voided_administration_id,
            "superseded": True,
        },
    )
    records.announce_cancelled(
        session,
        appointment,
        slot_id=appointment.slot_id,
        starts_at=appointment.starts_at,
        reason="administration_voided",
        by="system",
        correlation_id=correlation_id,
    )
    return appointment


def send_due_reminders(
    session: Session, now: datetime, correlation_id: str, limit: int = 500
) -> int:
    """`appointment_reminder_due` for each booked appointment starting within 24 hours, once:
    the claim (reminder_sent_at) and the event commit together, and concurrent instances
    skip the rows another one has locked."""
    due = session.scalars(
        select(Appointment)
        .where(
            Appointment.status == BOOKED,
            Appointment.reminder_sent_at.is_(None),
            Appointment.starts_at > now,
            Appointment.starts_at <= now + REMINDER_LEAD,
        )
        .order_by(Appointment.starts_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for appointment in due:
        appointment.reminder_sent_at = now
        records.announce(
            session,
            "appointment_reminder_due",
            appointment,
            {
                "starts_at": appointment.starts_at,
                "preferred_language": appointment.preferred_language,
                "contact_channels": appointment.contact_channels,
            },
            correlation_id,
        )
    return len(due)


def history(session: Session, appointment_id: str) -> list[AppointmentHistory]:
    return session.scalars(
        select(AppointmentHistory)
        .where(AppointmentHistory.appointment_id == appointment_id)
        .order_by(AppointmentHistory.at, AppointmentHistory.id)
    ).all()
