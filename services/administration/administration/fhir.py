"""A recipient's immunizations as a FHIR R4 Bundle (type collection): one Patient and one
Immunization per dose recorded, for an immunization registry."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from administration.models import VOIDED, Administration, KnownLot, Product, Recipient
from administration.schemas import LANGUAGES, SEXES
from cvms_platform.codes import ADMINISTRATION_ROUTES, ADMINISTRATION_SITES, label
from cvms_platform.timeutil import utcnow

CVX = "http://hl7.org/fhir/sid/cvx"
SITE = "http://terminology.hl7.org/CodeSystem/v2-0163"
ROUTE = "http://terminology.hl7.org/CodeSystem/v2-0162"
PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/v2-0443"
MVX = "http://hl7.org/fhir/sid/mvx"
UCUM = "http://unitsofmeasure.org"
BCP47 = "urn:ietf:bcp:47"


def bundle(session: Session, recipient: Recipient) -> dict:
    doses = session.scalars(
        select(Administration)
        .where(Administration.recipient_id == recipient.id)
        .order_by(Administration.administered_at, Administration.dose_number)
    ).all()
    patient_url = f"urn:uuid:{recipient.id}"
    entries = [{"fullUrl": patient_url, "resource": patient(recipient)}]
    for dose in doses:
        entries.append(
            {
                "fullUrl": f"urn:uuid:{dose.id}",
                "resource": immunization(
                    dose,
                    patient_url,
                    session.get(Product, dose.product_id),
                    session.get(KnownLot, dose.lot_id),
                ),
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": entries,
    }


def patient(recipient: Recipient) -> dict:
    resource: dict = {
        "resourceType": "Patient",
        "id": recipient.id,
        "name": [{"family": recipient.family_name, "given": [recipient.given_name]}],
        "birthDate": recipient.birth_date.isoformat(),
    }
    if recipient.sex:
        resource["gender"] = SEXES[recipient.sex]
    if recipient.address_line1:
        resource["address"] = [
            {
                "use": "home",
                "line": [
                    line for line in (recipient.address_line1, recipient.address_line2) if line
                ],
                "city": recipient.city,
                "state": recipient.state,
                "postalCode": recipient.postal_code,
                "country": "US",
            }
        ]
    telecom = []
    if recipient.phone:
        telecom.append({"system": "phone", "value": recipient.phone, "use": "home"})
    if recipient.email:
        telecom.append({"system": "email", "value": recipient.email})
    if telecom:
        resource["telecom"] = telecom
    language = recipient.preferred_language or "en"
    resource["communication"] = [
        {
            "language": {
                "coding": [{"system": BCP47, "code": language, "display": LANGUAGES[language]}],
                "text": LANGUAGES[language],
            },
            "preferred": True,
        }
    ]
    return resource


def immunization(
    dose: Administration, patient_url: str, product: Product | None, lot: KnownLot | None
) -> dict:
    resource: dict = {
        "resourceType": "Immunization",
        "id": dose.id,
        # A voided dose stays in the registry's view, marked as never given.
        "status": "entered-in-error" if dose.status == VOIDED else "completed",
        "vaccineCode": (
            {
                "coding": [{"system": CVX, "code": product.cvx_code, "display": product.name}],
                "text": product.name,
            }
            if product is not None
            else {"text": dose.product_id}
        ),
        "patient": {"reference": patient_url},
        "occurrenceDateTime": dose.administered_at.isoformat(),
        "recorded": dose.recorded_at.isoformat(),
        "primarySource": True,
        "lotNumber": dose.lot_number,
        "performer": [
            {"actor": {"type": "Organization", "display": dose.location_id}},
            {
                "function": {
                    "coding": [
                        {
                            "system": PERFORMER_FUNCTION,
                            "code": "AP",
                            "display": "Administering Provider",
                        }
                    ]
                },
                "actor": {
                    "type": "Practitioner",
                    "display": dose.performer_name or dose.recorded_by,
                },
            },
        ],
        "protocolApplied": [{"doseNumberPositiveInt": dose.dose_number}],
    }
    if lot is not None:
        resource["expirationDate"] = lot.expiration_date.isoformat()
    if product is not None:
        resource["manufacturer"] = {
            "type": "Organization",
            "identifier": {"system": MVX, "value": product.mvx_code},
            "display": product.manufacturer,
        }
    volume = dose.dose_volume_ml or (product.dose_volume_ml if product is not None else None)
    if volume:
        resource["doseQuantity"] = {"value": volume, "unit": "mL", "system": UCUM, "code": "mL"}
    if dose.site:
        resource["site"] = _coded(SITE, dose.site, label(ADMINISTRATION_SITES, dose.site))
    if dose.route:
        resource["route"] = _coded(ROUTE, dose.route, label(ADMINISTRATION_ROUTES, dose.route))
    return resource


def _coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}
