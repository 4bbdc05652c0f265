"""The gateway's own data: users who sign in and the locations they act for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.models import Location, User


class Directory:
    def __init__(self, make_session: sessionmaker):
        self._make_session = make_session
        self._known_locations: set[str] = set()

    def user_by_name(self, username: str) -> User | None:
        with self._make_session() as session:
            return session.scalar(select(User).where(User.username == username))

    def acts_for(self, user: User, session: Session | None = None) -> list[str]:
        """The locations a user acts for: an organization admin's are the organization's
        locations (read at each sign-in, so a newly enrolled location is included); anyone
        else's are stored on the user. Pass the session of a transaction under way."""
        if user.role != "org_admin" or not user.organization_id:
            return sorted(user.location_ids or [])
        query = select(Location.id).where(Location.organization_id == user.organization_id)
        if session is not None:
            return sorted(session.scalars(query))
        with self._make_session() as own:
            return sorted(own.scalars(query))

    def exists(self, location_id: str) -> bool:
        # Locations are never removed, so a hit can be remembered; a miss asks again, so a new
        # location is usable without restarting the gateway.
        if location_id in self._known_locations:
            return True
        with self._make_session() as session:
            found = session.get(Location, location_id) is not None
        if found:
            self._known_locations.add(location_id)
        return found
