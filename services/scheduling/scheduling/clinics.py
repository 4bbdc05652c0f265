"""Locations' public settings, clinic days and their slots, as their managers keep them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from scheduling import geo, records, seats
from scheduling.exceptions import (
    CAPACITY_BELOW_BOOKED,
    SLOT_FULL,
    Conflict,
    NotFound,
    Unprocessable,
    conflict,
)
from scheduling.models import (
    ACTIVE_STATUSES,
    CANCELLED,
    OFFERED,
    WAITLIST_ACTIVE,
    WITHDRAWN,
    Appointment,
    ClinicDay,
    LocationSettings,
    Slot,
    WaitlistEntry,
)


# -- settings -------------------------------------------------------------------------------------
def save_settings(
    session: Session, location_id: str, data: dict, actor: str, now: datetime
) -> LocationSettings:
    """Create or replace a location's public settings. Coordinates and time zone default to
    the ZIP code's centroid and zone."""
    address = data["address"]
    place = geo.zip_place(address["zip"])
    latitude, longitude = data.get("latitude"), data.get("longitude")
    if latitude is None and place is not None:
        latitude, longitude = place.latitude, place.longitude
    time_zone = data.get("time_zone") or (place.time_zone if place else geo.DEFAULT_TIME_ZONE)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable({"time_zone": ["Not a known IANA time zone."]}) from None
    if data.get("published") and latitude is None:
        raise Unprocessable(
            {"latitude": ["Unknown ZIP code: give coordinates to appear on the locator."]}
        )
    settings = session.get(LocationSettings, location_id, with_for_update=True)
    if settings is None:
        settings = LocationSettings(location_id=location_id)
        session.add(settings)
    settings.name = data["name"]
    settings.line1, settings.line2 = address["line1"], address.get("line2")
    settings.city, settings.state, settings.zip = address["city"], address["state"], address["zip"]
    settings.latitude, settings.longitude = latitude, longitude
    settings.time_zone = time_zone
    settings.phone, settings.website = data.get("phone"), data.get("website")
    settings.hours = data.get("hours") or {}
    settings.products = data.get("products") or []
    settings.walk_ins_accepted = data["walk_ins_accepted"]
    settings.accepting_appointments = data["accepting_appointments"]
    settings.published = data["published"]
    settings.public_notes = data.get("public_notes")
    settings.updated_at, settings.updated_by = now, actor
    return settings


def settings_of(session: Session, location_id: str) -> LocationSettings:
    settings = session.get(LocationSettings, location_id)
    if settings is None:
        raise NotFound(f"location {location_id} has no public settings yet")
    return settings


def start_enrolled_location(session: Session, event: Event) -> None:
    """An enrolled location starts with the enrollment's details, unpublished until its manager
    completes and publishes them. A manager's settings made first are kept."""
    payload = event.payload
    if session.get(LocationSettings, payload["location_id"]) is not None:
        return
    address = payload["address"]
    place = geo.zip_place(address["zip"])
    session.add(
        LocationSettings(
            location_id=payload["location_id"],
            organization_id=payload["organization_id"],
            name=payload["name"],
            line1=address["line1"],
            line2=address.get("line2"),
            city=address["city"],
            state=address["state"],
            zip=address["zip"],
            latitude=place.latitude if place else None,
            longitude=place.longitude if place else None,
            time_zone=place.time_zone if place else geo.DEFAULT_TIME_ZONE,
            phone=payload.get("phone"),
            hours={},
            products=[],
            walk_ins_accepted=False,
            accepting_appointments=False,
            published=False,
            updated_at=event.occurred_at,
            updated_by="enrollment",
        )
    )


def zone_of(session: Session, location_id: str) -> ZoneInfo:
    settings = session.get(LocationSettings, location_id)
    if settings is None:
        raise Unprocessable(
            {"location_id": ["Set up the location's public settings (its time zone) first."]}
        )
    return ZoneInfo(settings.time_zone)


# -- clinic days and slots ------------------------------------------------------------------------
def _slot_times(day: date, opens: str, closes: str, every: int, zone: ZoneInfo):
    start = datetime.combine(day, time.fromisoformat(opens), zone)
    end = datetime.combine(day, time.fromisoformat(closes), zone)
    step = timedelta(minutes=every)
    while start + step <= end:
        yield start, start + step
        start += step


