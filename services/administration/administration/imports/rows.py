"""The CSV's rows: their columns, their shape as a chunk arrives, and each row's cells
validated into a registration form and a dose, by the rules the API applies to both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from administration.imports.report import REJECTED, RowOutcome, outcome
from administration.schemas import (
    ADMINISTRATION_ROUTES,
    ADMINISTRATION_SITES,
    CHANNELS,
    NAME,
    NewRecipientSchema,
    one_of,
)
from cvms_platform.contracts.administration import IMPORT_COLUMNS, IMPORT_DOSE_COLUMNS
from cvms_platform.errors import InvalidInput

MAX_CHUNK = 2000
TICKED = {"x", "yes", "y", "true", "1", "si", "sí"}
UNTICKED = {"", "no", "n", "false", "0"}
# A date without a time: midday UTC, the same calendar day in every US time zone.
MIDDAY = time(12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class NumberedRow:
    """A row's cells ({column: text}) and its number: the file's line, as the report names it."""

    number: int
    values: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class ImportChunk:
    """A chunk of an import: its rows ({column: text}, numbered in sequence from `first_row`,
    the file's line number), and what each dose recorded from it keeps: where, by whom, under
    which import, in which request."""

    location_id: str
    import_id: str
    first_row: int
    rows: list[dict[str, str | None]]
    recorded_by: str
    recorded_by_user_id: str | None
    correlation_id: str

    def numbers(self) -> range:
        return range(self.first_row, self.first_row + len(self.rows))


@dataclass(frozen=True, slots=True)
class CheckedRow:
    """A row whose cells are valid: its recipient's registration form and its dose, as loaded
    by the schemas; the clinical rules and the lot are checked when it is recorded."""

    number: int
    record_id: str
    recipient: dict
    dose: dict


class GivenAt(fields.Field):
    """An ISO 8601 date and time with its offset, or a date alone (taken as midday UTC)."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return datetime.combine(datetime.fromisoformat(text).date(), MIDDAY)
            given = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                "A date (2026-01-15) or a date and time with its offset "
                "(2026-01-15T10:30:00-05:00)."
            ) from None
        if given.tzinfo is None:
            raise ValidationError("Give the time's UTC offset, e.g. 2026-01-15T10:30:00-05:00.")
        return given


class DoseRowSchema(Schema):
    record_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    administered_at = GivenAt(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    dose_number = fields.Int(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=10)
    )
    site = fields.Str(load_default=None, allow_none=True, validate=one_of(ADMINISTRATION_SITES))
    route = fields.Str(load_default=None, allow_none=True, validate=one_of(ADMINISTRATION_ROUTES))
    dose_volume_ml = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.05, max=5.0),
    )
    performer_name = fields.Str(load_default=None, allow_none=True, validate=NAME)

    @pre_load
    def _upper_codes(self, data, **_):
        for name in ("site", "route"):
            if data.get(name):
                data[name] = data[name].upper()
        return data


RECIPIENT_FORM = NewRecipientSchema()
DOSE_ROW = DoseRowSchema()


def checked_rows(rows: object) -> list[dict]:
    """The chunk's rows if they are 1 to MAX_CHUNK mappings of column names to text."""
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_CHUNK:
        raise InvalidInput({"rows": [f"Send 1 to {MAX_CHUNK} rows."]})
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in row.items()
        ):
            raise InvalidInput({"rows": {index: ["A row maps column names to text."]}})
    return rows


def blank_to_none(values: dict) -> dict:
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}


def record_id_of(values: dict) -> str:
    """The row's record id as the report keeps it (at most the 100 characters it takes)."""
    return (values.get("record_id") or "")[:100]


def validated_rows(pending: list[NumberedRow], outcomes: dict[int, RowOutcome]) -> list[CheckedRow]:
    """The rows whose cells are valid; the others' outcomes (rejected, with the column of each
    error) go into `outcomes`."""
    checked = []
    seen: set[str] = set()
    for row in pending:
        values = row.values
        record_id = record_id_of(values)
        form, errors = recipient_part(values)
        if set(values) - set(IMPORT_COLUMNS):
            errors["row"] = ["More cells than the header has columns."]
        try:
            recipient = RECIPIENT_FORM.load(form)
        except ValidationError as exc:
            errors.update(column_errors(exc.messages))
        try:
            dose = DOSE_ROW.load({k: values.get(k) for k in ("record_id", *IMPORT_DOSE_COLUMNS)})
        except ValidationError as exc:
            errors.update(column_errors(exc.messages))
        if not errors and record_id in seen:
            errors["record_id"] = ["This record id is on an earlier row of this import."]
        if errors:
            outcomes[row.number] = outcome(row.number, record_id, REJECTED, errors=errors)
            continue
        seen.add(record_id)
        checked.append(CheckedRow(row.number, record_id, recipient, dose))
    return checked


def recipient_part(values: dict) -> tuple[dict, dict]:
    """The row's registration form, as the API takes it; and column errors of the tick boxes."""
    errors: dict[str, list[str]] = {}
    channels = {}
    for channel in CHANNELS:
        raw = (values.get(f"contact_{channel}") or "").strip().lower()
        if raw not in TICKED | UNTICKED:
            errors[f"contact_{channel}"] = ["Tick with x (or yes), or leave empty."]
        channels[channel] = raw in TICKED
    form = {
        "given_name": values.get("given_name"),
        "family_name": values.get("family_name"),
        "birth_date": values.get("birth_date"),
        "sex": (values.get("sex") or "").upper() or None,
        "race": values.get("race"),
        "ethnicity": values.get("ethnicity"),
        "phone": values.get("phone"),
        "email": values.get("email"),
        "preferred_language": (values.get("preferred_language") or "en").lower(),
        "contact_preferences": channels,
    }
    if any(values.get(c) for c in ("address_line1", "city", "state", "postal_code")):
        form["address"] = {
            "line1": values.get("address_line1"),
            "line2": values.get("address_line2"),
            "city": values.get("city"),
            "state": (values.get("state") or "").upper() or None,
            "postal_code": values.get("postal_code"),
        }
    return {k: v for k, v in form.items() if v is not None}, errors


def column_errors(messages: dict) -> dict[str, list[str]]:
    """marshmallow's messages keyed by the CSV's columns (address.line1 -> address_line1)."""
    flat: dict[str, list[str]] = {}
    for field, message in messages.items():
        if isinstance(message, dict):
            for inner, inner_message in column_errors(message).items():
                column = {"address": f"address_{inner}" if inner.startswith("line") else inner}
                name = column.get(field, f"{field}.{inner}")
                if field == "contact_preferences":
                    name = f"contact_{inner}"
                flat.setdefault(name, []).extend(inner_message)
        else:
            flat.setdefault(field, []).extend(message if isinstance(message, list) else [message])
    return flat
