"""Locations: which exist, and which a person may see listed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from identity.actors import Actor
from identity.models import Location

# Who sees every location listed (others: the locations they act for).
SEES_EVERY_LOCATION = ("state_admin", "helpdesk")


def exists(session: Session, location_id: str) -> bool:
    return session.get(Location, location_id) is not None


def listed(session: Session, actor: Actor, text: str, limit: int) -> list[Location]:
    """The locations `actor` may see, by name, whose id or name contains `text`."""
    query = select(Location).order_by(Location.name, Location.id)
    if actor.role not in SEES_EVERY_LOCATION:
        query = query.where(Location.id.in_(sorted(actor.location_ids)))
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            func.lower(Location.id).like(pattern) | func.lower(Location.name).like(pattern)
        )
    return list(session.scalars(query.limit(limit)))


def summary(location: Location) -> dict:
    return {"id": location.id, "name": location.name, "organization_id": location.organization_id}


def names(session: Session, location_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(Location.id, Location.name).where(Location.id.in_(sorted(set(location_ids))))
    ).all()
    return {location_id: name for location_id, name in rows}
