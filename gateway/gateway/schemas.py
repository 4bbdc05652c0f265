"""What the HTTP contract of every area shares: the error answer and a location id's form (the
platform's, cvms_platform.answers.common). Each
area's own schemas are beside its routes (`gateway/api/<area>/schemas.py`); request bodies are
validated with them, and the OpenAPI document is generated from them. The services' answers are
declared once, in cvms_platform.answers, and used there too."""

from __future__ import annotations

from marshmallow import Schema, fields

from cvms_platform.answers.common import LOCATION_ID

__all__ = ["LOCATION_ID", "Error"]


class Error(Schema):
    error = fields.Str(metadata={"example": "invalid_input"})
    message = fields.Str()
    fields_ = fields.Dict(data_key="fields", metadata={"description": "Field-level messages"})
    request_id = fields.Str()
