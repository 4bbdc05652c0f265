"""Signing in, bearer tokens, roles and locations."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.security import ALGORITHM, ISSUER, read_token

TOKEN = "/api/v1/auth/token"


def claims(**overrides):
    now = datetime.now(UTC)
    values = {
        "iss": ISSUER,
        "sub": str(uuid.uuid4()),
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "username": "clinic.manager",
        "role": "location_manager",
        "locations": ["demo-clinic"],
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# -- issuing tokens -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "password", "role", "locations"),
    [
        ("state.admin", "demo-state-admin", "state_admin", []),
        ("clinic.manager", "demo-clinic-manager", "location_manager", ["demo-clinic"]),
        ("clinic.vaccinator", "demo-vaccinator", "vaccinator", ["demo-clinic"]),
    ],
)
def test_a_token_for_each_demo_user(client, app, username, password, role, locations):
    response = client.post(TOKEN, json={"username": username, "password": password})

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900  # short-lived: the refresh token renews it
    assert body["refresh_token"]
    assert body["role"] == role
    assert body["locations"] == locations
    assert "password" not in json.dumps(body)
    principal = read_token(body["access_token"], app.config["CVMS"].jwt_secret)
    assert (principal.username, principal.role) == (username, role)
    assert principal.location_ids == frozenset(locations)


def test_the_token_lifetime_is_configured(make_app):
    app = make_app(token_ttl_seconds=120)
    body = (
        app.test_client()
        .post(TOKEN, json={"username": "state.admin", "password": "demo-state-admin"})
        .get_json()
    )
    assert body["expires_in"] == 120
    decoded = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert decoded["exp"] - decoded["iat"] == 120


def test_a_wrong_password_is_401(client):
    response = client.post(TOKEN, json={"username": "state.admin", "password": "guess"})
    body = assert_error(response, 401, "invalid_credentials")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cvms"'
    assert body["message"] == "Wrong username or password."


def test_an_unknown_user_gets_the_same_401(client):
    response = client.post(TOKEN, json={"username": "nobody", "password": "demo-state-admin"})
    body = assert_error(response, 401, "invalid_credentials")
    assert body["message"] == "Wrong username or password."


def test_an_inactive_user_is_refused(client, directory_db):
    directory_db.set_active("clinic.manager", False)
    response = client.post(
        TOKEN, json={"username": "clinic.manager", "password": "demo-clinic-manager"}
    )
    assert_error(response, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"username", "password"}),
        ({"username": "state.admin"}, {"password"}),
        ({"password": "x"}, {"username"}),
        ({"username": "", "password": "x"}, {"username"}),
        ({"username": "state.admin", "password": 42}, {"password"}),
        ({"username": "a", "password": "b", "role": "state_admin"}, {"role"}),
    ],
)
def test_missing_or_bad_fields_are_400(client, body, fields):
    response = client.post(TOKEN, json=body)
    error = assert_error(response, 400, "invalid_input")
    assert set(error["fields"]) == fields


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("not json at all", "application/json"),
        ('{"username": "state.admin"', "application/json"),
        ("null", "application/json"),
        ('{"username": "state.admin", "password": "demo-state-admin"}', "text/plain"),
        ("", "application/json"),
    ],
)
def test_a_body_that_is_not_json_is_400(client, data, content_type):
    response = client.post(TOKEN, data=data, content_type=content_type)
    assert_error(response, 400, "invalid_json")


def test_a_json_body_that_is_not_an_object_is_400(client):
    response = client.post(TOKEN, json=["state.admin", "demo-state-admin"])
    error = assert_error(response, 400, "invalid_input")
    assert error["fields"] == {"_schema": ["Expected a JSON object."]}


# -- presenting tokens ----------------------------------------------------------------------------
def test_no_token_is_401(client):
    response = client.get("/api/v1/products")
    assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cvms"'


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic c3RhdGUuYWRtaW46eA==", "Token abc", "bearer"],
)
def test_a_malformed_authorization_header_is_401(client, authorization):
    response = client.get("/api/v1/products", headers={"Authorization": authorization})
    assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("token", ["abc", "a.b.c", "....", "e30.e30.e30"])
def test_a_token_that_is_not_a_jwt_is_401(client, token):
    assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "invalid_token")


def test_the_bearer_scheme_is_case_insensitive(client, rpc, login):
    rpc.answer("inventory.list_products", [])
    token = login("state.admin")["Authorization"].split(" ", 1)[1]
    response = client.get("/api/v1/products", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_an_expired_token_is_401(client):
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        claims(iat=past, exp=past + timedelta(hours=1)),
        client.application.config["CVMS"].jwt_secret,
    )
    body = assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "token_expired")
    assert "expired" in body["message"]


def test_a_token_signed_with_another_key_is_401(client):
    token = jwt.encode(claims(), "someone-elses-key-someone-elses-key!", algorithm=ALGORITHM)
    assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "invalid_token")


def test_a_tampered_token_is_401(client, login):
    token = login("clinic.vaccinator")["Authorization"].split(" ", 1)[1]
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["role"] = "state_admin"  # promote oneself
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    response = client.get("/api/v1/products", headers=bearer(f"{header}.{forged}.{signature}"))
    assert_error(response, 401, "invalid_token")


def test_an_unsigned_token_is_401(client):
    token = jwt.encode(claims(role="state_admin"), key=None, algorithm="none")
    assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "invalid_token")


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss"])
def test_a_token_missing_a_required_claim_is_401(client, missing):
    token = jwt.encode(claims(**{missing: None}), client.application.config["CVMS"].jwt_secret)
    assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "invalid_token")


def test_a_token_from_another_issuer_is_401(client):
    token = jwt.encode(claims(iss="not-cvms"), client.application.config["CVMS"].jwt_secret)
    assert_error(client.get("/api/v1/products", headers=bearer(token)), 401, "invalid_token")


def test_a_valid_token_is_accepted(client, rpc, login):
    rpc.answer("inventory.list_products", [{"id": "p"}])
    response = client.get("/api/v1/products", headers=login("clinic.vaccinator"))
    assert response.status_code == 200
    assert [product["id"] for product in response.get_json()] == ["p"]


# -- roles and locations --------------------------------------------------------------------------
def test_a_vaccinator_may_not_receive_lots(client, rpc, login, lot_body):
    response = client.post(
        "/api/v1/locations/demo-clinic/lots", json=lot_body(), headers=login("clinic.vaccinator")
    )
    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


def test_a_vaccinator_may_not_see_discrepancies(client, rpc, login):
    response = client.get(
        "/api/v1/locations/demo-clinic/discrepancies", headers=login("clinic.vaccinator")
    )
    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


def test_the_role_is_checked_before_the_body(client, rpc, login):
    response = client.post(
        "/api/v1/locations/demo-clinic/lots", json={"junk": 1}, headers=login("clinic.vaccinator")
    )
    assert_error(response, 403, "forbidden")


def test_a_manager_may_not_act_for_another_location(client, rpc, login, directory_db, lot_body):
    directory_db.add_location("other-clinic")
    for method, path in [
        ("post", "/api/v1/locations/other-clinic/lots"),
        ("get", "/api/v1/locations/other-clinic/inventory"),
        ("get", "/api/v1/locations/other-clinic/discrepancies"),
        ("post", "/api/v1/locations/other-clinic/discrepancies/d-1/resolve"),
    ]:
        response = getattr(client, method)(path, json=lot_body(), headers=login("clinic.manager"))
        body = assert_error(response, 403, "forbidden")
        assert body["message"] == "You do not act for this location."
    assert rpc.calls == []


def test_an_unknown_location_looks_the_same_as_a_foreign_one_to_a_manager(client, login):
    response = client.get("/api/v1/locations/nowhere/inventory", headers=login("clinic.manager"))
    assert_error(response, 403, "forbidden")


def test_an_unknown_location_is_404_for_a_state_admin(client, rpc, login):
    response = client.get("/api/v1/locations/nowhere/inventory", headers=login("state.admin"))
    body = assert_error(response, 404, "not_found")
    assert body["message"] == "Location nowhere not found."
    assert rpc.calls == []


def test_a_state_admin_acts_for_every_location(client, rpc, login, directory_db):
    directory_db.add_location("far-clinic")
    rpc.answer("inventory.location_inventory", [])
    response = client.get("/api/v1/locations/far-clinic/inventory", headers=login("state.admin"))
    assert response.status_code == 200
    assert rpc.calls == [("inventory.location_inventory", ("far-clinic",))]


def test_a_location_added_while_running_is_usable_at_once(client, rpc, login, directory_db):
    headers = login("state.admin")
    assert client.get("/api/v1/locations/new-clinic/inventory", headers=headers).status_code == 404
    directory_db.add_location("new-clinic")
    rpc.answer("inventory.location_inventory", [])
    assert client.get("/api/v1/locations/new-clinic/inventory", headers=headers).status_code == 200


def test_a_vaccinator_may_not_record_a_dose_at_another_location(client, rpc, login, directory_db):
    directory_db.add_location("other-clinic")
    dose = {
        "id": str(uuid.uuid4()),
        "recipient_id": str(uuid.uuid4()),
        "location_id": "other-clinic",
        "lot_id": str(uuid.uuid4()),
        "administered_at": "2025-03-01T09:30:00+00:00",
    }
    response = client.post("/api/v1/administrations", json=dose, headers=login("clinic.vaccinator"))
    assert_error(response, 403, "forbidden")
    assert rpc.calls == []
