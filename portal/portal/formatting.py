"""Days, times and numbers in the page's language (flask_babel), in the clinics' time zone (or
a location's own), and the parsing of what people type and the API answers.

Registered once as Jinja filters (`install`):
- `day(style="medium", zone=None)`: a date, or the local date of an instant ("full": the
  weekday too);
- `time(zone=None)`: an instant's local time of day;
- `when(zone=None)`: "Monday, March 9, 2026 at 2:30 PM";
- `instant(zone=None)`: "Mar 9, 2026, 2:30 PM";
- `number`: a number with the language's separators ("" for none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_date, format_decimal
from flask_babel import format_time as _format_time
from flask_babel import gettext as _
from jinja2 import Undefined

from portal.catalog import TIME_ZONE

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local">'s value


# -- parsing ---------------------------------------------------------------------------------------
def parse_day(value) -> date | None:
    """A date, or the date part of ISO text; None if there is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except (TypeError, ValueError):
        return None


def parse_instant(value) -> datetime | None:
    """An ISO instant (a trailing Z too) as an aware datetime; a naive one is UTC."""
    if isinstance(value, datetime):
        instant = value
    elif not value:
        return None
    else:
        try:
            instant = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def zone(name: str | None = None) -> ZoneInfo:
    """A location's time zone by name; the clinics' one without (or with a bad) name."""
    if not name:
        return TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return TIME_ZONE


def local_day(value, zone_name: str | None = None) -> date | None:
    """A date as it is; an instant's date where it happened."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, datetime) and len(str(value or "").strip()) == 10:
        return parse_day(value)
    instant = parse_instant(value)
    return instant.astimezone(zone(zone_name)).date() if instant else None


def today() -> date:
    """Today in the clinics' time zone."""
    return datetime.now(TIME_ZONE).date()


def parse_local(value: str | None) -> datetime | None:
    """A datetime-local field's value as an aware datetime in the clinics' zone; None if it is
    not one."""
    text = (value or "").strip()
    for pattern in (LOCAL_INPUT, LOCAL_INPUT + ":%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=TIME_ZONE)
        except ValueError:
            continue
    return None


def local_input(value) -> str:
    """The value of a datetime-local field (YYYY-MM-DDTHH:MM) for an instant, in the clinics'
    zone."""
    instant = parse_instant(value)
    return instant.astimezone(TIME_ZONE).strftime(LOCAL_INPUT) if instant else ""


def now_input() -> str:
    """Now, as a datetime-local field's value in the clinics' zone."""
    return local_input(datetime.now(TIME_ZONE))


# -- formatting ------------------------------------------------------------------------------------
def format_day(value, style: str = "medium", zone_name: str | None = None) -> str:
    """A date (or an instant's local date) in the page's language: "" for none, the text as it
    is if it is no date."""
    if value is None or value == "":
        return ""
    day = local_day(value, zone_name)
    return format_date(day, style) if day else str(value)


def format_time_of_day(value, zone_name: str | None = None) -> str:
    instant = parse_instant(value)
    if instant is None:
        return ""
    return _format_time(instant.astimezone(zone(zone_name)), "short", rebase=False)


def format_when(value, zone_name: str | None = None) -> str:
    """The day in full and the time: "Monday, March 9, 2026 at 2:30 PM"."""
    if not value:
        return ""
    return _(
        "%(day)s at %(time)s",
        day=format_day(value, "full", zone_name),
        time=format_time_of_day(value, zone_name),
    )


def format_instant(value, zone_name: str | None = None) -> str:
    """An instant, short: "Mar 9, 2026, 2:30 PM" (in the clinics' time zone by default)."""
    instant = parse_instant(value)
    if instant is None:
        return ""
    local = instant.astimezone(zone(zone_name))
    day = format_date(local, "medium", rebase=False)
    return f"{day}, {_format_time(local, 'short', rebase=False)}"


def format_number(value) -> str:
    """A number with the language's separators; "" for none (or a column an answer lacks)."""
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    return format_decimal(value)


# -- contact details shown to staff (masked) ------------------------------------------------------
def mask_phone(phone: str | None) -> str:
    digits = "".join(c for c in phone or "" if c.isdigit())
    return f"***-***-{digits[-4:]}" if len(digits) >= 4 else ""


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def install(app: Flask) -> None:
    app.jinja_env.filters.update(
        day=format_day,
        time=format_time_of_day,
        when=format_when,
        instant=format_instant,
        number=format_number,
    )
    app.jinja_env.globals.update(mask_phone=mask_phone, mask_email=mask_email)
