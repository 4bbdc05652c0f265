"""Inventory after the first flow, through the whole system: voided and corrected doses put
stock right, transfers between locations, stock thresholds and days of supply, catalog edits,
and the offline Inventory Levels form (PDF, CSV template, import twice)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

from pypdf import PdfReader
from sqlalchemy import text

from tests.conftest import DEMO_LOCATION, wait_for_stock
from tests.harness import wait_until

GRAY = "pfizer-gray-12plus"


def give(user, location: str, lot_id: str) -> dict:
    recipient = user.register_recipient()
    response = user.administer(
        location, lot_id, recipient["id"], administered_at=datetime.now(UTC).isoformat()
    )
    assert response.status_code == 201, response.text
    return response.json()


def ledger_of(inventory_db, location: str) -> list[tuple]:
    with inventory_db.connect() as db:
        rows = db.execute(
            text(
                "SELECT lot_id, reason, delta, coalesce(wastage_reason, '') FROM ledger_entries "
                "WHERE location_id = :location ORDER BY lot_id, reason, delta"
            ),
            {"location": location},
        ).all()
    return [tuple(row) for row in rows]


# -- voids and corrections ------------------------------------------------------------------------
def test_a_voided_dose_goes_back_to_its_lot(admin, location, inventory_db):
    lot = admin.receive_lot(location, doses=10)
    dose = give(admin, location, lot["id"])
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 9, what="the dose taken")

    voided = admin.post(
        f"/administrations/{dose['id']}/void",
        json={"id": str(uuid.uuid4()), "reason": "Recorded for the wrong person."},
    )
    assert voided.status_code == 201, voided.text

    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 10, what="the dose put back")
    ledger = admin.get(f"/locations/{location}/lots/{lot['id']}/ledger").json()["entries"]
    assert [(e["reason"], e["delta"], e["balance_after"]) for e in ledger] == [
        ("administration_voided", 1, 10),
        ("administered", -1, 9),
        ("received", 10, 10),
    ]


def test_a_dose_corrected_to_another_lot_moves_between_the_lots(admin, location):
    wrong = admin.receive_lot(location, doses=10)
    right = admin.receive_lot(location, doses=10)
    dose = give(admin, location, wrong["id"])
    wait_until(lambda: admin.doses_on_hand(location, wrong["id"]) == 9, what="the dose taken")

    corrected = admin.post(
        f"/administrations/{dose['id']}/corrections",
        json={"id": str(uuid.uuid4()), "lot_id": right["id"], "reason": "Wrong lot scanned."},
    )
    assert corrected.status_code == 201, corrected.text

    wait_for_stock(
        admin,
        location,
        {wrong["id"]: 10, right["id"]: 9},
        what="the dose moved to the corrected lot",
    )


def test_voiding_a_dose_recorded_without_stock_settles_its_discrepancy(admin, location):
    lot = admin.receive_lot(location, doses=1)
    give(admin, location, lot["id"])
    extra = give(admin, location, lot["id"])

    def open_discrepancies():
        return admin.get(f"/locations/{location}/discrepancies").json()

    wait_until(lambda: len(open_discrepancies()) == 1, what="the dose without stock")
    admin.post(
        f"/administrations/{extra['id']}/void",
        json={"id": str(uuid.uuid4()), "reason": "Never given: entered twice."},
    )

    wait_until(lambda: open_discrepancies() == [], what="the discrepancy settled")
    assert admin.doses_on_hand(location, lot["id"]) == 0


# -- transfers ------------------------------------------------------------------------------------
def test_a_transfer_moves_doses_to_another_location_once(admin, location):
    lot = admin.receive_lot(location, doses=20)
    transfer = {
        "transfer_id": f"TR-{uuid.uuid4().hex[:8]}",
        "to_location_id": DEMO_LOCATION,
        "doses": 8,
        "note": "Demo clinic ran short.",
    }
    path = f"/locations/{location}/lots/{lot['id']}/transfers"

    first = admin.post(path, json=transfer)
    again = admin.post(path, json=transfer)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["to_lot_id"] == first.json()["to_lot_id"]
    assert admin.doses_on_hand(location, lot["id"]) == 12
    assert admin.doses_on_hand(DEMO_LOCATION, first.json()["to_lot_id"]) == 8
    there = admin.get(f"/locations/{DEMO_LOCATION}/inventory").json()["lots"]
    [copy] = [lot_ for lot_ in there if lot_["id"] == first.json()["to_lot_id"]]
    assert (copy["lot_number"], copy["expiration_date"]) == (
        lot["lot_number"],
        "2030-12-31",
    )

    too_many = admin.post(path, json={**transfer, "transfer_id": "TR-MORE", "doses": 13})
    assert too_many.status_code == 422, too_many.text
    nowhere = admin.post(path, json={**transfer, "transfer_id": "TR-X", "to_location_id": "nope"})
    assert nowhere.status_code == 422
    assert list(nowhere.json()["fields"]) == ["to_location_id"]

    # Doses can be given from the transferred lot at its new location.
    give(admin, DEMO_LOCATION, first.json()["to_lot_id"])
    wait_until(
        lambda: admin.doses_on_hand(DEMO_LOCATION, first.json()["to_lot_id"]) == 7,
        what="a dose from the transferred lot",
    )


def test_a_manager_may_not_transfer_from_a_location_not_theirs(manager, admin, location):
    lot = admin.receive_lot(location, doses=5)
    response = manager.post(
        f"/locations/{location}/lots/{lot['id']}/transfers",
        json={"transfer_id": "TR-NOPE", "to_location_id": "demo-clinic", "doses": 1},
    )

    assert response.status_code == 403


# -- days of supply -------------------------------------------------------------------------------
def test_a_manager_sets_the_threshold_and_reads_the_days_of_supply(manager):
    response = manager.request(
        "PUT", "/locations/demo-clinic/stock-threshold", json={"threshold_days": 10}
    )
    assert response.status_code == 200, response.text

    supply = manager.get("/locations/demo-clinic/stock-supply").json()

    assert supply["threshold_days"] == 10
    assert all("days_of_supply" in product for product in supply["products"])


# -- the catalog ----------------------------------------------------------------------------------
def test_a_state_admin_edits_a_product_and_new_vials_follow_it(admin, location):
    product = "novavax-12plus"
    edited = admin.request("PATCH", f"/products/{product}", json={"doses_per_vial": 4})
    assert edited.status_code == 200, edited.text
    assert edited.json()["doses_per_vial"] == 4
    listed = {p["id"]: p for p in admin.get("/products").json()}
    assert listed[product]["doses_per_vial"] == 4

    lot = admin.receive_lot(location, doses=20, product_id=product)
    give(admin, location, lot["id"])

    def vials():
        return admin.get(f"/locations/{location}/open-vials").json()

    [vial] = wait_until(vials, what="a vial opened")
    assert vial["doses_left"] == 3


def test_only_a_state_admin_edits_the_catalog(manager):
    response = manager.request("PATCH", f"/products/{GRAY}", json={"beyond_use_hours": 1})

    assert response.status_code == 403


# -- the offline Inventory Levels form ------------------------------------------------------------
def test_the_form_is_printed_filled_and_imported_once(admin, location, inventory_db):
    lot = admin.receive_lot(location, doses=20)
    today = date.today().isoformat()
    pdf = admin.get(f"/locations/{location}/inventory-levels/form.pdf?to={today}")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["Content-Type"] == "application/pdf"
    printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert lot["lot_number"] in printed

    template = admin.get(f"/locations/{location}/inventory-levels/form.csv")
    assert template.status_code == 200, template.text
    reader = csv.DictReader(io.StringIO(template.text))
    rows = list(reader)
    [row] = [r for r in rows if r["lot_id"] == lot["id"]]
    row.update(waste_doses="2", waste_reason="broken_vial", counted_on_hand="15")
    rows[-1].update(
        product_id="moderna-red-18plus",
        lot_number="FORM-NEW",
        expiration_date="2031-01-31",
        receive_doses="10",
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path = f"/locations/{location}/inventory-levels/form.csv"
    headers = {"Content-Type": "text/csv"}

    first = admin.post(path, data=out.getvalue(), headers=headers)
    ledger_after_first = ledger_of(inventory_db, location)
    second = admin.post(path, data=out.getvalue(), headers={**headers, "Accept": "text/csv"})

    assert first.status_code == 200, first.text
    assert (first.json()["recorded"], first.json()["rejected"]) == (2, 0)
    assert ledger_of(inventory_db, location) == ledger_after_first
    assert second.headers["Content-Type"].startswith("text/csv")
    statuses = [line["status"] for line in csv.DictReader(io.StringIO(second.text))]
    assert statuses.count("duplicate") == 2 and "recorded" not in statuses
    assert admin.doses_on_hand(location, lot["id"]) == 15
    assert (lot["id"], "wasted", -2, "broken_vial") in ledger_after_first
    assert (lot["id"], "correction", -3, "") in ledger_after_first
