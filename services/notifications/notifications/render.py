"""Messages from templates: one Jinja2 file per message type and language
(`templates/<type>.<language>.j2`) with three blocks, `subject`, `text` and `html` (the last
autoescaped). Times are shown in the location's time zone and the person's language."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined, Template

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


@functools.cache
def template(message_type: str, language: str) -> Template:
    """The compiled template of a message type in a language, loaded once per process (Jinja's
    own cache would look at the file's modification time on every message)."""
    return _ENVIRONMENT.get_template(f"{message_type}.{language}.j2")


@functools.cache
def locale(language: str) -> Locale:
    """Babel's locale, parsed once (formatting with the language's name parses it each time)."""
    return Locale.parse(language)


def _when(value: str | None, contact: Contact) -> str | None:
    if not value:
        return None
    return _local_when(value, (contact.location or {}).get("time_zone") or "UTC", contact.language)


# Many messages name the same few slot times: each is written out once per zone and language.
@functools.lru_cache(maxsize=4096)
def _local_when(value: str, time_zone: str, language: str) -> str:
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(time_zone))
    # The language's own long date and short time ("Monday, March 4, 2030, 10:00 AM EST";
    # "lunes, 4 de marzo de 2030, 10:00 EST"), with the zone's abbreviation.
    day = format_date(local, "full", locale=locale(language))
    time = format_time(local, "short", locale=locale(language))
    return f"{day}, {time} {local.tzname()}"


def _day(value: str | None, contact: Contact) -> str | None:
    return _local_day(value, contact.language) if value else None


@functools.lru_cache(maxsize=1024)
def _local_day(value: str, language: str) -> str:
    return format_date(date.fromisoformat(value), "full", locale=locale(language))


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
        # A marketplace claim's and transfer's times (issue 14).
        "expired": _when(facts.get("expired_at"), contact),
        "shipped": _when(facts.get("shipped_at"), contact),
        "received": _when(facts.get("received_at"), contact),
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
            f"{base}/password/set?token={contact.secrets['token']}"
            if "token" in contact.secrets
            else None
        ),
        # A help-desk account's address to verify, and a case's reply or resolution (issue 15).
        "verify_url": (
            f"{base}/helpdesk/verify?token={contact.secrets['token']}"
            if "token" in contact.secrets
            else None
        ),
        "case": contact.secrets.get("case") or {},
        "case_url": f"{base}/helpdesk/cases/{facts.get('case_id')}",
    }


# Staff's messages (a location's stock) are written in English: staff accounts have no language.
def render(delivery: Delivery, contact: Contact) -> Rendered:
    language = contact.language if contact.language in LANGUAGES else "en"
    compiled = template(delivery.message_type, language)
    values = compiled.new_context(context(delivery, contact))
    parts = {
        name: "".join(compiled.blocks[name](values)).strip() for name in ("subject", "text", "html")
    }
    return Rendered(
        subject=" ".join(parts["subject"].split()),
        text=parts["text"] + "\n",
        html=parts["html"],
        unsubscribe_url=_unsubscribe_url(delivery),
    )
