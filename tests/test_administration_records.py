"""A dose's record through the whole system: how it was given, the lot inventory chooses for a
product, and corrections and voids that keep history and move stock back or across."""

from __future__ import annotations

import uuid

from fhir.resources.bundle import Bundle

from tests.conftest import receive_lot, wait_for_stock
from tests.harness import metric, wait_until

REASON = "Entered against the wrong vial."


def test_site_route_volume_and_vaccinator_are_recorded_and_exported(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    response = admin.administer(
        location,
        lot["id"],
        recipient["id"],
        site="LD",
        route="IM",
        dose_volume_ml=0.3,
        performer_name="Pat Nurse",
    )
    assert response.status_code == 201, response.text
    dose = response.json()
    assert (dose["site"], dose["route"], dose["dose_volume_ml"]) == ("LD", "IM", 0.3)
    assert dose["recorded_by"] == "state.admin"
    assert dose["recorded_by_user_id"]
    assert (dose["performer_name"], dose["status"], dose["history"]) == (
        "Pat Nurse",
        "completed",
        [],
    )

    bundle = Bundle.parse_obj(admin.get(f"/recipients/{recipient['id']}/fhir").json())
    immunization = bundle.entry[1].resource
    assert immunization.site.coding[0].code == "LD"
    assert immunization.route.coding[0].code == "IM"
    assert float(immunization.doseQuantity.value) == 0.3
    assert immunization.performer[1].actor.display == "Pat Nurse"


def test_an_unknown_site_is_a_400_on_that_field(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    response = admin.administer(location, lot["id"], recipient["id"], site="elbow")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"site"}


def test_a_dose_naming_only_its_product_comes_from_the_lot_expiring_first(admin, location):
    later = receive_lot(admin, location, 10, expiration_date="2031-06-30")
    sooner = receive_lot(admin, location, 10, expiration_date="2030-03-31")
    recipient = admin.register_recipient()

    response = admin.administer(location, None, recipient["id"], product_id="pfizer-gray-12plus")

    assert response.status_code == 201, response.text
    assert response.json()["lot_id"] == sooner["id"]
    wait_until(lambda: admin.doses_on_hand(location, sooner["id"]) == 9, what="dose taken")
    assert admin.doses_on_hand(location, later["id"]) == 10


def test_a_product_with_no_usable_lot_is_422_on_product_id(admin, location):
    admin.receive_lot(location, doses=10)  # gray cap only
    recipient = admin.register_recipient()
    response = admin.administer(location, None, recipient["id"], product_id="moderna-red-18plus")
    assert response.status_code == 422, response.text
    assert list(response.json()["fields"]) == ["product_id"]


def test_correcting_the_lot_moves_the_dose_and_keeps_history(admin, location):
    first = admin.receive_lot(location, doses=10)
    second = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    dose = admin.administer(location, first["id"], recipient["id"], site="LD").json()
    wait_until(lambda: admin.doses_on_hand(location, first["id"]) == 9, what="dose taken")

    correction = {"id": str(uuid.uuid4()), "lot_id": second["id"], "site": "RD", "reason": REASON}
    response = admin.post(f"/administrations/{dose['id']}/corrections", json=correction)
    assert response.status_code == 201, response.text
    again = admin.post(f"/administrations/{dose['id']}/corrections", json=correction)
    assert again.status_code == 200

    corrected = admin.get(f"/administrations/{dose['id']}").json()
    assert (corrected["lot_id"], corrected["site"]) == (second["id"], "RD")
    [change] = corrected["history"]
    assert (change["action"], change["reason"], change["changed_by"]) == (
        "corrected",
        REASON,
        "state.admin",
    )
    assert (change["before"]["lot_id"], change["after"]["lot_id"]) == (first["id"], second["id"])
    wait_for_stock(
        admin,
        location,
        {first["id"]: 10, second["id"]: 9},
        what="inventory to move the dose to the corrected lot",
    )


def test_a_voided_dose_goes_back_to_stock_and_no_longer_counts(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    dose = admin.administer(location, lot["id"], recipient["id"]).json()
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 9, what="dose taken")

    response = admin.post(f"/administrations/{dose['id']}/void", json={"reason": REASON})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "voided"
    assert (
        admin.post(f"/administrations/{dose['id']}/void", json={"reason": REASON}).status_code
        == 409
    )
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 10, what="dose put back")

    # The same day again: the voided dose is neither dose 1 nor an interval to respect.
    again = admin.administer(location, lot["id"], recipient["id"])
    assert again.status_code == 201, again.text
    assert again.json()["dose_number"] == 1


