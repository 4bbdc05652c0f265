"""Waitlists of full clinic days, and the offers made from them.

A seat freed by a cancellation is not given back to the public while someone waits: it stays
counted in the slot's `booked` and is offered to the first person waiting, who has until
`offer_expires_at` to accept; then it passes on to the next one, or back to the public.
Leftover doses of opened vials at the end of a day are offered the same way, without a slot;
an expired one passes on too, after inventory confirms the dose is still in a usable vial."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cvms_platform.outbox import record_event
from scheduling import eligibility, people, records, seats
from scheduling.exceptions import (
    ALREADY_BOOKED,
    ALREADY_WAITING,
    OFFER_NOT_OPEN,
    SEATS_AVAILABLE,
    Conflict,
    NotFound,
    Unprocessable,
    conflict,
)
from scheduling.models import (
    ACCEPTED,
    ACTIVE,
    ACTIVE_STATUSES,
    EXPIRED,
    OFFERED,
    WAITING,
    Appointment,
    ClinicDay,
    LocationSettings,
    Slot,
    WaitlistEntry,
)

OFFER_TTL = timedelta(minutes=60)
LEFTOVER_OFFER_TTL = timedelta(minutes=30)
# Leftover doses are offered this long before a day's last slot ends (people need time to come),
# and no later than this after it.
DAY_END_LEAD = timedelta(minutes=30)
DAY_END_GRACE = timedelta(hours=2)
CANCELLATION, LEFTOVER_DOSES = "cancellation", "leftover_doses"


def join(session: Session, data: dict, now: datetime, catalog: dict[str, dict]) -> WaitlistEntry:
    day = session.get(ClinicDay, str(data["clinic_day_id"]))
    if day is None or day.status != "open":
        raise NotFound(f"clinic day {data['clinic_day_id']} not found or closed")
    eligibility.require_minimum_age(catalog.get(data["product_id"]), data["birth_date"], day.date)
    slots = session.scalars(
        select(Slot).where(
            Slot.clinic_day_id == day.id,
            Slot.product_id == data["product_id"],
            Slot.starts_at > now,
        )
    ).all()
    if not slots:
        raise Unprocessable({"product_id": ["This clinic day has no upcoming slots for it."]})
    if any(s.open and s.booked < s.capacity for s in slots):
        raise conflict(SEATS_AVAILABLE, "This day still has free slots: book one instead.")
    key = people.person_key(data["family_name"], data["given_name"], data["birth_date"])
    holding = session.scalars(
        select(Appointment.id).where(
            Appointment.person_key == key, Appointment.dose_number == 1, ACTIVE
        )
    ).first()
    if holding is not None:
        raise conflict(ALREADY_BOOKED, "This person already has an active appointment.")
    entry = WaitlistEntry(
        code=people.new_code(),
        clinic_day_id=day.id,
        location_id=day.location_id,
        product_id=data["product_id"],
        status=WAITING,
        person_key=key,
        joined_at=now,
        **{field: data.get(field) for field in records.PERSON_FIELDS},
    )
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        raise conflict(ALREADY_WAITING, "This person is already on this day's waitlist.") from None
    return entry


def _next_waiting(session: Session, clinic_day_id: str, product_id: str) -> WaitlistEntry | None:
    return session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.clinic_day_id == clinic_day_id,
            WaitlistEntry.product_id == product_id,
            WaitlistEntry.status == WAITING,
        )
        .order_by(WaitlistEntry.joined_at, WaitlistEntry.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def seat_freed(
    session: Session, slot_id: str, now: datetime, correlation_id: str
) -> WaitlistEntry | None:
    """A held seat of `slot_id` is free: offer it to the first person waiting for its day, or
    give it back to the public. Returns the offer made, if any."""
    slot = session.get(Slot, slot_id, populate_existing=True)
    if slot is not None and slot.open and slot.starts_at > now:
        entry = _next_waiting(session, slot.clinic_day_id, slot.product_id)
        if entry is not None:
            _offer_seat(session, entry, slot, now, correlation_id)
            return entry
    seats.give_back(session, slot_id)
    return None


def offer_new_seats(session: Session, slot_id: str, now: datetime, correlation_id: str) -> int:
    """Seats a slot gained (its capacity was raised) go first to the people waiting for its
    day, each held for an offer; the public gets what nobody waits for."""
    slot = session.get(Slot, slot_id, populate_existing=True)
    offered = 0
    while slot.open and slot.starts_at > now and slot.booked < slot.capacity:
        entry = _next_waiting(session, slot.clinic_day_id, slot.product_id)
        if entry is None:
            break
        try:
            seats.take(session, slot_id, now)
        except Conflict:
            break
        _offer_seat(session, entry, slot, now, correlation_id)
        offered += 1
        slot = session.get(Slot, slot_id, populate_existing=True)
    return offered


def _offer_seat(
    session: Session, entry: WaitlistEntry, slot: Slot, now: datetime, correlation_id: str
) -> None:
    """Offer `entry` a held seat of `slot`, open until OFFER_TTL from now or the slot's start."""
    expires_at = min(now + OFFER_TTL, slot.starts_at)
    _offer(session, entry, CANCELLATION, now, expires_at, correlation_id, slot=slot)


