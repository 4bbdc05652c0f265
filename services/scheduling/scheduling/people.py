"""Who a booking is for, and the codes that stand in for a login."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import date

# No 0/O, 1/I/L: read aloud over the phone or copied from a text message without mistakes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ~ 8e14 codes: not guessable within any rate limit


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def _letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def person_key(family_name: str, given_name: str, birth_date: date) -> str:
    """The same person however the name is typed: case, accents, spaces and hyphens aside."""
    return f"{_letters(family_name)}|{_letters(given_name)}|{birth_date.isoformat()}"
