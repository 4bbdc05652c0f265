"""The recipient portal through the whole system: a recipient claims an account with the
details on their card, then sees (and only sees) their own record."""

from __future__ import annotations

import io
import uuid

import pytest
from fhir.resources.bundle import Bundle
from pypdf import PdfReader

PASSWORD = "my card, my record, 2026"


def claim(api, recipient: dict, lot: dict, **overrides):
    body = {
        "username": f"r-{uuid.uuid4().hex[:10]}",
        "password": PASSWORD,
        "date_of_birth": recipient["birth_date"],
        "family_name": recipient["family_name"],
        "lot_number": lot["lot_number"],
        "administered_on": "2026-01-15",
        **overrides,
    }
    return body, api.http.post(f"{api.base}/recipient-accounts", json=body, timeout=30)


@pytest.fixture
def vaccinated(admin, location):
    """Two recipients, each given a dose (2026-01-15) and each with a claimed account."""
    lot = admin.receive_lot(location, doses=10)
    people = []
    for _ in range(2):
        recipient = admin.register_recipient()
        dose = admin.administer(location, lot["id"], recipient["id"], site="LD", route="IM")
        assert dose.status_code == 201, dose.text
        people.append((recipient, dose.json()))
    return lot, people


def signed_in(api, recipient, lot):
    body, response = claim(api, recipient, lot)
    assert response.status_code == 201, response.text
    return api.as_user(body["username"], PASSWORD)


def test_a_recipient_claims_an_account_and_sees_their_own_record(api, vaccinated, location):
    lot, [(recipient, dose), _] = vaccinated
    me = signed_in(api, recipient, lot)

    assert me.get("/me").json()["id"] == recipient["id"]
    [given] = me.get("/me/vaccinations").json()
    assert (given["id"], given["lot_number"], given["dose_number"]) == (
        dose["id"],
        lot["lot_number"],
        1,
    )
    assert given["product_name"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    assert given["location_name"] == "Test location"
    bundle = Bundle.parse_obj(me.get("/me/fhir").json())
    assert bundle.entry[0].resource.id == recipient["id"]

    changed = me.request(
        "PATCH",
        "/me/contact",
        json={"email": "ada@example.org", "contact_preferences": {"email": True}},
    )
    assert changed.status_code == 200, changed.text
    assert me.get("/me").json()["contact_preferences"]["email"] is True
    refused = me.request("PATCH", "/me/contact", json={"contact_preferences": {"sms": True}})
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["contact_preferences"]


def record_texts(me) -> dict[str, str]:
    """The text of the record PDF's first page, in English and in Spanish."""
    texts = {}
    for language in ("en", "es"):
        response = me.get("/me/record.pdf", params={"lang": language})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/pdf"
        texts[language] = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    return texts


def test_the_record_pdf_in_english_and_spanish(api, vaccinated):
    lot, [(recipient, _), _] = vaccinated
    texts = record_texts(signed_in(api, recipient, lot))
    for text in texts.values():
        assert recipient["family_name"] in text and lot["lot_number"] in text
        assert "Test location" in text
    assert "COVID-19 Vaccination Record" in texts["en"] and "01/15/2026" in texts["en"]
    assert "Registro de vacunación" in texts["es"] and "15/01/2026" in texts["es"]
    assert "Deltoides izquierdo" in texts["es"].replace("\n", " ")


def test_the_record_names_the_cap_colour_once_in_the_readers_language(api, vaccinated):
    lot, [(recipient, _), _] = vaccinated
    pages = record_texts(signed_in(api, recipient, lot))
    texts = {language: " ".join(page.split()) for language, page in pages.items()}  # cells wrap
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in texts["en"]
    assert texts["en"].lower().count("gray") == 1 and "tapa" not in texts["en"]
    assert "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)" in texts["es"]
    assert texts["es"].lower().count("gris") == 1
    assert "gray" not in texts["es"].lower() and "cap" not in texts["es"].lower()


def test_wrong_details_and_a_second_claim_get_one_answer(api, vaccinated):
    lot, [(recipient, _), _] = vaccinated
    _, wrong_day = claim(api, recipient, lot, administered_on="2026-01-20")
    _, wrong_lot = claim(api, recipient, lot, lot_number="NOPE-1")
    _, first = claim(api, recipient, lot)
    _, second = claim(api, recipient, lot)
    assert first.status_code == 201
    answers = {
        (r.status_code, r.json()["error"], r.json()["message"])
        for r in (wrong_day, wrong_lot, second)
    }
    assert len(answers) == 1
    assert next(iter(answers))[:2] == (422, "claim_refused")


def test_a_recipient_can_never_read_another_recipients_record(api, vaccinated):
    lot, [(mine, _), (theirs, their_dose)] = vaccinated
    me = signed_in(api, mine, lot)
    other = theirs["id"]
    # Every staff route that takes a recipient (or a dose) id refuses a recipient outright.
    for path in (
        f"/recipients/{other}",
        f"/recipients/{other}/fhir",
        f"/recipients/{other}/hl7",
        f"/administrations/{their_dose['id']}",
    ):
        assert me.get(path).status_code == 403, path
    assert (
        me.post(f"/administrations/{their_dose['id']}/void", json={"reason": "x"}).status_code
        == 403
    )
    # /me routes take no id: whatever is tried, they answer for the signed-in recipient.
    for path in ("/me", "/me/vaccinations", "/me/fhir"):
        response = me.get(path, params={"recipient_id": other, "id": other})
        assert response.status_code == 200, path
        assert other not in response.text and their_dose["id"] not in response.text
    # The PDF route takes only ?lang=: anything else is refused, not ignored.
    assert me.get("/me/record.pdf", params={"recipient_id": other}).status_code == 400
    pdf = me.get("/me/record.pdf")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert mine["family_name"] in text and theirs["family_name"] not in text
    assert me.get(f"/me/{other}").status_code == 404
