"""Who a delivery is for, asked of the owner at send time: events carry ids, and no address is
kept here beyond a masked one for staff to see."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.messages import APPOINTMENT, USER, WAITLIST
from notifications.models import Delivery


class Undeliverable(Exception):
    """Nothing to send to (no e-mail address, or a set-password link no longer usable): the
    delivery is suppressed, with this reason."""


@dataclass(frozen=True)
class Contact:
    address: str
    language: str
    name: str | None
    # The location a booking is at: name, address, phone, time zone.
    location: dict | None = None
    # What only the owner may hand out at send time (a set-password link's token).
    secrets: dict = field(default_factory=dict)


def resolve(delivery: Delivery, scheduling, identity) -> Contact:
    """Ask scheduling (a booker, a waitlist place) or identity (a user) for the address and
    language of `delivery`'s person. Raises Undeliverable."""
    if delivery.person_kind in (APPOINTMENT, WAITLIST):
        found = scheduling.booking_contact(delivery.person_kind, delivery.person_id)
        if not found.get("email"):
            raise Undeliverable("no e-mail address")
        return Contact(
            address=found["email"],
            language=found.get("language") or "en",
            name=found.get("given_name"),
            location=found.get("location"),
        )
    if delivery.person_kind == USER:
        user = identity.user_contact(delivery.person_id)
        if not user.get("email"):
            raise Undeliverable("no e-mail address")
        link = identity.password_link_for_delivery(delivery.facts["link_id"])
        if link is None:
            raise Undeliverable("the link was used or has expired")
        return Contact(
            address=user["email"],
            language="en",
            name=user.get("display_name"),
            secrets={"token": link["token"]},
        )
    raise Undeliverable(f"unknown person kind {delivery.person_kind}")


def mask(address: str) -> str:
    """What staff may see of an address: `a***@example.org`."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
