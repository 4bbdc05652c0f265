"""Offline inventory entry: the Inventory Levels form of one location, per lot, as a printable
PDF and as a CSV template; and the import of a filled-in CSV.

The form holds the data elements of the levels report per lot (product with its cap color, lot,
expiration, on hand, administered, wasted by reason, transferred in and out) and the columns a
site fills in: `counted_on_hand`, `waste_doses` with `waste_reason`, and, on the blank rows, a
lot received (`product_id`, `lot_number`, `expiration_date`, `receive_doses`, `shipment_id`).

What an imported row does (each row in a transaction of its own, all of it or nothing):
- a lot's row: `waste_doses` (with `waste_reason`) is recorded as wastage; then
  `counted_on_hand` becomes a correction by the difference from the lot's on-hand at import
  (none when they agree);
- a blank row with `receive_doses`: a lot received (idempotent by its shipment id, by default
  `FORM-<row_id>`);
- a row without anything filled in is skipped (it may be filled and imported later).
A row is recorded once per location and row id: importing the same form again answers
`duplicate` for it and records nothing; the same row id with other contents is rejected.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import uuid
from datetime import date

from fpdf import FPDF
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cvms_platform.codes import WASTAGE_REASONS
from cvms_platform.errors import InvalidInput, Unprocessable
from cvms_platform.products import product_label
from cvms_platform.timeutil import utcnow
from inventory import ledger, levels, vials
from inventory.models import FormRow, LedgerEntry, Lot, Product

MAX_ROWS = 2000
STATUSES = ("recorded", "unchanged", "duplicate", "skipped", "rejected")
BLANK_ROWS = 5
# The report's figures per lot, in the form's order.
FIGURES = (
    "on_hand",
    "administered",
    *levels.WASTED_COLUMNS,
    "transferred_in",
    "transferred_out",
)
ENTRY_COLUMNS = (
    "counted_on_hand",
    "waste_doses",
    "waste_reason",
    "receive_doses",
    "shipment_id",
    "note",
)
COLUMNS = (
    "row_id",
    "lot_id",
    "product_id",
    "product_name",
    "cap_color",
    "lot_number",
    "expiration_date",
    *FIGURES,
    *ENTRY_COLUMNS,
)
REQUIRED_COLUMNS = ("row_id", "lot_id", *ENTRY_COLUMNS)
# Wastage reasons as short as a printed cell needs them.
SHORT_REASON = {
    "wasted_broken_vial": "broken",
    "wasted_drawn_not_administered": "drawn",
    "wasted_open_vial_time_limit": "open vial",
    "wasted_temperature_excursion": "temp.",
    "wasted_expired": "expired",
    "wasted_other": "other",
    "wasted_cold_chain_failure": "cold chain",
}


def lot_rows(session: Session, location_id: str, date_from: date, date_to: date) -> list[dict]:
    """The levels report of one location per lot: one GROUP BY over its ledger entries."""
    start, end = levels.day_bounds(date_from, date_to)
    e = LedgerEntry
    keys = [
        Lot.id,
        Lot.product_id,
        Product.name,
        Product.cap_color,
        Lot.lot_number,
        Lot.expiration_date,
    ]
    query = (
        select(*keys, *levels._counts(start, date_to))
        .select_from(e)
        .join(Lot, Lot.id == e.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .where(e.location_id == location_id, e.recorded_at < end)
        .group_by(*keys)
        .having(
            (func.sum(e.delta) != 0) | (func.sum(case((e.recorded_at >= start, 1), else_=0)) > 0)
        )
        .order_by(Product.name, Lot.expiration_date, Lot.lot_number, Lot.id)
    )
    rows = []
    for row in session.execute(query):
        m = row._mapping
        rows.append(
            {
                "lot_id": m[Lot.id],
                "product_id": m[Lot.product_id],
                "product_name": m[Product.name],
                "cap_color": m[Product.cap_color],
                "lot_number": m[Lot.lot_number],
                "expiration_date": m[Lot.expiration_date].isoformat(),
                "on_hand": int(m["on_hand_end"]),
                "administered": int(m["administered"]) - int(m["administrations_voided"]),
                **{column: int(m[column]) for column in levels.WASTED_COLUMNS},
                "transferred_in": int(m["transferred_in"]),
                "transferred_out": int(m["transferred_out"]),
            }
        )
    return rows


def form(session: Session, location_id: str, date_from: date, date_to: date) -> dict:
    """The form's data: a form id (row ids are `<form id>-<n>`), the lots and blank rows."""
    form_id = f"{date_to:%Y%m%d}-{uuid.uuid4().hex[:6]}"
    rows = lot_rows(session, location_id, date_from, date_to)
    blank = {column: "" for column in COLUMNS}
    rows = rows + [dict(blank) for _ in range(BLANK_ROWS)]
    for n, row in enumerate(rows, start=1):
        row["row_id"] = f"{form_id}-{n}"
    return {
        "location_id": location_id,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "form_id": form_id,
        "rows": rows,
    }


