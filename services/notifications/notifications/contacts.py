"""Who a delivery is for, asked of the owner at send time: events carry ids, and no address is
kept here beyond a masked one for staff to see."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.messages import APPOINTMENT, SMS, STAFF, USER, WAITLIST
from notifications.models import Delivery
from notifications.phones import mask_phone, normalise_phone


class Undeliverable(Exception):
    """Nothing to send to (no e-mail address, no phone number that takes texts, or a
    set-password link no longer usable): the delivery is suppressed, with this reason."""


@dataclass(frozen=True)
class Contact:
    # Where the delivery's channel reaches the person: an e-mail address, or a phone number
    # in E.164 for SMS.
    address: str
    language: str
    name: str | None
    # The location a booking is at: name, address, phone, time zone.
    location: dict | None = None
    # What only the owner may hand out at send time (a set-password link's token).
    secrets: dict = field(default_factory=dict)


def resolve(delivery: Delivery, scheduling, identity) -> Contact:
    """Ask scheduling (a booker, a waitlist place) or identity (a user) for the address (the
    e-mail address, or for SMS the phone number) and language of `delivery`'s person. Raises
    Undeliverable."""
    if delivery.person_kind in (APPOINTMENT, WAITLIST):
        found = scheduling.booking_contact(delivery.person_kind, delivery.person_id)
        if delivery.channel == SMS:
            address = normalise_phone(found.get("phone"))
            if address is None:
                raise Undeliverable("no phone number to text")
        elif found.get("email"):
            address = found["email"]
        else:
            raise Undeliverable("no e-mail address")
        return Contact(
            address=address,
            language=found.get("language") or "en",
            name=found.get("given_name"),
            location=found.get("location"),
        )
    if delivery.person_kind == USER and delivery.channel != SMS:
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
    if delivery.person_kind == STAFF and delivery.channel != SMS:
        user = identity.user_contact(delivery.person_id)
        if not user.get("active") or not user.get("email"):
            raise Undeliverable("the user is deactivated or has no e-mail address")
        return Contact(address=user["email"], language="en", name=user.get("display_name"))
    raise Undeliverable(f"nothing to send to a {delivery.person_kind} by {delivery.channel}")


def mask(address: str, channel: str | None = None) -> str:
    """What staff may see of an address: `a***@example.org`, or of a phone `***-***-0199`."""
    if channel == SMS:
        return mask_phone(address)
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
