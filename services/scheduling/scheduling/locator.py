"""The public locator and feed: published locations near a place, with appointment
availability and stock status per product."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from scheduling import geo, stock
from scheduling.exceptions import NotFound, Unprocessable
from scheduling.models import ClinicDay, LocationSettings, Slot
from scheduling.schemas import LocationSettingsOut

MAX_RESULTS = 50
AVAILABILITY_DAYS = 7

_PUBLIC = LocationSettingsOut(
    only=(
        "location_id",
        "name",
        "address",
        "latitude",
        "longitude",
        "time_zone",
        "phone",
        "website",
        "hours",
        "products",
        "walk_ins_accepted",
        "accepting_appointments",
        "public_notes",
        "updated_at",
    )
)


def search(session: Session, query: dict, now: datetime) -> list[dict]:
    if query.get("latitude") is not None and query.get("longitude") is not None:
        lat, lon = query["latitude"], query["longitude"]
    else:
        place = geo.zip_place(query["zip"])
        if place is None:
            raise Unprocessable({"zip": ["Unknown ZIP code."]})
        lat, lon = place.latitude, place.longitude
    radius = query["radius_miles"]
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(lat, lon, radius)
    candidates = session.scalars(
        select(LocationSettings).where(
            LocationSettings.published.is_(True),
            LocationSettings.latitude.between(min_lat, max_lat),
            LocationSettings.longitude.between(min_lon, max_lon),
        )
    ).all()
    product_id = query.get("product_id")
    found = []
    for settings in candidates:
        distance = geo.haversine_miles(lat, lon, settings.latitude, settings.longitude)
        if distance > radius or (product_id and product_id not in settings.products):
            continue
        found.append((distance, settings))
    found.sort(key=lambda pair: (pair[0], pair[1].location_id))
    found = found[:MAX_RESULTS]
    described = describe(session, [s for _, s in found], now, query.get("date"), product_id)
    for (distance, _), location in zip(found, described, strict=True):
        location["distance_miles"] = round(distance, 1)
    return described


def feed(session: Session, now: datetime) -> list[dict]:
    """Every published location, for machines (e.g. a state's or Vaccines.gov's importer)."""
    locations = session.scalars(
        select(LocationSettings)
        .where(LocationSettings.published.is_(True))
        .order_by(LocationSettings.location_id)
    ).all()
    return describe(session, locations, now, None, None)


def one(session: Session, location_id: str, now: datetime, days: int = 14) -> dict:
    """One published location as the locator describes it (free seats in the coming week),
    with its open clinic days of the next `days` days and the seats free on each per product
    (0 on a full day: the public may join that day's waitlist)."""
    settings = session.get(LocationSettings, location_id)
    if settings is None or not settings.published:
        raise NotFound(f"location {location_id} not found")
    answer = describe(session, [settings], now, None, None)[0]
    answer["clinic_days"] = _clinic_days(session, settings, now, days)
    return answer


def _clinic_days(session: Session, settings: LocationSettings, now: datetime, days: int) -> list:
    if not settings.accepting_appointments:
        return []
    today = now.astimezone(ZoneInfo(settings.time_zone)).date()
    bookable = Slot.open.is_(True) & (Slot.starts_at > now) & (Slot.booked < Slot.capacity)
    rows = session.execute(
        select(
            ClinicDay.id,
            ClinicDay.date,
            Slot.product_id,
            func.sum(case((bookable, Slot.capacity - Slot.booked), else_=0)),
            func.max(Slot.starts_at),
        )
        .join(Slot, Slot.clinic_day_id == ClinicDay.id)
        .where(
            ClinicDay.location_id == settings.location_id,
            ClinicDay.status == "open",
            ClinicDay.date >= today,
            ClinicDay.date < today + timedelta(days=days),
        )
        .group_by(ClinicDay.id, ClinicDay.date, Slot.product_id)
        .order_by(ClinicDay.date, Slot.product_id)
    )
    return [
        {
            "clinic_day_id": day_id,
            "date": day.isoformat(),
            "product_id": product,
            "available": int(free or 0),
        }
        for day_id, day, product, free, last_start in rows
        if last_start is not None and _aware(last_start) > now  # a day not yet over
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def describe(
    session: Session,
    locations: list[LocationSettings],
    now: datetime,
    on: date | None,
    product_id: str | None,
) -> list[dict]:
    ids = [s.location_id for s in locations]
    statuses = stock.statuses(session, ids, now)
    seats = _availability(session, locations, now, on)
    answer = []
    for settings in locations:
        products = [p for p in settings.products if not product_id or p == product_id]
        known = statuses.get(settings.location_id, {})
        answer.append(
            {
                **_PUBLIC.dump(settings),
                "products": [
                    {
                        "product_id": product,
                        "stock_status": known.get(product, {}).get("status", stock.OUT_OF_STOCK),
                        "stock_updated_at": _iso(known.get(product, {}).get("updated_at")),
                        "appointments_available": seats.get((settings.location_id, product), 0)
                        if settings.accepting_appointments
                        else 0,
                    }
                    for product in products
                ],
            }
        )
    return answer


def _availability(session, locations, now: datetime, on: date | None) -> dict:
    """Free seats per (location, product): on the date asked for, else in the coming week."""
    per_zone = defaultdict(list)
    for settings in locations:
        per_zone[settings.time_zone].append(settings.location_id)
    seats: dict[tuple[str, str], int] = {}
    for zone_name, ids in per_zone.items():
        zone = ZoneInfo(zone_name)
        if on is not None:
            start = max(now, datetime.combine(on, time(), zone))
            end = datetime.combine(on + timedelta(days=1), time(), zone)
        else:
            start, end = now, now + timedelta(days=AVAILABILITY_DAYS)
        rows = session.execute(
            select(Slot.location_id, Slot.product_id, func.sum(Slot.capacity - Slot.booked))
            .where(
                Slot.location_id.in_(ids),
                Slot.open.is_(True),
                Slot.booked < Slot.capacity,
                Slot.starts_at > start,
                Slot.starts_at < end,
            )
            .group_by(Slot.location_id, Slot.product_id)
        )
        for location_id, product, free in rows:
            seats[(location_id, product)] = int(free or 0)
    return seats


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
