"""The Inventory Levels form: a PDF to print, a CSV template, and the import of a filled-in
CSV (idempotent by location and row id; each row accepted or rejected with its reason)."""

import base64
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cvms_platform.errors import InvalidInput
from inventory.forms import COLUMNS
from inventory.models import LedgerEntry

LOCATION = "clinic-1"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def lots(service, make_shipment, make_dose) -> list[dict]:
    first = service.receive_lot(LOCATION, make_shipment(doses=20, lot_number="FORM-A"))["lot"]
    second = service.receive_lot(
        LOCATION, make_shipment(doses=10, lot_number="FORM-B", product_id="moderna-red-18plus")
    )["lot"]
    service.on_dose_administered(make_dose(first))
    service.record_wastage(LOCATION, second["id"], {"doses": 2, "reason": "broken_vial"})
    return [first, second]


def template(service) -> list[dict]:
    answer = service.levels_form(LOCATION, None, None, "csv")
    assert answer["content_type"] == "text/csv"
    return list(csv.DictReader(io.StringIO(answer["text"])))


def filled(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def ledger(read) -> list[tuple]:
    return sorted(
        (e.lot_id, e.reason, e.delta, e.wastage_reason or "") for e in read.all(select(LedgerEntry))
    )


def test_the_pdf_lists_each_lot_with_its_figures(service, lots):
    answer = service.levels_form(LOCATION, None, None, "pdf")

    assert answer["content_type"] == "application/pdf"
    assert answer["filename"].endswith(".pdf")
    text = "\n".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(base64.b64decode(answer["base64"]))).pages
    )
    assert "FORM-A" in text and "FORM-B" in text
    # each product named once with its cap colour, which is not repeated
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in text
    assert "Moderna COVID-19 Vaccine (Red Cap)" in text
    assert text.count("Cap") == 2 and "gray" not in text
    assert "broken 2" in text
    assert "Counted on hand" in text


def test_the_csv_template_has_a_row_per_lot_and_blank_rows(service, lots):
    rows = template(service)

    by_lot = {row["lot_number"]: row for row in rows if row["lot_id"]}
    assert set(by_lot) == {"FORM-A", "FORM-B"}
    assert (by_lot["FORM-A"]["on_hand"], by_lot["FORM-A"]["administered"]) == ("19", "1")
    assert (by_lot["FORM-B"]["on_hand"], by_lot["FORM-B"]["wasted_broken_vial"]) == ("8", "2")
    assert by_lot["FORM-B"]["cap_color"] == "red"
    assert len({row["row_id"] for row in rows}) == len(rows) == 2 + 5
    assert all(row["counted_on_hand"] == "" for row in rows)


def test_a_filled_form_records_wastage_counts_and_receipts(service, lots, read):
    rows = template(service)
    a = next(row for row in rows if row["lot_number"] == "FORM-A")
    b = next(row for row in rows if row["lot_number"] == "FORM-B")
    a.update(waste_doses="1", waste_reason="drawn_not_administered", counted_on_hand="17")
    b.update(counted_on_hand="8")  # as expected: nothing to correct
    blank = next(row for row in rows if not row["lot_id"])
    blank.update(
        product_id="pfizer-gray-12plus",
        lot_number="NEW-1",
        expiration_date=(TODAY + timedelta(days=60)).isoformat(),
        receive_doses="30",
    )

    answer = service.import_levels_form(LOCATION, filled(rows), "clinic.manager")

    statuses = {row["row_id"]: row["status"] for row in answer["rows"]}
    assert statuses[a["row_id"]] == "recorded"
    assert statuses[b["row_id"]] == "unchanged"
    assert statuses[blank["row_id"]] == "recorded"
    assert (answer["recorded"], answer["unchanged"], answer["skipped"]) == (2, 1, 4)
    assert service.get_lot(lots[0]["id"])["doses_on_hand"] == 17
    entries = [e for e in ledger(read) if e[0] == lots[0]["id"]]
    assert (lots[0]["id"], "wasted", -1, "drawn_not_administered") in entries
    assert (lots[0]["id"], "correction", -1, "") in entries
    new = [lot for lot in service.location_inventory(LOCATION) if lot["lot_number"] == "NEW-1"]
    assert [lot["doses_on_hand"] for lot in new] == [30]


