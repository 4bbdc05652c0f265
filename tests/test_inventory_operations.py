"""Inventory operations through the whole system: wastage, quarantine after a temperature
excursion (a dose from a quarantined lot is kept for review), and release."""

from __future__ import annotations

import uuid

from tests.conftest import receive_lot
from tests.harness import wait_until


def lot_in_inventory(user, location: str, lot_id: str) -> dict:
    response = user.get(f"/locations/{location}/inventory")
    assert response.status_code == 200, response.text
    return next(lot for lot in response.json()["lots"] if lot["id"] == lot_id)


def test_wastage_reduces_stock_at_once_and_is_refused_beyond_stock(admin, location):
    lot = admin.receive_lot(location, doses=10)
    assert admin.doses_on_hand(location, lot["id"]) == 10  # now cached by the gateway
    wastage = f"/locations/{location}/lots/{lot['id']}/wastage"

    response = admin.post(wastage, json={"doses": 3, "reason": "broken_vial", "note": "Dropped."})

    assert response.status_code == 201, response.text
    entry = response.json()
    assert (entry["reason"], entry["wastage_reason"]) == ("wasted", "broken_vial")
    assert (entry["delta"], entry["balance_after"]) == (-3, 7)
    # The write dropped the cached answer: the very next read sees the new stock.
    assert admin.doses_on_hand(location, lot["id"]) == 7

    refused = admin.post(wastage, json={"doses": 8, "reason": "expired"})

    assert refused.status_code == 422, refused.text
    assert list(refused.json()["fields"]) == ["doses"]
    assert admin.doses_on_hand(location, lot["id"]) == 7

    corrected = admin.post(
        f"/locations/{location}/lots/{lot['id']}/corrections",
        json={"delta": -7, "note": "Counted: none left."},
    )
    assert corrected.status_code == 201, corrected.text
    assert admin.doses_on_hand(location, lot["id"]) == 0
    ledger = admin.get(f"/locations/{location}/lots/{lot['id']}/ledger?limit=2")
    assert ledger.status_code == 200, ledger.text
    page = ledger.json()
    assert [(e["reason"], e["balance_after"]) for e in page["entries"]] == [
        ("correction", 0),
        ("wasted", 7),
    ]
    older = admin.get(
        f"/locations/{location}/lots/{lot['id']}/ledger?before={page['next_before']}"
    ).json()
    assert [(e["reason"], e["balance_after"]) for e in older["entries"]] == [("received", 10)]
    assert older["next_before"] is None


def test_an_excursion_quarantines_the_unit_and_a_dose_from_it_is_kept_for_review(admin, location):
    unit = f"freezer-{uuid.uuid4().hex[:6]}"
    lot = receive_lot(admin, location, 5, storage_unit=unit)
    elsewhere = receive_lot(admin, location, 5, storage_unit="fridge-1")
    assert lot_in_inventory(admin, location, lot["id"])["status"] == "usable"

    response = admin.post(
        f"/locations/{location}/storage-units/{unit}/excursions",
        json={"observed_at": "2026-01-10T03:15:00Z", "max_c": 15.5, "note": "Power cut."},
    )

    assert response.status_code == 201, response.text
    assert [q["id"] for q in response.json()["quarantined_lots"]] == [lot["id"]]
    assert lot_in_inventory(admin, location, lot["id"])["status"] == "quarantined"
    assert lot_in_inventory(admin, location, elsewhere["id"])["status"] == "usable"

    recipient = admin.register_recipient()
    dose = admin.administer(location, lot["id"], recipient["id"])
    assert dose.status_code == 201, dose.text

    def quarantined_discrepancies():
        found = admin.get(f"/locations/{location}/discrepancies").json()
        return [d for d in found if d["reason"] == "quarantined_lot"]

    [discrepancy] = wait_until(quarantined_discrepancies, what="the quarantined-lot discrepancy")
    assert discrepancy["lot_id"] == lot["id"]
    assert discrepancy["administration_id"] == dose.json()["id"]
    # The dose was given, so it left stock all the same.
    wait_until(
        lambda: admin.doses_on_hand(location, lot["id"]) == 4, what="the dose taken from stock"
    )

    released = admin.post(
        f"/locations/{location}/lots/{lot['id']}/release", json={"note": "Maker: stable."}
    )

    assert released.status_code == 200, released.text
    assert released.json()["status"] == "usable"
    assert lot_in_inventory(admin, location, lot["id"])["status"] == "usable"
    again = admin.post(f"/locations/{location}/lots/{lot['id']}/release", json={"note": "Again."})
    assert again.status_code == 409, again.text


def test_operations_on_a_lot_of_another_location_are_404(admin, location):
    lot = admin.receive_lot(location, doses=5)
    other = "demo-clinic"

    wasted = admin.post(
        f"/locations/{other}/lots/{lot['id']}/wastage", json={"doses": 1, "reason": "expired"}
    )
    ledger = admin.get(f"/locations/{other}/lots/{lot['id']}/ledger")

    assert (wasted.status_code, ledger.status_code) == (404, 404)
    assert admin.doses_on_hand(location, lot["id"]) == 5
