"""Errors that cross the RPC boundary as themselves, so the gateway can map them to HTTP.

nameko re-raises a registered exception type (by module path) on the caller's side with the
same arguments, instead of a generic RemoteError; so both sides import them from here.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class InvalidInput(Exception):
    """Input failed validation: `errors` maps field names to messages. HTTP 400."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


@deserialize_to_instance
class NotFound(Exception):
    """The named object does not exist (or is not visible to the caller). HTTP 404."""


@deserialize_to_instance
class Conflict(Exception):
    """The request clashes with the current state. HTTP 409. `Conflict(message, code)` names
    the clash for clients (e.g. `slot_full`); without a code the answer's error is `conflict`.
    `Conflict(message, code, fields)` also says which fields clash, as InvalidInput does."""


@deserialize_to_instance
class Forbidden(Exception):
    """The caller may not do this to this object (it is visible to them). HTTP 403."""


@deserialize_to_instance
class Unprocessable(Exception):
    """Well-formed input that breaks a business rule; `errors` maps fields to reasons. HTTP 422."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


@deserialize_to_instance
class NoUsableLot(Unprocessable):
    """No lot of the product can give a dose at the location now (none on hand, or all
    quarantined or expired): `errors` names `product_id`. HTTP 422, as any Unprocessable."""


class ContractViolation(Exception):
    """An event that does not match its contract; it is dead-lettered, never retried."""
