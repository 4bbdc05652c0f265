"""Database errors as answers a caller can act on, never an unhandled failure (a 502).

An outage (the database unreachable, a deadlock or serialization failure: OperationalError,
InterfaceError) goes up as itself, for the gateway to answer 503 with Retry-After. A unique or
foreign key clash that is still there after `DatabaseAccess.idempotent` retried is a conflict
with a concurrent change (409); a value the database refuses is a rule broken (422)."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DataError, IntegrityError

from cvms_platform.errors import Conflict, Unprocessable

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)


def answered(method: F) -> F:
    """Wrap an RPC method so that a database clash or refusal reaches the caller as a 409 or
    422. The wrapper keeps the method's signature: nameko checks calls against it."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except IntegrityError as exc:
            # The constraint's name, never the values: they may be personal data.
            log.warning("%s: integrity error %s", method.__name__, _constraint(exc))
            raise Conflict("A concurrent change clashed with this request; try it again.") from None
        except DataError as exc:
            log.warning("%s: data error %s", method.__name__, type(exc.orig).__name__)
            raise Unprocessable({"_schema": ["A value is out of the range it may take."]}) from None

    wrapper.__signature__ = inspect.signature(method)
    return wrapper  # type: ignore[return-value]


def _constraint(error: IntegrityError) -> str:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None) or type(error.orig).__name__
