"""Messages from templates: one Jinja2 file per message type and language
(`templates/<type>.<language>.j2`) with three blocks, `subject`, `text` and `html` (the last
autoescaped). Times are shown in the location's time zone and the person's language."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined

from notifications.contacts import Contact
from notifications.models import Delivery

LANGUAGES = ("en", "es")
_ENVIRONMENT = Environment(
    loader=PackageLoader("notifications", "templates"),
    undefined=StrictUndefined,  # a template naming a missing fact fails loudly, in tests
    keep_trailing_newline=True,
    autoescape=False,  # the html block turns it on for itself
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    # A reminder's link to stop reminders (also the e-mail's List-Unsubscribe header).
    unsubscribe_url: str | None = None


def portal_url() -> str:
    """The public address of the portal, where links in messages lead."""
    return os.environ.get("CVMS_PORTAL_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


def _when(value: str | None, contact: Contact) -> str | None:
    if not value:
        return None
    zone = ZoneInfo((contact.location or {}).get("time_zone") or "UTC")
    local = datetime.fromisoformat(value).astimezone(zone)
    # The language's own long date and short time ("Monday, March 4, 2030, 10:00 AM EST";
    # "lunes, 4 de marzo de 2030, 10:00 EST"), with the zone's abbreviation.
    day = format_date(local, "full", locale=contact.language)
    time = format_time(local, "short", locale=contact.language)
    return f"{day}, {time} {local.tzname()}"


def _day(value: str | None, contact: Contact) -> str | None:
    return (
        format_date(date.fromisoformat(value), "full", locale=contact.language) if value else None
    )


def _where(location: dict | None) -> str:
    if not location:
        return ""
    return ", ".join(part for part in (location.get("name"), location.get("address")) if part)


def _unsubscribe_url(delivery: Delivery) -> str | None:
    """Only reminders may be stopped; the link names the message, which only its reader has."""
    return None if delivery.transactional else f"{portal_url()}/unsubscribe?m={delivery.id}"


def context(delivery: Delivery, contact: Contact) -> dict:
    facts = delivery.facts
    base = portal_url()
    code = facts.get("confirmation_code") or facts.get("waitlist_code")
    return {
        "name": contact.name,
        "code": code,
        "dose_number": facts.get("dose_number"),
        "when": _when(facts.get("starts_at"), contact),
        "previous_when": _when(facts.get("previous_starts_at"), contact),
        "expires": _when(facts.get("expires_at"), contact),
        "offer_kind": facts.get("kind"),
        "next_dose_from": _day(facts.get("next_dose_from"), contact),
        "expiration_date": _day(facts.get("expiration_date"), contact),
        "facts": facts,
        "unsubscribe_url": _unsubscribe_url(delivery),
        "inventory_url": f"{base}/provider/locations/{facts.get('location_id')}/inventory",
        "location": contact.location or {},
        "where": _where(contact.location),
        "manage_url": f"{base}/appointments",
        "waitlist_url": f"{base}/waitlist",
        "set_password_url": (
            f"{base}/password/set?token={contact.secrets['token']}" if contact.secrets else None
        ),
    }


# Staff's messages (a location's stock) are written in English: staff accounts have no language.
def render(delivery: Delivery, contact: Contact) -> Rendered:
    language = contact.language if contact.language in LANGUAGES else "en"
    template = _ENVIRONMENT.get_template(f"{delivery.message_type}.{language}.j2")
    values = template.new_context(context(delivery, contact))
    parts = {
        name: "".join(template.blocks[name](values)).strip() for name in ("subject", "text", "html")
    }
    return Rendered(
        subject=" ".join(parts["subject"].split()),
        text=parts["text"] + "\n",
        html=parts["html"],
        unsubscribe_url=_unsubscribe_url(delivery),
    )