def create_clinic_days(
    session: Session, location_id: str, data: dict, actor: str, now: datetime
) -> list[tuple[ClinicDay, int]]:
    """Clinic days (made if new) with the requested slots; slots that exist already are kept
    as they are, so repeating a request changes nothing. Returns each day and slots added."""
    zone = zone_of(session, location_id)
    today = now.astimezone(zone).date()
    if past := [d.isoformat() for d in data["dates"] if d < today]:
        raise Unprocessable({"dates": [f"In the past: {', '.join(past)}."]})
    created = []
    for day_date in sorted(set(data["dates"])):
        day = session.scalars(
            select(ClinicDay)
            .where(ClinicDay.location_id == location_id, ClinicDay.date == day_date)
            .with_for_update()
        ).first()
        if day is None:
            day = ClinicDay(
                location_id=location_id,
                date=day_date,
                status="open",
                created_at=now,
                created_by=actor,
            )
            session.add(day)
            session.flush()
        elif day.status != "open":
            raise Unprocessable({"dates": [f"The clinic day {day_date} is closed."]})
        existing = set(
            session.scalars(
                select(Slot.starts_at).where(
                    Slot.clinic_day_id == day.id, Slot.product_id == data["product_id"]
                )
            )
        )
        added = 0
        for starts_at, ends_at in _slot_times(
            day_date, data["opens"], data["closes"], data["every_minutes"], zone
        ):
            if starts_at in existing or starts_at <= now:
                continue
            session.add(
                Slot(
                    clinic_day_id=day.id,
                    location_id=location_id,
                    product_id=data["product_id"],
                    starts_at=starts_at,
                    ends_at=ends_at,
                    capacity=data["capacity"],
                    booked=0,
                    open=True,
                )
            )
            added += 1
        created.append((day, added))
    session.flush()
    return created


def clinic_day(session: Session, location_id: str, day_id: str, *, lock=False) -> ClinicDay:
    day = session.get(ClinicDay, day_id, with_for_update=lock)
    if day is None or day.location_id != location_id:
        raise NotFound(f"clinic day {day_id} not found")
    return day


def day_slots(session: Session, day_id: str) -> list[Slot]:
    return session.scalars(
        select(Slot).where(Slot.clinic_day_id == day_id).order_by(Slot.product_id, Slot.starts_at)
    ).all()


