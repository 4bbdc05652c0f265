"""Phone numbers as texts go to them (E.164), and the digest that stands for an address where
the address itself must not travel or be kept (an SMS reply on the bus, a suppression)."""

from __future__ import annotations

import hashlib
import re


def normalise_phone(phone: str | None) -> str | None:
    """A phone number in E.164 (`+12125550199`), or None if it cannot be one. Ten digits, or
    eleven starting with 1, are taken as North American; others need their leading `+`."""
    if not phone or not isinstance(phone, str):
        return None
    text = phone.strip()
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        number = digits
    elif len(digits) == 10:
        number = "1" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        number = digits
    else:
        return None
    if not 8 <= len(number) <= 15 or number.startswith("0"):
        return None
    return "+" + number


def address_digest(address: str) -> str:
    """SHA-256 of an address as it is sent to (an e-mail address, a phone number in E.164)."""
    return hashlib.sha256(address.strip().casefold().encode()).hexdigest()
