"""Who a booking is for, and the codes that stand in for a login."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

# The normalisations are shared with the gateway's limits per person and per code.
from cvms_platform.people import normalise_code, person_key
from scheduling.exceptions import NotFound

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "by_code",
    "new_code",
    "normalise_code",
    "person_key",
]

# No 0/O, 1/I/L: read aloud over the phone or copied from a text message without mistakes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ~ 8e14 codes: not guessable within any rate limit


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def by_code(
    session: Session,
    code_column: InstrumentedAttribute[str],
    code: str,
    *,
    lock: bool,
    missing: str,
) -> Any:
    """The row whose `code_column` holds `code` (as a person typed it); NotFound(`missing`) if
    none does. `lock`: FOR UPDATE."""
    query = select(code_column.class_).where(code_column == normalise_code(code))
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(missing)
    return found
