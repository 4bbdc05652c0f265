"""What is particular to text messages: the text itself (each template's `sms` block, at most
two segments) and quiet hours (none between 21:00 and 08:00 where the person is expected).

Segments: a text of GSM-7 characters only fits 160 in one segment and 153 in each of a longer
one's (306 in two); a single other character (á, í, ó, ú, an emoji) turns the whole text into
UCS-2, 70 in one and 67 per segment (134 in two). The Spanish texts are written to fit that;
should a location's long name still push a text over two segments, letters without a GSM-7 form
are written without their accent (á -> a), which keeps it in GSM-7 and under 306."""

from __future__ import annotations

import math
import os
import unicodedata
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from notifications import render
from notifications.contacts import Contact
from notifications.models import Delivery

MAX_SEGMENTS = 2
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")  # two septets each (escape + character)
# Look-alikes a phone shows the same, always replaced (as Twilio's smart encoding does).
_PLAIN = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
# Where a message's location says no time zone (a waitlist place without one).
DEFAULT_TIME_ZONE = "America/New_York"
_SMS_WHEN = {"en": "EEE d MMM, h:mm a", "es": "EEE d MMM, H:mm"}
_MAX_LOCATION_NAME = 40


# -- segments -------------------------------------------------------------------------------------
def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def segments(text: str) -> int:
    """How many segments a carrier bills `text` as."""
    if is_gsm7(text):
        septets = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def fold_to_gsm7(text: str) -> str:
    """`text` with every character GSM-7 lacks written as its unaccented letter (á -> a), or
    `?` if it has none."""
    folded = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            folded.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        folded.append(base if base and is_gsm7(base) else "?")
    return "".join(folded)


def fit(text: str) -> str:
    """The text as sent: look-alikes made plain, and folded to GSM-7 if it would otherwise
    take more than two segments."""
    text = text.translate(_PLAIN)
    if segments(text) > MAX_SEGMENTS:
        text = fold_to_gsm7(text)
    return text


# -- the text -------------------------------------------------------------------------------------
def _short_when(value: str | None, contact: Contact, language: str) -> str | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return format_datetime(moment, _SMS_WHEN[language], tzinfo=zone(contact), locale=language)


def text(delivery: Delivery, contact: Contact) -> str:
    """The text message of `delivery`: its template's `sms` block in the person's language,
    its lines with single spaces, fitted to two segments."""
    language = contact.language if contact.language in render.LANGUAGES else "en"
    template = render.template(delivery.message_type, language)
    values = render.context(delivery, contact)
    place = (contact.location or {}).get("name") or ""
    values.update(
        when=_short_when(delivery.facts.get("starts_at"), contact, language),
        previous_when=_short_when(delivery.facts.get("previous_starts_at"), contact, language),
        expires=_short_when(delivery.facts.get("expires_at"), contact, language),
        place=place[:_MAX_LOCATION_NAME].strip(),
    )
    raw = "".join(template.blocks["sms"](template.new_context(values)))
    lines = (" ".join(line.split()) for line in raw.splitlines())
    return fit("\n".join(line for line in lines if line))


# -- quiet hours ----------------------------------------------------------------------------------
def zone(contact: Contact) -> ZoneInfo:
    name = (contact.location or {}).get("time_zone") or os.environ.get(
        "CVMS_NOTIFY_DEFAULT_TIME_ZONE", DEFAULT_TIME_ZONE
    )
    return ZoneInfo(name)


def quiet_until(now: datetime, contact: Contact) -> datetime | None:
    """When a text may be sent if `now` is within quiet hours where the person is expected
    (08:00 local the next morning, or this morning after midnight); None if it may go now."""
    local = now.astimezone(zone(contact))
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() + (timedelta(days=1) if local.time() >= QUIET_FROM else timedelta())
    return datetime.combine(day, QUIET_UNTIL, tzinfo=local.tzinfo).astimezone(now.tzinfo)