def _offer(
    session: Session,
    entry: WaitlistEntry,
    kind: str,
    now: datetime,
    expires_at: datetime,
    correlation_id: str,
    *,
    slot: Slot | None = None,
) -> None:
    entry.status = OFFERED
    entry.offer_kind = kind
    entry.offered_slot_id = slot.id if slot else None
    entry.offered_at = now
    entry.offer_expires_at = expires_at
    record_event(
        session,
        "waitlist_offer_made",
        {
            "waitlist_entry_id": entry.id,
            "waitlist_code": entry.code,
            "location_id": entry.location_id,
            "clinic_day_id": entry.clinic_day_id,
            "product_id": entry.product_id,
            "slot_id": entry.offered_slot_id,
            "kind": kind,
            "expires_at": expires_at,
            "preferred_language": entry.preferred_language,
            "contact_channels": entry.contact_channels,
        },
        correlation_id=correlation_id,
    )


def entry_by_code(session: Session, code: str, *, lock: bool = False) -> WaitlistEntry:
    missing = "No waitlist entry has this code."
    return people.by_code(session, WaitlistEntry.code, code, lock=lock, missing=missing)


def accept(session: Session, code: str, now: datetime, correlation_id: str):
    """Take the place offered: an appointment in the held seat (or, for leftover doses, now)."""
    entry = entry_by_code(session, code, lock=True)
    if entry.status != OFFERED or entry.offer_expires_at <= now:
        raise conflict(OFFER_NOT_OPEN, "There is no open offer for this code.")
    if entry.offered_slot_id:
        slot = session.get(Slot, entry.offered_slot_id)
        starts_at = slot.starts_at
    else:
        starts_at = now
    appointment = records.create(
        session,
        entry.person(),
        location_id=entry.location_id,
        product_id=entry.product_id,
        slot_id=entry.offered_slot_id,
        starts_at=starts_at,
        dose_number=1,
        now=now,
        actor="recipient",
        correlation_id=correlation_id,
        details={"waitlist_entry_id": entry.id, "offer_kind": entry.offer_kind},
    )
    entry.status = ACCEPTED
    entry.appointment_id = appointment.id
    return appointment


