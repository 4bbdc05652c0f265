"""Who a booking is for, and the codes that stand in for a login: one normalisation for the
scheduling service (one active appointment per person and dose) and the gateway (the limits
per person and per confirmation code)."""

from __future__ import annotations

import unicodedata
from datetime import date


def normalise_code(code: str) -> str:
    """A confirmation or waitlist code as stored, however it was typed or read aloud."""
    return code.strip().upper().replace("-", "").replace(" ", "")


def _letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def person_key(family_name: str, given_name: str, birth_date: date | str) -> str:
    """The same person however the name is typed: case, accents, spaces and hyphens aside."""
    born = birth_date.isoformat() if isinstance(birth_date, date) else birth_date.strip()
    return f"{_letters(family_name)}|{_letters(given_name)}|{born}"
