"""Offline operations through the whole system: the paper forms, the CSV template, and imports
of filled CSVs (over HTTP and with `cvms import`) that record each dose once, in administration
and in inventory, however often the file is imported."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import text

from cvms_cli import importer
from tests.conftest import STATE_ADMIN
from tests.harness import wait_until


def pdf_text(response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


def test_the_paper_forms_in_english_and_spanish(vaccinator):
    registration = pdf_text(vaccinator.get("/forms/recipient-registration.pdf"))
    assert "Recipient Registration" in registration and "[birth_date]" in registration
    registro = pdf_text(vaccinator.get("/forms/recipient-registration.pdf", params={"lang": "es"}))
    assert "Registro del Vacunado" in registro and "Fecha de nacimiento" in registro
    administration = pdf_text(vaccinator.get("/forms/vaccine-administration.pdf"))
    assert "Vaccine Administration" in administration and "Left Deltoid (LD)" in administration
    administracion = pdf_text(
        vaccinator.get("/forms/vaccine-administration.pdf", params={"lang": "es"})
    )
    assert "Número de lote" in administracion and "Deltoides izquierdo (LD)" in administracion


def test_the_csv_template_has_the_forms_fields(vaccinator):
    response = vaccinator.get("/forms/administration-import.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[0] == "record_id"
    assert {"given_name", "birth_date", "lot_number", "site", "route", "dose_volume_ml"} <= set(
        header
    )


def filled_csv(lot_number: str, family: str) -> str:
    rows = [
        [
            "record_id",
            "given_name",
            "family_name",
            "birth_date",
            "phone",
            "administered_at",
            "lot_number",
            "site",
            "route",
            "dose_volume_ml",
        ],
        [
            "P-1",
            "Ana",
            family,
            "1980-03-04",
            "217-555-0101",
            "2026-01-10T09:00:00-06:00",
            lot_number,
            "LD",
            "IM",
            "0.3",
        ],
        [
            "P-2",
            "Ana",
            family,
            "1980-03-04",
            "217-555-0101",
            "2026-02-05",
            lot_number,
            "RD",
            "IM",
            "0.3",
        ],
        ["P-3", "Luis", family, "1975-11-30", "", "2026-01-10", lot_number, "", "", ""],
        ["P-4", "Eva", family, "2030-01-01", "", "2026-01-10", lot_number, "", "", ""],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def administered_entries(inventory_db, lot_id: str) -> int:
    with inventory_db.connect() as db:
        return db.execute(
            text(
                "SELECT count(*) FROM ledger_entries "
                "WHERE lot_id = :lot AND reason = 'administered'"
            ),
            {"lot": lot_id},
        ).scalar()


def test_an_import_twice_records_each_dose_once_everywhere(admin, location, inventory_db):
    lot = admin.receive_lot(location, doses=20)
    body = filled_csv(lot["lot_number"], f"Import-{uuid.uuid4().hex[:6]}")

    def send():
        return admin.post(
            f"/locations/{location}/administration-imports",
            data=body.encode(),
            headers={"Content-Type": "text/csv"},
        )

    first = send()
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["accepted"], report["duplicate"], report["rejected"]) == (3, 0, 1)
    outcomes = {r["record_id"]: r for r in report["rows"]}
    assert [outcomes[f"P-{n}"]["row"] for n in range(1, 5)] == [2, 3, 4, 5]
    assert outcomes["P-1"]["recipient_id"] == outcomes["P-2"]["recipient_id"]
    assert "birth_date" in outcomes["P-4"]["errors"]
    second_dose = admin.get(f"/administrations/{outcomes['P-2']['administration_id']}").json()
    assert (second_dose["dose_number"], second_dose["site"]) == (2, "RD")
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 17, what="3 doses taken")

    again = send()
    assert again.status_code == 201
    assert (again.json()["accepted"], again.json()["duplicate"], again.json()["rejected"]) == (
        0,
        3,
        1,
    )
    assert [r["administration_id"] for r in again.json()["rows"][:3]] == [
        outcomes[f"P-{n}"]["administration_id"] for n in range(1, 4)
    ]
    # Inventory took each dose once: the second import published nothing.
    assert administered_entries(inventory_db, lot["id"]) == 3
    assert admin.doses_on_hand(location, lot["id"]) == 17

    csv_report = admin.get(
        f"/locations/{location}/administration-imports/{report['import_id']}/report.csv"
    )
    lines = list(csv.DictReader(io.StringIO(csv_report.text)))
    assert [line["status"] for line in lines] == ["accepted", "accepted", "accepted", "rejected"]
    assert lines[3]["errors"].startswith("birth_date:")


def test_a_file_that_is_not_the_template_is_400(admin, location):
    response = admin.post(
        f"/locations/{location}/administration-imports",
        data=b"name,shoe_size\nAna,38\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 400
    assert "header" in response.json()["fields"]


# The columns a filled file must have, in the template's order.
REQUIRED = ["record_id", "given_name", "family_name", "birth_date", "administered_at", "lot_number"]


def write_required_columns(path: Path, rows: list[list[str]]) -> Path:
    """A filled file of the required columns only, a dose a row."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REQUIRED)
        writer.writerows(rows)
    return path


def cvms_import(cluster, path: Path, location: str, report: Path, **options) -> dict:
    """`cvms import` of `path` as the state admin, quietly: its totals."""
    username, password = STATE_ADMIN
    return importer.run(
        path,
        location,
        url=cluster.gateway_url,
        username=username,
        password=password,
        report=report,
        quiet=True,
        **options,
    )


def test_cvms_import_sends_the_file_in_parts_and_writes_the_report(
    cluster, admin, location, tmp_path, inventory_db
):
    lot = admin.receive_lot(location, doses=100)
    family = f"Cli-{uuid.uuid4().hex[:6]}"
    rows = [
        [f"C-{n}", f"Person{n}", family, "1990-01-01", "2026-01-12", lot["lot_number"]]
        for n in range(25)
    ]
    path = write_required_columns(tmp_path / "filled.csv", rows)
    report = tmp_path / "report.csv"

    totals = cvms_import(cluster, path, location, report, part_rows=10)

    assert (totals["accepted"], totals["duplicate"], totals["rejected"]) == (25, 0, 0)
    lines = list(csv.DictReader(report.open()))
    assert [line["row"] for line in lines] == [str(n) for n in range(2, 27)]
    assert {line["status"] for line in lines} == {"accepted"}
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 75, what="25 doses taken")
    again = cvms_import(cluster, path, location, report, part_rows=10)
    assert again["duplicate"] == 25
    assert administered_entries(inventory_db, lot["id"]) == 25


def test_a_person_without_contact_details_in_parts_sent_at_once_is_registered_once(
    cluster, admin, location, tmp_path
):
    lot = admin.receive_lot(location, doses=20)
    family = f"Nocontact-{uuid.uuid4().hex[:6]}"
    # One person, one row per part, the parts four at a time: no phone, no e-mail, so
    # only being rows of one import makes them one person.
    rows = [
        [f"N-{n}", "Zoe", family, "1985-05-05", f"2025-{n + 1:02d}-15", lot["lot_number"]]
        for n in range(8)
    ]
    path = write_required_columns(tmp_path / "filled.csv", rows)

    totals = cvms_import(
        cluster, path, location, tmp_path / "report.csv", part_rows=1, concurrency=4
    )

    assert totals["accepted"] == 8
    lines = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert len({line["recipient_id"] for line in lines}) == 1
