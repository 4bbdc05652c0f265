"""Who a delivery is for, asked of the owner at send time: events carry ids, and no address is
kept here beyond a masked one for staff to see."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from nameko.exceptions import (
    IncorrectSignature,
    MethodNotFound,
    RemoteError,
    RpcTimeout,
    UnknownService,
)

from cvms_platform.errors import InvalidInput, NotFound
from notifications.messages import APPOINTMENT, EMAIL, REQUESTER, SMS, STAFF, USER, WAITLIST
from notifications.models import Delivery
from notifications.phones import mask_phone, normalise_phone

log = logging.getLogger(__name__)
# What an owner's RPC raises when it cannot answer now: try again later.
OWNER_UNAVAILABLE = (RpcTimeout, UnknownService, RemoteError, OSError)
# The most ids one `booking_contacts` call names (scheduling takes up to 500).
MANY = 200
# A scheduling from before `booking_contacts`, or one refusing a batch: asked one at a time.
ONE_AT_A_TIME = (MethodNotFound, IncorrectSignature, InvalidInput, NotFound)


class Undeliverable(Exception):
    """Nothing to send to (no e-mail address, no phone number that takes texts, or a
    set-password link no longer usable): the delivery is suppressed, with this reason."""


ABOUT_ONE = (Undeliverable, NotFound, *OWNER_UNAVAILABLE)


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


def resolve_many(
    deliveries: list[Delivery], scheduling, identity, helpdesk
) -> dict[str, Contact | Exception]:
    """`resolve` for a batch, by delivery id: each delivery's Contact, or what `resolve` raised
    for it (Undeliverable, NotFound, the owner not answering). The bookings' contacts are asked
    of scheduling in one `booking_contacts` call per kind and MANY ids; users' one at a time
    (they are few). A scheduling without that call (or one refusing the batch) is asked one at
    a time; one not answering leaves its deliveries with that error. Any other failure about
    one delivery is its own, logged: the rest of the batch goes on."""
    answers: dict[tuple[str, str], dict | Exception] = {}
    for kind in (APPOINTMENT, WAITLIST):
        ids = sorted({d.person_id for d in deliveries if d.person_kind == kind})
        for start in range(0, len(ids), MANY):
            chunk = ids[start : start + MANY]
            try:
                found = scheduling.booking_contacts(kind, chunk)
            except OWNER_UNAVAILABLE as error:
                answers.update(((kind, booking), error) for booking in chunk)
                continue
            except ONE_AT_A_TIME as error:
                log.warning("booking_contacts: %s; asking one at a time", type(error).__name__)
                continue
            except Exception:
                log.exception("booking_contacts failed: asking one at a time")
                continue
            for booking in chunk:
                answers[(kind, booking)] = found.get(booking) or NotFound(f"No {kind} {booking}.")
    resolved: dict[str, Contact | Exception] = {}
    for delivery in deliveries:
        known = answers.get((delivery.person_kind, delivery.person_id))
        try:
            if isinstance(known, Exception):
                raise known
            resolved[delivery.id] = resolve(delivery, scheduling, identity, helpdesk, booking=known)
        except Exception as error:
            if not isinstance(error, ABOUT_ONE):  # a fault: this delivery waits; the batch goes on
                log.exception("could not resolve the contact of message %s", delivery.id)
            resolved[delivery.id] = error
    return resolved


def resolve(
    delivery: Delivery, scheduling, identity, helpdesk, *, booking: dict | None = None
) -> Contact:
    """Ask scheduling (a booker, a waitlist place) or identity (a user) for the address (the
    e-mail address, or for SMS the phone number) and language of `delivery`'s person
    (`booking`: what scheduling already answered about it). Raises Undeliverable."""
    if delivery.person_kind in (APPOINTMENT, WAITLIST):
        found = booking
        if found is None:
            found = scheduling.booking_contact(delivery.person_kind, delivery.person_id)
        # The channels the person chose when booking (absent from an older scheduling: all).
        if delivery.channel not in found.get("channels", (EMAIL, SMS)):
            raise Undeliverable(f"{delivery.channel} was not chosen when booking")
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
            # A help-desk account's verification says the language it registered in.
            language=delivery.facts.get("language") or "en",
            name=user.get("display_name"),
            secrets={"token": link["token"]},
        )
    if delivery.person_kind == REQUESTER and delivery.channel != SMS:
        return _requester(delivery, identity, helpdesk)
    if delivery.person_kind == STAFF and delivery.channel != SMS:
        user = identity.user_contact(delivery.person_id)
        if not user.get("active") or not user.get("email"):
            raise Undeliverable("the user is deactivated or has no e-mail address")
        return Contact(address=user["email"], language="en", name=user.get("display_name"))
    raise Undeliverable(f"nothing to send to a {delivery.person_kind} by {delivery.channel}")


def _requester(delivery: Delivery, identity, helpdesk) -> Contact:
    """A help-desk requester: the address is identity's, the reply or resolution notes (never
    an internal note) and the case's language the help desk's, asked now."""
    user = identity.user_contact(delivery.person_id)
    if not user.get("active") or not user.get("email"):
        raise Undeliverable("the help-desk account is deactivated or has no e-mail address")
    message = helpdesk.message_for_delivery(delivery.facts["case_id"], delivery.facts["entry_id"])
    if message is None or message["requester_id"] != delivery.person_id:
        raise Undeliverable("not a message for the requester to read")
    return Contact(
        address=user["email"],
        language=message["language"],
        name=None,
        secrets={"case": message},
    )


def mask(address: str, channel: str | None = None) -> str:
    """What staff may see of an address: `a***@example.org`, or of a phone `***-***-0199`."""
    if channel == SMS:
        return mask_phone(address)
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
