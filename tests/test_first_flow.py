"""The first flow through the whole system: a lot received, a dose given, stock down by one."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.conftest import DEMO_LOCATION
from tests.harness import wait_until


def test_catalog_names_products_with_cap_colors_and_codes(manager):
    response = manager.get("/products")
    assert response.status_code == 200
    products = {p["id"]: p for p in response.json()}
    gray = products["pfizer-gray-12plus"]
    assert gray["name"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    assert (gray["cvx_code"], gray["mvx_code"], gray["doses_per_vial"]) == ("217", "PFR", 6)
    assert gray["ndc_unit_of_sale"] == "59267-1025-4"
    assert {"moderna-red-18plus", "novavax-12plus", "janssen-18plus"} <= set(products)


def test_lot_received_then_dose_given_takes_exactly_one_dose(manager, vaccinator, inventory_db):
    lot = manager.receive_lot(DEMO_LOCATION, doses=60)
    assert lot["doses_on_hand"] == 60
    assert lot["product_name"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    recipient = vaccinator.register_recipient()

    request_id = f"flow-{uuid.uuid4().hex}"
    response = vaccinator.administer(
        DEMO_LOCATION, lot["id"], recipient["id"], headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == request_id
    dose = response.json()
    assert (dose["lot_number"], dose["product_id"], dose["dose_number"]) == (
        lot["lot_number"],
        "pfizer-gray-12plus",
        1,
    )
    assert dose["recorded_by"] == "clinic.vaccinator"

    wait_until(
        lambda: manager.doses_on_hand(DEMO_LOCATION, lot["id"]) == 59,
        what="inventory to take the dose",
    )
    # The request id travelled through RPC, the outbox and the event into inventory's ledger.
    with inventory_db.connect() as db:
        entries = db.execute(
            text(
                "SELECT reason, delta, balance_after, correlation_id FROM ledger_entries "
                "WHERE lot_id = :lot ORDER BY recorded_at"
            ),
            {"lot": lot["id"]},
        ).all()
    assert [(e.reason, e.delta, e.balance_after) for e in entries] == [
        ("received", 60, 60),
        ("administered", -1, 59),
    ]
    assert entries[1].correlation_id == request_id


def test_same_shipment_received_twice_is_recorded_once(admin, location):
    body = {
        "shipment_id": "SHP-TWICE",
        "product_id": "moderna-red-18plus",
        "lot_number": "MOD-042",
        "expiration_date": "2030-01-31",
        "doses": 100,
    }
    first = admin.post(f"/locations/{location}/lots", json=body)
    second = admin.post(f"/locations/{location}/lots", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    inventory = admin.get(f"/locations/{location}/inventory").json()
    assert inventory["total_doses_on_hand"] == 100
    assert len(inventory["lots"]) == 1


def test_resubmitted_dose_record_is_recorded_and_taken_once(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    record_id = str(uuid.uuid4())
    responses = [
        admin.administer(location, lot["id"], recipient["id"], id=record_id) for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [201, 200, 200]
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 9, what="one dose taken")
    # Nothing further arrives: the retried submissions published no further events.
    assert admin.get(f"/administrations/{record_id}").json()["id"] == record_id
    assert admin.doses_on_hand(location, lot["id"]) == 9


def test_a_second_dose_numbers_itself_from_the_recipients_history(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    first = admin.administer(location, lot["id"], recipient["id"])
    second = admin.administer(
        location, lot["id"], recipient["id"], administered_at="2026-02-10T09:00:00Z"
    )
    assert (first.json()["dose_number"], second.json()["dose_number"]) == (1, 2)