def as_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(data["rows"])
    return out.getvalue()


def as_pdf(data: dict) -> bytes:
    """A landscape page (or more) to print, fill in by hand and key in later."""
    pdf = FPDF(orientation="L", unit="mm", format="Letter")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(f"Inventory Levels - {data['location_id']}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(
        0,
        7,
        _text(f"Inventory Levels form - location {data['location_id']}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0,
        5,
        _text(
            f"Period {data['date_from']} to {data['date_to']} (UTC). Form {data['form_id']}. "
            "Count each lot and write the doses counted; write doses wasted and why."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    headings = (
        "Row",
        "Product",
        "Lot",
        "Expires",
        "On hand",
        "Admin.",
        "Wasted by reason",
        "Transf. in/out",
        "Counted on hand",
        "Wasted now (reason)",
    )
    widths = (10, 66, 24, 19, 14, 13, 42, 20, 24, 27)  # 259 mm: the page inside margins
    pdf.set_font("Helvetica", "B", 7)
    for heading, width in zip(headings, widths, strict=True):
        pdf.cell(width, 6, heading, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 7)
    for row in data["rows"]:
        blank = not row.get("lot_id")
        wasted = ", ".join(
            f"{SHORT_REASON[column]} {row[column]}"
            for column in levels.WASTED_COLUMNS
            if not blank and row[column]
        )
        cells = (
            row["row_id"].rsplit("-", 1)[-1],
            "(new lot received)" if blank else product_label(row["product_name"], row["cap_color"]),
            "" if blank else row["lot_number"],
            "" if blank else row["expiration_date"],
            "" if blank else str(row["on_hand"]),
            "" if blank else str(row["administered"]),
            wasted,
            "" if blank else f"{row['transferred_in']}/{row['transferred_out']}",
            "",
            "",
        )
        for cell, width in zip(cells, widths, strict=True):
            pdf.cell(width, 7, _fit(pdf, _text(cell), width), border=1)
        pdf.ln()
    pdf.ln(4)
    pdf.cell(
        0,
        5,
        "Counted by: ______________________   Date: ____________",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


def _text(value: str) -> str:
    # The PDF core fonts are Latin-1.
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _fit(pdf: FPDF, text: str, width: float) -> str:
    while text and pdf.get_string_width(text) > width - 2:
        text = text[:-2] + "~"
    return text


def rendered(data: dict, fmt: str) -> dict:
    stem = f"inventory-levels-form-{data['location_id']}-{data['date_to']}"
    if fmt == "pdf":
        content = base64.b64encode(as_pdf(data)).decode("ascii")
        return {"filename": f"{stem}.pdf", "content_type": "application/pdf", "base64": content}
    return {"filename": f"{stem}.csv", "content_type": "text/csv", "text": as_csv(data)}


# -- import ---------------------------------------------------------------------------------------
class FormRowSchema(Schema):
    """One filled-in row; the printed figures are ignored (they were true when printed)."""

    row_id = fields.Str(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    lot_id = fields.Str(load_default=None, validate=validate.Length(max=36))
    product_id = fields.Str(load_default=None, validate=validate.Length(max=64))
    lot_number = fields.Str(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9-]{1,50}$"))
    expiration_date = fields.Date(load_default=None)
    counted_on_hand = fields.Int(load_default=None, validate=validate.Range(min=0, max=1_000_000))
    waste_doses = fields.Int(load_default=None, validate=validate.Range(min=1, max=1_000_000))
    waste_reason = fields.Str(load_default=None, validate=validate.OneOf(WASTAGE_REASONS))
    receive_doses = fields.Int(load_default=None, validate=validate.Range(min=1, max=1_000_000))
    shipment_id = fields.Str(load_default=None, validate=validate.Length(max=100))
    note = fields.Str(load_default=None, validate=validate.Length(max=2000))

    class Meta:
        unknown = "exclude"  # the printed figures

    @pre_load
    def _blank_is_absent(self, data, **kwargs):
        return {k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip()}

    @validates_schema
    def _one_meaning(self, data, **kwargs):
        if data.get("waste_doses") and not data.get("waste_reason"):
            raise ValidationError("Say why the doses were wasted.", "waste_reason")
        if data.get("waste_reason") == "other" and not data.get("note"):
            raise ValidationError("Say what happened when the reason is other.", "note")
        if data.get("receive_doses") is not None:
            if data.get("lot_id"):
                raise ValidationError(
                    "A lot received is a new lot: leave lot_id empty.", "receive_doses"
                )
            missing = [
                f for f in ("product_id", "lot_number", "expiration_date") if not data.get(f)
            ]
            for name in missing:
                raise ValidationError("Needed for a lot received.", name)
        elif not data.get("lot_id") and _has_entry(data):
            raise ValidationError("Name the lot (lot_id) of a count or wastage.", "lot_id")


def _has_entry(data: dict) -> bool:
    return any(
        data.get(name) is not None for name in ("counted_on_hand", "waste_doses", "receive_doses")
    )


def parse(text: str) -> list[dict]:
    """The rows of a filled-in CSV; InvalidInput when it is not the form's CSV."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput({"body": ["Send the filled-in form as CSV."]})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    if missing := [column for column in REQUIRED_COLUMNS if column not in header]:
        raise InvalidInput({"body": [f"Not the Inventory Levels form: no {', '.join(missing)}."]})
    try:
        rows = [row for row in reader]
    except csv.Error as exc:
        raise InvalidInput({"body": [f"Not readable as CSV: {exc}"]}) from None
    if len(rows) > MAX_ROWS:
        raise InvalidInput({"body": [f"At most {MAX_ROWS} rows per import."]})
    return rows


def load_row(raw: dict) -> dict:
    """The row's entries; InvalidInput with field messages when the row is not valid."""
    try:
        return FormRowSchema().load({k: v for k, v in raw.items() if k is not None})
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None


def digest(row: dict) -> str:
    meaning = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()


def import_row(
    session: Session, location_id: str, row: dict, *, imported_by: str, correlation_id: str
) -> dict:
    """Record one loaded row (see the module's docstring). Returns its outcome."""
    key = digest(row)
    done = session.get(FormRow, (location_id, row["row_id"]))
    if done is not None:
        if done.digest != key:
            raise Unprocessable(
                {"row_id": ["This row id was imported before with other contents."]}
            )
        ids = [i for i in done.ledger_entry_ids.split(",") if i]
        return {"status": "duplicate", "ledger_entry_ids": ids}
    if not _has_entry(row):
        return {"status": "skipped", "ledger_entry_ids": []}
    entries = []
    note = row.get("note") or f"Inventory Levels form, row {row['row_id']}."
    if row.get("receive_doses"):
        shipment = {
            "shipment_id": row.get("shipment_id") or f"FORM-{row['row_id']}",
            "product_id": row["product_id"],
            "lot_number": row["lot_number"],
            "expiration_date": row["expiration_date"],
            "doses": row["receive_doses"],
            "storage_unit": None,
        }
        lot, created = ledger.receive_lot(
            session, location_id, shipment, correlation_id=correlation_id
        )
        if created:
            entries += _entries_of(session, lot.id, "received")
    else:
        lot = ledger.lot_at(session, location_id, row["lot_id"])
        if row.get("waste_doses"):
            wastage = {"doses": row["waste_doses"], "reason": row["waste_reason"], "note": note}
            entry = vials.record_wastage(
                session, location_id, lot.id, wastage, correlation_id=correlation_id
            )
            entries.append(entry.id)
        if row.get("counted_on_hand") is not None:
            current = session.scalar(select(Lot.doses_on_hand).where(Lot.id == lot.id))
            delta = row["counted_on_hand"] - current
            if delta:
                correction = {"delta": delta, "note": f"Counted {row['counted_on_hand']}. {note}"}
                entry = ledger.correct_stock(
                    session, location_id, lot.id, correction, correlation_id=correlation_id
                )
                entries.append(entry.id)
    session.add(
        FormRow(
            location_id=location_id,
            row_id=row["row_id"],
            digest=key,
            ledger_entry_ids=",".join(entries),
            imported_at=utcnow(),
            imported_by=imported_by,
        )
    )
    session.flush()
    return {"status": "recorded" if entries else "unchanged", "ledger_entry_ids": entries}


def _entries_of(session: Session, lot_id: str, reason: str) -> list[str]:
    session.flush()
    return list(
        session.scalars(
            select(LedgerEntry.id).where(LedgerEntry.lot_id == lot_id, LedgerEntry.reason == reason)
        )
    )
