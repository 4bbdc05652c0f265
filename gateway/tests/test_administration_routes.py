"""Administration routes: the registration form, duplicate matches, clinical overrides by role,
and the FHIR export (services faked by the RPC pool)."""

import json
import uuid

import pytest

from cvms_platform.errors import NotFound, Unprocessable

FORM = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "birth_date": "1990-12-10",
    "sex": "F",
    "race": "2106-3",
    "ethnicity": "2186-5",
    "address": {
        "line1": "12 Analytical Way",
        "line2": None,
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
    },
    "phone": "217-555-0134",
    "email": "ada@example.org",
    "preferred_language": "es",
    "contact_preferences": {"email": True, "sms": False, "phone": False, "mail": True},
}
REGISTERED = {"id": "r-1", **FORM, "created_at": "2026-01-01T00:00:00+00:00"}


def dose(**overrides) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "recipient_id": str(uuid.uuid4()),
        "location_id": "demo-clinic",
        "lot_id": str(uuid.uuid4()),
        "administered_at": "2026-01-15T10:30:00+00:00",
        **overrides,
    }


# -- registration ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("matched", "role", "status"),
    [(False, "clinic.vaccinator", 201), (True, "clinic.manager", 200)],
    ids=["a-new-recipient-is-201", "a-matched-duplicate-is-200-with-the-existing-recipient"],
)
def test_the_whole_form_is_passed_on(client, rpc, login, matched, role, status):
    rpc.answer(
        "administration.register_recipient",
        {"recipient": REGISTERED, "created": not matched, "matched": matched},
    )

    response = client.post("/api/v1/recipients", json=FORM, headers=login(role))

    assert response.status_code == status
    assert response.get_json() == {**REGISTERED, "matched": matched}
    assert response.headers["Location"] == "/api/v1/recipients/r-1"
    assert rpc.calls == [("administration.register_recipient", (FORM,))]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"sex": "woman"}, "sex"),
        ({"race": "white"}, "race"),
        ({"ethnicity": "hispanic"}, "ethnicity"),
        ({"preferred_language": "de"}, "preferred_language"),
        ({"email": "ada-at-example"}, "email"),
        ({"address": {**FORM["address"], "state": "Illinois"}}, "address"),
        ({"address": {**FORM["address"], "postal_code": "ABCDE"}}, "address"),
        ({"contact_preferences": {"pigeon": True}}, "contact_preferences"),
        ({"nickname": "Ada"}, "nickname"),
    ],
)
def test_a_form_outside_the_code_lists_is_400_before_any_rpc(
    client, rpc, login, change, field, assert_error
):
    response = client.post(
        "/api/v1/recipients", json={**FORM, **change}, headers=login("clinic.vaccinator")
    )

    assert list(assert_error(response, 400, "invalid_input")["fields"]) == [field]
    assert rpc.calls == []


# -- clinical overrides ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "user, may_override",
    [("clinic.manager", True), ("state.admin", True), ("clinic.vaccinator", False)],
)
def test_the_right_to_override_comes_from_the_callers_role(
    app, client, rpc, login, user, may_override
):
    body = dose(override={"reason": "Medical director approved."})
    recorded = {**body, "overridden_rules": ["min_age"], "recorded_by": user}
    rpc.answer(
        "administration.record_administration", {"administration": recorded, "created": True}
    )

    response = client.post("/api/v1/administrations", json=body, headers=login(user))

    assert response.status_code == 201
    user_id = app.extensions["test_identity"].user_by_name(user).id
    assert rpc.calls == [
        ("administration.record_administration", (body, user, may_override, user_id))
    ]


def test_a_vaccinators_override_refused_by_the_service_is_422(client, rpc, login, assert_error):
    refused = {
        "recipient_id": ["The recipient is 11 years old on 2026-01-15; ..."],
        "override": ["Your role may not override clinical checks."],
    }
    rpc.answer("administration.record_administration", Unprocessable(refused))

    response = client.post(
        "/api/v1/administrations",
        json=dose(override={"reason": "Please."}),
        headers=login("clinic.vaccinator"),
    )

    assert assert_error(response, 422, "rule_violated")["fields"] == refused


@pytest.mark.parametrize("override", [{}, {"reason": ""}, "because", {"reason": "x", "by": "me"}])
def test_an_override_without_a_reason_is_400(client, rpc, login, override, assert_error):
    response = client.post(
        "/api/v1/administrations", json=dose(override=override), headers=login("clinic.manager")
    )

    assert list(assert_error(response, 400, "invalid_input")["fields"]) == ["override"]
    assert rpc.calls == []


# -- FHIR export ----------------------------------------------------------------------------------
BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": []}


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager", "state.admin"])
def test_the_fhir_bundle_is_served_as_fhir_json(client, rpc, login, user):
    rpc.answer("administration.recipient_fhir_bundle", BUNDLE)

    response = client.get("/api/v1/recipients/r-1/fhir", headers=login(user))

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    assert json.loads(response.get_data()) == BUNDLE
    assert rpc.calls == [("administration.recipient_fhir_bundle", ("r-1",))]


def test_the_fhir_bundle_of_an_unknown_recipient_is_404(client, rpc, login, assert_error):
    rpc.answer("administration.recipient_fhir_bundle", NotFound("recipient r-9 not found"))

    response = client.get("/api/v1/recipients/r-9/fhir", headers=login("clinic.vaccinator"))

    assert_error(response, 404, "not_found")


def test_the_fhir_bundle_needs_a_token(client, rpc):
    assert client.get("/api/v1/recipients/r-1/fhir").status_code == 401
    assert rpc.calls == []
