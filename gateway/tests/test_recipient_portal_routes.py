"""Recipient accounts and the /me routes (services faked by the RPC pool): a claim creates one
account per recipient, and every /me route answers for the token's own recipient only."""

import io
import uuid
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from administration import documents
from administration.documents import record_pdf
from cvms_platform.testing import SAMPLE_DOSE as DOSE
from cvms_platform.testing import SAMPLE_RECIPIENT as RECIPIENT
from gateway.security import issue_token
from identity.models import User

CLAIM = {
    "username": "ada.l",
    "password": "a long enough password",
    "date_of_birth": "1990-12-10",
    "family_name": "Lovelace",
    "lot_number": "FK5127",
    "administered_on": "2026-01-15",
}


def record_as_administration_renders_it(rpc):
    """The answer of administration's record_pdf(recipient_id, language, location_names) for
    RECIPIENT and DOSE, rendered by administration's own code: in the language asked for, else
    in the recipient's preferred one."""

    def answer() -> dict:
        name, (recipient_id, language, location_names) = rpc.calls[-1]
        assert name == "administration.record_pdf" and recipient_id == RECIPIENT["id"]
        language = language or RECIPIENT["preferred_language"]
        pdf = record_pdf.render(RECIPIENT, [DOSE], location_names, language, datetime.now(UTC))
        return documents.answer(pdf, documents.RECORD_FILENAME)

    return answer


def recipient_headers(app, recipient_id: str = "r-1") -> dict:
    user = User(
        id=str(uuid.uuid4()),
        username=f"recipient-{recipient_id}",
        role="recipient",
        location_ids=[],
        recipient_id=recipient_id,
    )
    token = issue_token(user, app.config["CVMS"].jwt_secret, 60)
    return {"Authorization": f"Bearer {token}"}


def test_a_claim_matching_one_recipient_creates_a_recipient_account(app, client, rpc):
    rpc.answer("administration.verify_recipient_claim", "r-1")

    response = client.post("/api/v1/recipient-accounts", json=CLAIM)

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"username": "ada.l", "role": "recipient"}
    assert rpc.calls == [
        (
            "administration.verify_recipient_claim",
            (
                {
                    "family_name": "Lovelace",
                    "date_of_birth": "1990-12-10",
                    "lot_number": "FK5127",
                    "administered_on": "2026-01-15",
                },
            ),
        )
    ]
    user = app.extensions["test_identity"].user_by_name("ada.l")
    assert (user.role, user.recipient_id, user.location_ids) == ("recipient", "r-1", [])
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "ada.l", "password": CLAIM["password"]}
    )
    assert signed_in.status_code == 200
    assert signed_in.get_json()["role"] == "recipient"


def test_no_match_and_an_already_claimed_record_get_the_same_answer(client, rpc):
    rpc.answer("administration.verify_recipient_claim", None)
    no_match = client.post("/api/v1/recipient-accounts", json=CLAIM)
    rpc.answer("administration.verify_recipient_claim", "r-1")
    assert client.post("/api/v1/recipient-accounts", json=CLAIM).status_code == 201
    claimed_again = client.post("/api/v1/recipient-accounts", json={**CLAIM, "username": "eve"})

    assert no_match.status_code == claimed_again.status_code == 422
    assert no_match.get_json()["message"] == claimed_again.get_json()["message"]
    assert no_match.get_json()["error"] == claimed_again.get_json()["error"] == "claim_refused"


def test_a_taken_username_is_409_before_any_claim_is_checked(client, rpc):
    response = client.post("/api/v1/recipient-accounts", json={**CLAIM, "username": "state.admin"})
    assert response.status_code == 409
    assert rpc.calls == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"password": "short"}, "password"),
        ({"date_of_birth": "10/12/1990"}, "date_of_birth"),
        ({"lot_number": ""}, "lot_number"),
        ({"username": "a b"}, "username"),
    ],
)
def test_an_invalid_claim_is_400_per_field(client, rpc, change, field):
    response = client.post("/api/v1/recipient-accounts", json={**CLAIM, **change})
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [field]
    assert rpc.calls == []


def test_repeated_failed_claims_lock_the_identity_out(make_app):
    app = make_app()
    client = app.test_client()
    rpc = app.extensions["cvms_rpc"].cluster
    rpc.answer("administration.verify_recipient_claim", None)
    statuses = [client.post("/api/v1/recipient-accounts", json=CLAIM).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    # Locked out: the card's details are no longer even checked.
    assert len(rpc.calls) == 5


def test_me_routes_answer_for_the_tokens_recipient_only(app, client, rpc):
    rpc.answer("administration.get_recipient", RECIPIENT)
    rpc.answer("administration.recipient_vaccinations", [DOSE])
    rpc.answer("administration.record_pdf", record_as_administration_renders_it(rpc))
    rpc.answer("administration.recipient_fhir_bundle", {"resourceType": "Bundle"})
    rpc.answer("administration.update_recipient_contact", RECIPIENT)
    headers = recipient_headers(app, "r-1")

    assert client.get("/api/v1/me", headers=headers).get_json() == RECIPIENT
    [dose] = client.get("/api/v1/me/vaccinations", headers=headers).get_json()
    assert dose["location_name"] == "Demo Community Vaccine Clinic"
    # The product named once with its cap colour, in each language.
    assert dose["labels"] == {
        "en": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
        "es": "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)",
    }
    fhir = client.get("/api/v1/me/fhir", headers=headers)
    assert fhir.headers["Content-Type"].startswith("application/fhir+json")
    changed = client.patch("/api/v1/me/contact", json={"phone": "217-555-0100"}, headers=headers)
    assert changed.status_code == 200
    assert client.get("/api/v1/me/record.pdf", headers=headers).status_code == 200

    assert {args[0] for _, args in rpc.calls} == {"r-1"}


def test_staff_routes_never_serve_a_recipient(app, client, rpc):
    headers = recipient_headers(app, "r-1")
    for path in (
        "/api/v1/recipients/r-1",
        "/api/v1/recipients/r-2/fhir",
        "/api/v1/recipients/r-1/hl7",
    ):
        assert client.get(path, headers=headers).status_code == 403
    assert rpc.calls == []


def test_the_record_pdf_is_in_the_recipients_language_unless_asked(app, client, rpc):
    rpc.answer("administration.recipient_vaccinations", [DOSE])
    rpc.answer("administration.record_pdf", record_as_administration_renders_it(rpc))
    headers = recipient_headers(app)

    spanish = client.get("/api/v1/me/record.pdf", headers=headers)
    english = client.get("/api/v1/me/record.pdf?lang=en", headers=headers)

    assert spanish.headers["Content-Type"] == "application/pdf"
    text_es = PdfReader(io.BytesIO(spanish.data)).pages[0].extract_text()
    text_en = PdfReader(io.BytesIO(english.data)).pages[0].extract_text()
    assert "Registro de vacunación" in text_es and "Vaccination Record" in text_en
    # the cap colour once, in the reader's language
    assert "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)" in text_es.replace("\n", " ")
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in text_en.replace("\n", " ")
    assert text_es.lower().count("gris") == 1 and "cap" not in text_es.lower()
    assert text_en.lower().count("gray") == 1
    assert "FK5127" in text_en and "Left Deltoid / Intramuscular" in text_en.replace("\n", " ")
    bad = client.get("/api/v1/me/record.pdf?lang=fr", headers=headers)
    assert bad.status_code == 400


def test_an_empty_contact_change_is_400(app, client, rpc):
    response = client.patch("/api/v1/me/contact", json={}, headers=recipient_headers(app))
    assert response.status_code == 400
    assert rpc.calls == []
