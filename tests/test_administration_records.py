"""A dose's record through the whole system: how it was given, the lot inventory chooses for a
product, and corrections and voids that keep history and move stock back or across."""

from __future__ import annotations

import uuid

from fhir.resources.bundle import Bundle

from tests.harness import wait_until

REASON = "Entered against the wrong vial."


def receive(api, location: str, doses: int, expiration_date: str, product_id="pfizer-gray-12plus"):
    response = api.post(
        f"/locations/{location}/lots",
        json={
            "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
            "product_id": product_id,
            "lot_number": f"LOT-{uuid.uuid4().hex[:6].upper()}",
            "expiration_date": expiration_date,
            "doses": doses,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


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
    later = receive(admin, location, 10, "2031-06-30")
    sooner = receive(admin, location, 10, "2030-03-31")
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
    wait_until(
        lambda: (
            (
                admin.doses_on_hand(location, first["id"]),
                admin.doses_on_hand(location, second["id"]),
            )
            == (10, 9)
        ),
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
