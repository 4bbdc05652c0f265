"""Writing an appointment and its trace: every change adds an appointment_history row and
announces itself through the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cvms_platform.outbox import record_event
from scheduling import people
from scheduling.exceptions import ALREADY_BOOKED, conflict
from scheduling.models import BOOKED, PERSON_FIELDS, Appointment, AppointmentHistory


def create(
    session: Session,
    person: dict,
    *,
    location_id: str,
    product_id: str,
    slot_id: str | None,
    starts_at: datetime,
    dose_number: int,
    now: datetime,
    actor: str,
    correlation_id: str,
    previous_appointment_id: str | None = None,
    details: dict | None = None,
) -> Appointment:
    """A booked appointment; Conflict `already_booked` if the person holds one for this dose
    (the partial unique index decides, so two concurrent bookings cannot both pass)."""
    appointment = Appointment(
        confirmation_code=people.new_code(),
        location_id=location_id,
        product_id=product_id,
        slot_id=slot_id,
        starts_at=starts_at,
        dose_number=dose_number,
        status=BOOKED,
        person_key=people.person_key(
            person["family_name"], person["given_name"], person["birth_date"]
        ),
        previous_appointment_id=previous_appointment_id,
        created_at=now,
        updated_at=now,
        **{field: person.get(field) for field in PERSON_FIELDS},
    )
    if not appointment.preferred_language:
        appointment.preferred_language = "en"
    session.add(appointment)
    try:
        session.flush()
    except IntegrityError as exc:
        if "person" in str(exc.orig) or "uq_appointments_active_person_dose" in str(exc.orig):
            raise conflict(
                ALREADY_BOOKED,
                "This person already has an active appointment for this dose; "
                "view, reschedule or cancel it with its confirmation code.",
            ) from None
        raise
    trace(session, appointment, "booked", actor, now, details=details or {})
    announce(
        session,
        "appointment_booked",
        appointment,
        {
            "product_id": product_id,
            "dose_number": dose_number,
            "slot_id": slot_id,
            "starts_at": starts_at,
            "preferred_language": appointment.preferred_language,
            "contact_channels": appointment.contact_channels,
        },
        correlation_id,
    )
    return appointment


def trace(
    session: Session,
    appointment: Appointment,
    action: str,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    details: dict | None = None,
) -> None:
    session.add(
        AppointmentHistory(
            appointment_id=appointment.id,
            action=action,
            actor=actor,
            reason=reason,
            details=details or {},
            at=now,
        )
    )


def announce(
    session: Session, name: str, appointment: Appointment, details: dict, correlation_id: str
) -> None:
    """Announce an event about an appointment: which one (id, code, location), then `details`."""
    record_event(
        session,
        name,
        {
            "appointment_id": appointment.id,
            "confirmation_code": appointment.confirmation_code,
            "location_id": appointment.location_id,
            **details,
        },
        correlation_id=correlation_id,
    )


def announce_cancelled(
    session: Session,
    appointment: Appointment,
    *,
    slot_id: str | None,
    starts_at: datetime,
    reason: str,
    by: str,
    correlation_id: str,
) -> None:
    announce(
        session,
        "appointment_cancelled",
        appointment,
        {
            "slot_id": slot_id,
            "starts_at": starts_at,
            "reason": reason,
            "cancelled_by": by,
        },
        correlation_id,
    )


def announce_rescheduled(
    session: Session,
    appointment: Appointment,
    *,
    previous_slot_id: str,
    previous_starts_at: datetime,
    reason: str,
    by: str,
    correlation_id: str,
) -> None:
    announce(
        session,
        "appointment_rescheduled",
        appointment,
        {
            "previous_slot_id": previous_slot_id,
            "previous_starts_at": previous_starts_at,
            "slot_id": appointment.slot_id,
            "starts_at": appointment.starts_at,
            "reason": reason,
            "rescheduled_by": by,
        },
        correlation_id,
    )
