"""Limits of the public routes (the locator and self-scheduling: no login), in Redis through
flask-limiter, across gunicorn workers and gateway instances.

Real people share addresses: a mobile carrier puts thousands of phones behind one, a library
or a pharmacy kiosk serves a queue, and without a trusted hop in front every member of the
public reaches the gateway from the web portal's. So an address has only a generous ceiling,
and what stops abuse is counted where abuse shows:

- per confirmation or waitlist code, on the routes that take one (`code_rate_limit`);
- per address, the lookups of codes that do not exist (404) (`code_miss_limit`): guessing is
  stopped, while the people of a shared address who type their own code are not counted;
- per person (folded family and given name and birth date), bookings and waitlist joins
  (`person_rate_limit`);
- per slot, bookings (`slot_rate_limit`), but not those the worker answers "full" itself;
- per address, a ceiling for the booking routes (`booking_rate_limit`) and another for the
  locator (`locator_rate_limit`), so neither can starve the other.

Overload is not a limit's business: `admission` answers 503 with Retry-After when a worker is
busy. Keys name no person and no code: those are HMAC-SHA-256 digests under the gateway's key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import Flask, current_app, request
from flask_limiter import Limiter

from cvms_platform.people import normalise_code, person_key
from gateway.addresses import client_ip
from gateway.settings import Settings

OFF = "off"
PREFIX = "scheduling.public_"
LOCATOR = (
    "scheduling.public_locate",
    "scheduling.public_location_feed",
    "scheduling.public_open_slots",
)
WITH_PERSON = ("scheduling.public_book", "scheduling.public_join_waitlist")
WITH_SLOT = (
    "scheduling.public_book",
    "scheduling.public_reschedule",
    "scheduling.public_book_next_dose",
)
MISSED = "Too many unknown codes from this address; check the code and try again later."


def is_public() -> bool:
    """Whether the current request is for a public route (these have their own limits)."""
    return (request.endpoint or "").startswith(PREFIX)


def install(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Limit the public routes; call once the routes exist."""
    public = [endpoint for endpoint in app.view_functions if endpoint.startswith(PREFIX)]
    with_code = sorted(
        {
            r.endpoint
            for r in app.url_map.iter_rules()
            if r.endpoint in public and "code" in r.arguments
        }
    )
    app.extensions["cvms_limit_key"] = settings.jwt_secret.encode()

    def limit(value: str, endpoints, **options) -> None:
        if value.strip().lower() == OFF:
            return
        decorate = limiter.shared_limit(value, **options)
        for endpoint in endpoints:
            app.view_functions[endpoint] = decorate(app.view_functions[endpoint])

    limit(settings.locator_rate_limit, LOCATOR, scope="public-locator", key_func=_address)
    booking = [endpoint for endpoint in public if endpoint not in LOCATOR]
    limit(settings.booking_rate_limit, booking, scope="public-booking", key_func=_address)
    limit(settings.code_rate_limit, with_code, scope="public-code", key_func=_code)
    limit(
        settings.code_miss_limit,
        with_code,
        scope="public-code-miss",
        key_func=_address,
        deduct_when=lambda response: response.status_code == 404,
        error_message=MISSED,
    )
    limit(
        settings.person_rate_limit,
        WITH_PERSON,
        scope="public-person",
        key_func=_person,
        exempt_when=lambda: not _person(),
    )
    limit(
        settings.slot_rate_limit,
        WITH_SLOT,
        scope="public-slot",
        key_func=_slot,
        exempt_when=_slot_known_full,
    )


def _address() -> str:
    return f"ip:{client_ip()}"


def _digest(value: str) -> str:
    key = current_app.extensions["cvms_limit_key"]
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _code() -> str:
    code = normalise_code(str((request.view_args or {}).get("code", "")))
    return f"code:{_digest(code)}"


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _person() -> str:
    """The person a booking is for; "" when the body does not say (it is refused as invalid)."""
    data = _body()
    names = [data.get(field) for field in ("family_name", "given_name", "birth_date")]
    if not all(isinstance(value, str) and value.strip() for value in names):
        return ""
    return f"person:{_digest(person_key(*names))}"


def _slot_id() -> str:
    try:
        return str(uuid.UUID(str(_body().get("slot_id"))))
    except ValueError:
        return ""


def _slot() -> str:
    return f"slot:{_slot_id()}"


def _slot_known_full() -> bool:
    """Not counted: no slot named (refused as invalid), or one the worker answers "full" itself
    without asking scheduling (`full_slots`): a rush for a full slot gets its clean 409."""
    slot_id = _slot_id()
    return not slot_id or current_app.extensions["cvms_full_slots"].is_full(slot_id)
