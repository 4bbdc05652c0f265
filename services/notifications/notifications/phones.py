"""Phone numbers as texts are sent to them (E.164) and as staff may see them (masked)."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from cvms_platform.phones import normalise_phone

__all__ = ["PhoneNumber", "mask_phone", "normalise_phone"]


def mask_phone(phone: str) -> str:
    """What staff may see of a phone number: `***-***-0199`."""
    digits = re.sub(r"[^0-9]", "", phone)
    return f"***-***-{digits[-4:]}" if len(digits) >= 4 else "***"


class PhoneNumber(Schema):
    """A phone number an RPC is given (an SMS reply's sender): one that texts can go to."""

    phone = fields.Str(required=True, validate=validate.Length(min=7, max=30))

    @validates("phone")
    def _textable(self, value: str, **_) -> None:
        if normalise_phone(value) is None:
            raise ValidationError("Not a phone number texts can go to (E.164, e.g. +12125550199).")

    @post_load
    def _e164(self, data: dict, **_) -> str:
        return normalise_phone(data["phone"])