def set_capacity(session: Session, location_id: str, slot_id: str, capacity: int) -> Slot:
    """Raise or reduce a slot's capacity; never below the seats already booked (checked in the
    same statement that changes it)."""
    changed = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.location_id == location_id, Slot.booked <= capacity)
        .values(capacity=capacity)
        .returning(Slot.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    slot = session.get(Slot, slot_id, populate_existing=True)
    if slot is None or slot.location_id != location_id:
        raise NotFound(f"slot {slot_id} not found")
    if changed is None:
        raise conflict(
            CAPACITY_BELOW_BOOKED,
            f"{slot.booked} seats of this slot are booked: capacity cannot go below that.",
        )
    return slot


def close_day(
    session: Session,
    location_id: str,
    day_id: str,
    data: dict,
    now: datetime,
    actor: str,
    correlation_id: str,
) -> dict:
    """Close a clinic day. Each active booking is moved explicitly to the other day given
    (same time, else the nearest free slot of its product) or cancelled, each with its event;
    waitlist entries of the day are withdrawn. Returns what happened to whom."""
    day = clinic_day(session, location_id, day_id, lock=True)
    if day.status != "open":
        raise conflict("clinic_day_closed", "This clinic day is closed already.")
    target = None
    if data.get("move_to_clinic_day_id"):
        target = clinic_day(session, location_id, str(data["move_to_clinic_day_id"]))
        if target.id == day.id or target.status != "open":
            raise Unprocessable({"move_to_clinic_day_id": ["Another open clinic day, please."]})
    day.status, day.closed_at, day.closed_by = "closed", now, actor
    day.close_reason = data["reason"]
    session.execute(
        update(Slot)
        .where(Slot.clinic_day_id == day.id)
        .values(open=False)
        .execution_options(synchronize_session=False)
    )
    booked = session.scalars(
        select(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(Slot.clinic_day_id == day.id, Appointment.status.in_(ACTIVE_STATUSES))
        .order_by(Appointment.starts_at)
        .with_for_update(of=Appointment)
    ).all()
    moved, cancelled = [], []
    # What the events about each appointment moved or cancelled say of why and by whom.
    closing = {"reason": "clinic_day_closed", "by": "staff", "correlation_id": correlation_id}
    for appointment in booked:
        new_slot = _move_target(session, target, appointment, now) if target else None
        previous_slot_id, previous_starts_at = appointment.slot_id, appointment.starts_at
        seats.give_back(session, previous_slot_id)
        appointment.updated_at = now
        if new_slot is not None:
            appointment.slot_id, appointment.starts_at = new_slot.id, new_slot.starts_at
            appointment.reminder_sent_at = None
            records.trace(
                session,
                appointment,
                "moved",
                actor,
                now,
                reason=data["reason"],
                details={"from_slot_id": previous_slot_id, "to_slot_id": new_slot.id},
            )
            records.announce_rescheduled(
                session,
                appointment,
                previous_slot_id=previous_slot_id,
                previous_starts_at=previous_starts_at,
                **closing,
            )
            moved.append(appointment)
        else:
            appointment.status = CANCELLED
            records.trace(session, appointment, "cancelled", actor, now, reason=data["reason"])
            records.announce_cancelled(
                session,
                appointment,
                slot_id=previous_slot_id,
                starts_at=previous_starts_at,
                **closing,
            )
            cancelled.append(appointment)
    held = session.scalars(
        select(WaitlistEntry.offered_slot_id).where(
            WaitlistEntry.clinic_day_id == day.id,
            WaitlistEntry.status == OFFERED,
            WaitlistEntry.offered_slot_id.is_not(None),
        )
    ).all()
    for slot_id in held:  # seats held for offers that end with the day
        seats.give_back(session, slot_id)
    session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.clinic_day_id == day.id, WAITLIST_ACTIVE)
        .values(status=WITHDRAWN)
        .execution_options(synchronize_session=False)
    )
    return {"day": day, "moved": moved, "cancelled": cancelled}


def _move_target(session: Session, target: ClinicDay, appointment: Appointment, now: datetime):
    """The free slot of the other day nearest in time of day to the appointment's, taken."""
    zone = zone_of(session, appointment.location_id)
    wanted = appointment.starts_at.astimezone(zone).time()
    wanted_at = datetime.combine(target.date, wanted, zone)
    candidates = session.scalars(
        select(Slot).where(
            Slot.clinic_day_id == target.id,
            Slot.product_id == appointment.product_id,
            Slot.open.is_(True),
            Slot.booked < Slot.capacity,
            Slot.starts_at > now,
        )
    ).all()
    for slot in sorted(candidates, key=lambda s: abs((s.starts_at - wanted_at).total_seconds())):
        try:
            return seats.take(session, slot.id, now)
        except Conflict as exc:  # taken meanwhile: try the next one
            if exc.args[1:] != (SLOT_FULL,):
                raise
    return None


def open_slots(
    session: Session,
    location_id: str,
    date_from: date | None,
    days: int,
    product_id: str | None,
    now: datetime,
) -> list[Slot]:
    """Open, bookable slots of a published location that accepts appointments."""
    settings = session.get(LocationSettings, location_id)
    if settings is None or not settings.published:
        raise NotFound(f"location {location_id} not found")
    if not settings.accepting_appointments:
        return []
    zone = ZoneInfo(settings.time_zone)
    start = max(now, datetime.combine(date_from or now.astimezone(zone).date(), time(), zone))
    end = datetime.combine(start.astimezone(zone).date() + timedelta(days=days), time(), zone)
    query = select(Slot).where(
        Slot.location_id == location_id,
        Slot.open.is_(True),
        Slot.booked < Slot.capacity,
        Slot.starts_at > start,
        Slot.starts_at < end,
    )
    if product_id:
        query = query.where(Slot.product_id == product_id)
    return session.scalars(query.order_by(Slot.starts_at, Slot.product_id).limit(2000)).all()
