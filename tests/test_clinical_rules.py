"""Clinical checks and the FHIR export through the whole stack: gateway, RPC, administration, and
the product facts administration learns from inventory's catalog over RPC."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fhir.resources.bundle import Bundle

from tests.conftest import DEMO_LOCATION, receive_lot
from tests.harness import wait_until


def register(api, birth_date: str, **form) -> dict:
    response = api.post(
        "/recipients",
        json={
            "given_name": "Test",
            "family_name": f"Recipient-{uuid.uuid4().hex[:6]}",
            "birth_date": birth_date,
            **form,
        },
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_a_recipient_too_young_is_422_unless_a_manager_overrides(manager, vaccinator):
    lot = manager.receive_lot(DEMO_LOCATION, doses=10)
    # Eleven on the dose's date (2026-01-15); the gray-cap product is for 12 and up.
    child = register(vaccinator, "2014-06-01")

    refused = vaccinator.administer(DEMO_LOCATION, lot["id"], child["id"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "rule_violated"
    assert "12 and up" in refused.json()["fields"]["recipient_id"][0]

    override = {"reason": "Outbreak protocol, approved by the medical director."}
    not_allowed = vaccinator.administer(DEMO_LOCATION, lot["id"], child["id"], override=override)
    assert not_allowed.status_code == 422
    assert set(not_allowed.json()["fields"]) == {"recipient_id", "override"}

    allowed = manager.administer(DEMO_LOCATION, lot["id"], child["id"], override=override)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["overridden_rules"] == ["min_age"]
    assert allowed.json()["override_reason"] == override["reason"]


def test_registration_matches_a_duplicate_and_the_fhir_bundle_validates(manager, vaccinator):
    lot = manager.receive_lot(DEMO_LOCATION, doses=10)
    form = {
        "sex": "M",
        "phone": "217-555-0199",
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "preferred_language": "es",
        "address": {
            "line1": "1 Main St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
        "contact_preferences": {"sms": True},
    }
    first = register(vaccinator, "1980-02-29", **form)
    again = vaccinator.post(
        "/recipients",
        json={
            "given_name": " TEST ",
            "family_name": first["family_name"].lower(),
            "birth_date": "1980-02-29",
            "phone": "(217) 555 0199",
        },
    )
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["matched"]) == (first["id"], True)

    dose = vaccinator.administer(DEMO_LOCATION, lot["id"], first["id"])
    assert dose.status_code == 201, dose.text

    response = vaccinator.get(f"/recipients/{first['id']}/fhir")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.parse_obj(response.json())
    patient, immunization = (entry.resource for entry in bundle.entry)
    assert patient.birthDate == date(1980, 2, 29)
    assert patient.gender == "male"
    assert immunization.vaccineCode.coding[0].code == "217"  # from inventory's catalog
    assert immunization.manufacturer.identifier.value == "PFR"
    assert immunization.lotNumber == lot["lot_number"]
    assert immunization.expirationDate == date(2030, 12, 31)
    assert immunization.performer[0].actor.display == DEMO_LOCATION
    assert immunization.protocolApplied[0].doseNumberPositiveInt == 1


def test_a_dose_from_a_quarantined_lot_is_422_until_the_lot_is_released(admin, location):
    unit = f"fridge-{uuid.uuid4().hex[:6]}"
    lot = receive_lot(admin, location, 20, storage_unit=unit)
    excursion = admin.post(
        f"/locations/{location}/storage-units/{unit}/excursions",
        json={"observed_at": datetime.now(UTC).isoformat(), "max_c": 14.0, "note": "Door ajar."},
    )
    assert excursion.status_code == 201, excursion.text

    def dose_now(**overrides):
        # A new recipient each time: a dose recorded while waiting leaves no interval to break.
        recipient = admin.register_recipient()
        given_at = datetime.now(UTC).isoformat()
        return admin.administer(
            location, lot["id"], recipient["id"], administered_at=given_at, **overrides
        )

    def answered(status: int) -> dict | None:
        """A dose now: the answer if it has `status`; None if it has the other of 201 and 422."""
        response = dose_now()
        if response.status_code == status:
            return response.json()
        assert response.status_code == ({201, 422} - {status}).pop(), response.text
        return None

    # Administration learns of the quarantine from inventory's lot_quarantined event.
    refused = wait_until(lambda: answered(422), what="a dose refused as quarantined")
    assert refused["error"] == "rule_violated"
    assert list(refused["fields"]) == ["lot_id"]
    assert "quarantined since" in refused["fields"]["lot_id"][0]

    override = {"reason": "Manufacturer confirmed the doses are within stability data."}
    overridden = dose_now(override=override)
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["overridden_rules"] == ["quarantined_lot"]

    released = admin.post(
        f"/locations/{location}/lots/{lot['id']}/release", json={"note": "Maker: stable."}
    )
    assert released.status_code == 200, released.text

    # And of the release from lot_released.
    dose = wait_until(lambda: answered(201), what="a dose from the released lot")
    assert dose["overridden_rules"] is None
