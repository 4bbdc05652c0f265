"""Phone numbers as texts are sent to them (E.164) and as staff may see them (masked)."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates


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
