"""What the identity and enrollment routes share: a database session of this request's app,
and how long one-time links live."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import Session

from cvms_platform import config


@contextmanager
def transaction() -> Iterator[Session]:
    """A session of the gateway's database in a transaction, committed on success."""
    with current_app.extensions["cvms_sessions"]() as session, session.begin():
        yield session


def invitation_ttl() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_INVITATION_TTL_SECONDS", 7 * 24 * 3600))


def reset_ttl() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_PASSWORD_RESET_TTL_SECONDS", 3600))