def expire_offers(
    session: Session, now: datetime, correlation_id: str, limit: int = 200
) -> list[WaitlistEntry]:
    """Offers not accepted in time lose their turn; their seat passes on (a leftover dose's
    passes on in `pass_on_leftover_doses`, once its vial is checked). Safe to run on several
    instances at once: each offer is claimed under a row lock, skipped if taken."""
    expired = session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.status == OFFERED, WaitlistEntry.offer_expires_at <= now)
        .order_by(WaitlistEntry.offer_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for entry in expired:
        entry.status = EXPIRED
        if entry.offered_slot_id:
            seat_freed(session, entry.offered_slot_id, now, correlation_id)
    return expired


def offer_leftover_doses(
    session: Session, location_id: str, vials: list[dict], now: datetime, correlation_id: str
) -> list[WaitlistEntry]:
    """Offer the doses left in opened vials (still within their beyond-use time) to the people
    waiting for today's clinic day at the location, first come first offered."""
    settings = session.get(LocationSettings, location_id)
    zone = ZoneInfo(settings.time_zone) if settings else ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    day = session.scalars(
        select(ClinicDay).where(ClinicDay.location_id == location_id, ClinicDay.date == today)
    ).first()
    if day is None:
        return []
    offers = _offer_doses(session, day, vials, now, correlation_id)
    day.leftovers_offered_at = now
    return offers


def pass_on_leftover_doses(
    session: Session, clinic_day_id: str, vials: list[dict], now: datetime, correlation_id: str
) -> list[WaitlistEntry]:
    """Leftover doses whose offers expired go to the next people waiting for the day, as far
    as the location's opened vials (`vials`, asked of inventory after the expiry) still hold
    doses nobody was offered or accepted."""
    day = session.get(ClinicDay, clinic_day_id)
    if day is None or day.status != "open":
        return []
    return _offer_doses(session, day, vials, now, correlation_id)


def _offer_doses(
    session: Session, day: ClinicDay, vials: list[dict], now: datetime, correlation_id: str
) -> list[WaitlistEntry]:
    doses: dict[str, int] = defaultdict(int)
    usable_until: dict[str, datetime] = {}
    for vial in vials:
        if vial["doses_left"] > 0 and vial["beyond_use_at"] > now:
            product = vial["product_id"]
            doses[product] += vial["doses_left"]
            usable_until[product] = max(usable_until.get(product, now), vial["beyond_use_at"])
    # Doses promised already: open offers, and accepted ones not given yet (still in the vial).
    outstanding: dict[str, int] = defaultdict(int)
    for product in session.scalars(
        select(WaitlistEntry.product_id).where(
            WaitlistEntry.clinic_day_id == day.id,
            WaitlistEntry.status == OFFERED,
            WaitlistEntry.offer_kind == LEFTOVER_DOSES,
            WaitlistEntry.offer_expires_at > now,
        )
    ):
        outstanding[product] += 1
    for product in session.scalars(
        select(WaitlistEntry.product_id)
        .join(Appointment, Appointment.id == WaitlistEntry.appointment_id)
        .where(
            WaitlistEntry.clinic_day_id == day.id,
            WaitlistEntry.status == ACCEPTED,
            WaitlistEntry.offer_kind == LEFTOVER_DOSES,
            Appointment.status.in_(ACTIVE_STATUSES),
        )
    ):
        outstanding[product] += 1
    offers = []
    for product, count in doses.items():
        for _ in range(count - outstanding[product]):
            entry = _next_waiting(session, day.id, product)
            if entry is None:
                break
            expires = min(now + LEFTOVER_OFFER_TTL, usable_until[product])
            _offer(session, entry, LEFTOVER_DOSES, now, expires, correlation_id)
            offers.append(entry)
    return offers


def days_ending(session: Session, now: datetime) -> list[tuple[str, str]]:
    """(clinic day id, location id) of open days whose last slot ends within DAY_END_LEAD (or
    ended within DAY_END_GRACE), whose leftovers were not offered yet, with people waiting."""
    last_end = (
        select(Slot.clinic_day_id, func.max(Slot.ends_at).label("ends_at"))
        .group_by(Slot.clinic_day_id)
        .subquery()
    )
    waiting = exists().where(
        WaitlistEntry.clinic_day_id == ClinicDay.id, WaitlistEntry.status == WAITING
    )
    rows = session.execute(
        select(ClinicDay.id, ClinicDay.location_id)
        .join(last_end, last_end.c.clinic_day_id == ClinicDay.id)
        .where(
            ClinicDay.status == "open",
            ClinicDay.leftovers_offered_at.is_(None),
            last_end.c.ends_at <= now + DAY_END_LEAD,
            last_end.c.ends_at > now - DAY_END_GRACE,
            waiting,
        )
    )
    return [(row.id, row.location_id) for row in rows]


def claim_day_end(session: Session, clinic_day_id: str, now: datetime) -> bool:
    """Claim a day's end-of-day offer for this transaction: one instance makes it, once."""
    claimed = session.execute(
        update(ClinicDay)
        .where(ClinicDay.id == clinic_day_id, ClinicDay.leftovers_offered_at.is_(None))
        .values(leftovers_offered_at=now)
        .returning(ClinicDay.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return claimed is not None