def test_only_managers_of_the_doses_location_correct_or_void(admin, manager, vaccinator, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    dose = admin.administer(location, lot["id"], recipient["id"]).json()
    void = {"reason": REASON}
    # The demo manager acts for demo-clinic only; vaccinators never correct or void.
    assert manager.post(f"/administrations/{dose['id']}/void", json=void).status_code == 403
    assert vaccinator.post(f"/administrations/{dose['id']}/void", json=void).status_code == 403
    correction = {"site": "RD", "reason": REASON}
    assert (
        vaccinator.post(f"/administrations/{dose['id']}/corrections", json=correction).status_code
        == 403
    )
    assert admin.get(f"/administrations/{dose['id']}").json()["history"] == []


def test_a_correction_is_checked_as_a_new_dose_and_overridden_with_a_reason(admin, location):
    lot = admin.receive_lot(location, doses=10)
    recipient = admin.register_recipient()
    first = admin.administer(
        location, lot["id"], recipient["id"], administered_at="2026-01-15T10:00Z"
    )
    second = admin.administer(
        location, lot["id"], recipient["id"], administered_at="2026-02-10T10:00Z"
    )
    assert (first.status_code, second.status_code) == (201, 201), second.text
    corrections = f"/administrations/{second.json()['id']}/corrections"

    # 10 days after the first dose: Pfizer needs 21 (17 with the grace period).
    too_soon = {"administered_at": "2026-01-25T10:00Z", "reason": REASON}
    response = admin.post(corrections, json=too_soon)
    assert response.status_code == 422, response.text
    assert list(response.json()["fields"]) == ["administered_at"]
    response = admin.post(corrections, json={"dose_number": 3, "reason": REASON})
    assert response.status_code == 422, response.text
    assert list(response.json()["fields"]) == ["dose_number"]
    assert admin.get(f"/administrations/{second.json()['id']}").json()["history"] == []

    overridden = {**too_soon, "override": {"reason": "Outbreak protocol, physician's order."}}
    response = admin.post(corrections, json=overridden)
    assert response.status_code == 201, response.text
    corrected = response.json()
    assert corrected["overridden_rules"] == ["min_interval"]
    assert corrected["override_reason"] == "Outbreak protocol, physician's order."
    [change] = corrected["history"]
    assert change["after"]["administered_at"].startswith("2026-01-25T10:00")


def test_a_catalog_edit_reaches_the_dose_checks_at_once(admin, location, cluster):
    product = "janssen-18plus"
    lot = admin.receive_lot(location, doses=10, product_id=product)
    # A dose first, so that administration's copy of the catalog is fresh: only the
    # product_updated event can bring the edit before it is 10 minutes old.
    given = admin.administer(location, lot["id"], admin.register_recipient()["id"])
    assert given.status_code == 201, given.text

    def applied() -> float:
        return metric(
            cluster.metrics("administration"),
            "cvms_events_consumed_total",
            event_type="product_updated",
            outcome="applied",
        )

    before = applied()
    edited = admin.request("PATCH", f"/products/{product}", json={"min_age_years": 60})
    assert edited.status_code == 200, edited.text
    try:
        wait_until(lambda: applied() > before, what="administration to apply product_updated")
        # Born in 1970: 55 on the day of the dose, younger than the product now allows.
        refused = admin.administer(location, lot["id"], admin.register_recipient()["id"])
        assert refused.status_code == 422, refused.text
        assert "60 and up" in refused.json()["fields"]["recipient_id"][0]
    finally:
        restored = admin.request("PATCH", f"/products/{product}", json={"min_age_years": 18})
        assert restored.status_code == 200, restored.text
        wait_until(lambda: applied() > before + 1, what="the catalog restored in administration")
