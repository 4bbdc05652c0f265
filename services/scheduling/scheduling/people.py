"""Who a booking is for, and the codes that stand in for a login."""

from __future__ import annotations

import secrets

# The normalisations are shared with the gateway's limits per person and per code.
from cvms_platform.people import normalise_code, person_key

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "new_code", "normalise_code", "person_key"]

# No 0/O, 1/I/L: read aloud over the phone or copied from a text message without mistakes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ~ 8e14 codes: not guessable within any rate limit


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
