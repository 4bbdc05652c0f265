"""The FHIR R4 export, parsed and validated by fhir.resources (an independent implementation;
6.1.0 models FHIR 4.0.1, i.e. R4)."""

import uuid

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.immunization import Immunization
from fhir.resources.patient import Patient
from pydantic import ValidationError

from cvms_platform.errors import NotFound

from .conftest import ADDRESS, registration_form

CVX = "http://hl7.org/fhir/sid/cvx"


def test_fhir_resources_models_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


@pytest.fixture
def registered(service) -> dict:
    """A recipient with no second address line."""
    form = registration_form(address=ADDRESS, phone="217-555-0134")
    return service.register_recipient(form)["recipient"]


def parse(answer: dict) -> Bundle:
    return Bundle.parse_obj(answer)


def test_a_recipient_without_doses_is_a_bundle_with_their_patient(service, registered):
    bundle = parse(service.recipient_fhir_bundle(registered["id"]))

    assert bundle.type == "collection"
    [entry] = bundle.entry
    patient = entry.resource
    assert isinstance(patient, Patient)
    assert entry.fullUrl == f"urn:uuid:{registered['id']}"
    assert (patient.name[0].family, patient.name[0].given) == ("Lovelace", ["Ada"])
    assert patient.birthDate.isoformat() == "1990-12-10"
    assert patient.gender == "female"
    [address] = patient.address
    assert (address.line, address.city, address.state, address.postalCode) == (
        ["12 Analytical Way"],
        "Springfield",
        "IL",
        "62701",
    )
    assert {(t.system, t.value) for t in patient.telecom} == {
        ("phone", "217-555-0134"),
        ("email", "ada@example.org"),
    }
    [language] = patient.communication
    assert language.language.coding[0].code == "es"
    assert language.preferred is True


def test_each_dose_is_an_immunization_with_registry_fields(service, registered, lot, make_dose):
    first = make_dose(registered, lot, days_ago=30)
    second = make_dose(registered, lot)
    service.record_administration(first, "nurse-1")
    service.record_administration(second, "nurse-1")

    bundle = parse(service.recipient_fhir_bundle(registered["id"]))

    patient_entry, *dose_entries = bundle.entry
    immunizations = [entry.resource for entry in dose_entries]
    assert all(isinstance(i, Immunization) for i in immunizations)
    assert [i.id for i in immunizations] == [first["id"], second["id"]]
    assert [i.protocolApplied[0].doseNumberPositiveInt for i in immunizations] == [1, 2]
    immunization = immunizations[1]
    assert immunization.status == "completed"
    [coding] = immunization.vaccineCode.coding
    assert (coding.system, coding.code) == (CVX, "217")
    assert immunization.patient.reference == patient_entry.fullUrl
    assert immunization.occurrenceDateTime.isoformat() == second["administered_at"]
    assert immunization.lotNumber == "FK5127"
    assert immunization.expirationDate.isoformat() == lot["expiration_date"]
    assert immunization.manufacturer.display == "Pfizer, Inc"
    assert immunization.manufacturer.identifier.value == "PFR"
    quantity = immunization.doseQuantity
    assert (float(quantity.value), quantity.unit, quantity.system, quantity.code) == (
        0.3,
        "mL",
        "http://unitsofmeasure.org",
        "mL",
    )
    organization, practitioner = immunization.performer
    assert (organization.actor.type, organization.actor.display) == ("Organization", "clinic-1")
    assert (practitioner.actor.type, practitioner.actor.display) == ("Practitioner", "nurse-1")
    assert practitioner.function.coding[0].code == "AP"
    # Site and route were not recorded for these doses: left out, not made up.
    assert immunization.site is None and immunization.route is None


def test_site_route_volume_and_performer_are_exported_as_recorded(
    service, registered, lot, make_dose
):
    given = make_dose(
        registered, lot, site="LD", route="IM", dose_volume_ml=0.25, performer_name="Pat Nurse"
    )
    service.record_administration(given, "nurse-1")

    [_, entry] = parse(service.recipient_fhir_bundle(registered["id"])).entry
    immunization = entry.resource
    assert (immunization.site.coding[0].system, immunization.site.coding[0].code) == (
        "http://terminology.hl7.org/CodeSystem/v2-0163",
        "LD",
    )
    assert immunization.site.text == "Left Deltoid"
    assert immunization.route.coding[0].code == "IM"
    assert immunization.route.text == "Intramuscular"
    assert float(immunization.doseQuantity.value) == 0.25
    assert immunization.performer[1].actor.display == "Pat Nurse"


def test_a_voided_dose_is_exported_as_entered_in_error(service, registered, lot, make_dose):
    given = make_dose(registered, lot)
    service.record_administration(given, "nurse-1")
    service.void_administration(given["id"], {"reason": "Recorded for the wrong person."}, "mgr")

    [_, entry] = parse(service.recipient_fhir_bundle(registered["id"])).entry
    assert entry.resource.status == "entered-in-error"


def test_only_the_recipients_own_doses_are_exported(service, registered, recipient, lot, make_dose):
    service.record_administration(make_dose(recipient, lot), "nurse-1")

    bundle = parse(service.recipient_fhir_bundle(registered["id"]))

    assert len(bundle.entry) == 1


def test_a_minimal_recipient_still_validates(service, recipient):
    bundle = parse(service.recipient_fhir_bundle(recipient["id"]))

    patient = bundle.entry[0].resource
    assert patient.gender is None and patient.address is None and patient.telecom is None


def test_the_validator_would_catch_a_broken_immunization(service, registered, lot, make_dose):
    service.record_administration(make_dose(registered, lot), "nurse-1")
    answer = service.recipient_fhir_bundle(registered["id"])
    del answer["entry"][1]["resource"]["protocolApplied"][0]["doseNumberPositiveInt"]

    with pytest.raises(ValidationError):
        parse(answer)


@pytest.mark.parametrize("recipient_id", [str(uuid.uuid4()), "not-an-id"])
def test_the_bundle_of_an_unknown_recipient_is_not_found(service, recipient_id):
    with pytest.raises(NotFound):
        service.recipient_fhir_bundle(recipient_id)