def test_importing_the_same_form_twice_records_nothing_twice(service, lots, read):
    rows = template(service)
    rows[0].update(waste_doses="2", waste_reason="broken_vial", counted_on_hand="5")
    rows[-1].update(
        product_id="pfizer-gray-12plus",
        lot_number="NEW-2",
        expiration_date=(TODAY + timedelta(days=60)).isoformat(),
        receive_doses="12",
    )
    text = filled(rows)
    first = service.import_levels_form(LOCATION, text, "clinic.manager")
    after_first = ledger(read)

    second = service.import_levels_form(LOCATION, text, "clinic.manager")

    assert ledger(read) == after_first
    assert first["recorded"] == 2
    assert (second["recorded"], second["duplicate"]) == (0, 2)
    assert [r["ledger_entry_ids"] for r in second["rows"] if r["status"] == "duplicate"] == [
        r["ledger_entry_ids"] for r in first["rows"] if r["status"] == "recorded"
    ]


def test_each_bad_row_is_rejected_with_its_reason_and_the_others_recorded(service, lots):
    rows = template(service)
    a = next(row for row in rows if row["lot_number"] == "FORM-A")
    b = next(row for row in rows if row["lot_number"] == "FORM-B")
    a.update(waste_doses="500", waste_reason="expired")  # more than on hand
    b.update(waste_doses="1")  # no reason
    rows[2].update(counted_on_hand="3")  # a blank row without a lot
    rows[3].update(lot_id="00000000-0000-0000-0000-000000000000", counted_on_hand="1")
    rows[4].update(counted_on_hand="-1")
    rows[5].update(
        product_id="pfizer-gray-12plus",
        lot_number="NEW-3",
        expiration_date=(TODAY + timedelta(days=60)).isoformat(),
        receive_doses="6",
    )

    answer = service.import_levels_form(LOCATION, filled(rows), "clinic.manager")

    by_id = {row["row_id"]: row for row in answer["rows"]}
    assert by_id[a["row_id"]]["status"] == "rejected"
    assert "doses" in by_id[a["row_id"]]["reason"]
    assert "waste_reason" in by_id[b["row_id"]]["reason"]
    assert "lot_id" in by_id[rows[2]["row_id"]]["reason"]
    assert "not found" in by_id[rows[3]["row_id"]]["reason"]
    assert "counted_on_hand" in by_id[rows[4]["row_id"]]["reason"]
    assert by_id[rows[5]["row_id"]]["status"] == "recorded"
    assert (answer["rejected"], answer["recorded"]) == (5, 1)
    assert service.get_lot(lots[0]["id"])["doses_on_hand"] == 19


def test_a_row_id_reused_with_other_contents_is_rejected(service, lots):
    rows = template(service)
    a = next(row for row in rows if row["lot_id"] == lots[0]["id"])
    a.update(counted_on_hand="10")
    service.import_levels_form(LOCATION, filled(rows), "clinic.manager")
    a.update(counted_on_hand="9")

    answer = service.import_levels_form(LOCATION, filled(rows), "clinic.manager")

    [row] = [r for r in answer["rows"] if r["row_id"] == a["row_id"]]
    assert row["status"] == "rejected"
    assert "other contents" in row["reason"]
    assert service.get_lot(lots[0]["id"])["doses_on_hand"] == 10


@pytest.mark.parametrize("text", ["", "just,some\n1,2\n", None])
def test_something_other_than_the_form_is_invalid_input(service, text):
    with pytest.raises(InvalidInput):
        service.import_levels_form(LOCATION, text, "clinic.manager")


def test_a_bad_form_query_is_invalid_input(service):
    with pytest.raises(InvalidInput):
        service.levels_form(LOCATION, "2026-03-10", "2026-03-01", "pdf")
    with pytest.raises(InvalidInput):
        service.levels_form(LOCATION, None, None, "docx")
