"""The /api/v1 routes: what they ask the services, what they answer, and how failures map."""

import json
import uuid

import pytest
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable

LOTS = "/api/v1/locations/demo-clinic/lots"
INVENTORY = "/api/v1/locations/demo-clinic/inventory"


def lot(**overrides):
    value = {
        "id": str(uuid.uuid4()),
        "location_id": "demo-clinic",
        "shipment_id": "SHIP-1",
        "product_id": "pfizer-gray-12plus",
        "lot_number": "FK-1234",
        "expiration_date": "2030-01-31",
        "doses_received": 60,
        "doses_on_hand": 60,
    }
    value.update(overrides)
    return value


def dose_body(**overrides):
    body = {
        "id": str(uuid.uuid4()),
        "recipient_id": str(uuid.uuid4()),
        "location_id": "demo-clinic",
        "lot_id": str(uuid.uuid4()),
        "dose_number": 1,
        "administered_at": "2025-03-01T09:30:00+00:00",
    }
    body.update(overrides)
    return body


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    return body


# -- inventory routes -----------------------------------------------------------------------------
def test_list_products(client, rpc, login):
    products = [
        {
            "id": "pfizer-gray-12plus",
            "name": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
            "cap_color": "gray",
            "doses_per_vial": 6,
        }
    ]
    rpc.answer("inventory.list_products", products)
    response = client.get("/api/v1/products", headers=login("clinic.vaccinator"))
    assert response.status_code == 200
    [product] = response.get_json()
    assert product == {
        **products[0],
        # The cap colour once, in each language, for front ends to name the product.
        "labels": {
            "en": "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)",
            "es": "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)",
        },
    }
    assert rpc.calls == [("inventory.list_products", ())]


def test_receiving_a_new_lot_is_201_and_a_replay_is_200(client, rpc, login, lot_body):
    recorded = lot()
    rpc.answer("inventory.receive_lot", {"lot": recorded, "created": True})
    headers = login("clinic.manager")
    body = lot_body(storage_unit="Freezer 2")

    first = client.post(LOTS, json=body, headers=headers)

    assert first.status_code == 201
    assert first.get_json() == recorded
    assert first.headers["Location"] == INVENTORY
    # The body goes on exactly as sent (JSON form), with the location from the path.
    assert rpc.calls == [("inventory.receive_lot", ("demo-clinic", body))]

    rpc.answer("inventory.receive_lot", {"lot": recorded, "created": False})
    again = client.post(LOTS, json=body, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == recorded


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"doses": 0}, "doses"),
        ({"doses": "60"}, "doses"),
        ({"doses": 1.5}, "doses"),
        ({"doses": 1_000_001}, "doses"),
        ({"expiration_date": "31/01/2030"}, "expiration_date"),
        ({"lot_number": "FK 1234"}, "lot_number"),
        ({"lot_number": "x" * 51}, "lot_number"),
        ({"shipment_id": ""}, "shipment_id"),
        ({"storage_unit": "x" * 101}, "storage_unit"),
        ({"unknown": "field"}, "unknown"),
    ],
)
def test_receive_lot_field_errors_are_400(client, rpc, login, change, field, lot_body):
    response = client.post(LOTS, json=lot_body(**change), headers=login("clinic.manager"))
    body = assert_error(response, 400, "invalid_input")
    assert set(body["fields"]) == {field}
    assert isinstance(body["fields"][field], list)
    assert rpc.calls == []


def test_receive_lot_missing_fields_are_listed(client, rpc, login):
    response = client.post(LOTS, json={}, headers=login("clinic.manager"))
    body = assert_error(response, 400, "invalid_input")
    assert set(body["fields"]) == {
        "shipment_id",
        "product_id",
        "lot_number",
        "expiration_date",
        "doses",
    }


def test_receive_lot_with_a_non_json_body_is_400(client, rpc, login):
    response = client.post(
        LOTS, data="shipment_id=1", content_type="text/plain", headers=login("clinic.manager")
    )
    assert_error(response, 400, "invalid_json")
    assert rpc.calls == []


def test_location_inventory_totals_the_lots(client, rpc, login):
    lots = [lot(doses_on_hand=10), lot(doses_on_hand=32)]
    rpc.answer("inventory.location_inventory", lots)
    response = client.get(INVENTORY, headers=login("clinic.vaccinator"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "location_id": "demo-clinic",
        "total_doses_on_hand": 42,
        "lots": lots,
    }


def test_list_discrepancies(client, rpc, login):
    rpc.answer("inventory.list_discrepancies", [{"id": "d-1"}])
    headers = login("clinic.manager")
    path = "/api/v1/locations/demo-clinic/discrepancies"
    assert client.get(path, headers=headers).get_json() == [{"id": "d-1"}]
    assert client.get(f"{path}?include_resolved=TRUE", headers=headers).status_code == 200
    assert rpc.calls == [
        ("inventory.list_discrepancies", ("demo-clinic", False)),
        ("inventory.list_discrepancies", ("demo-clinic", True)),
    ]


def test_resolve_discrepancy(client, rpc, login):
    rpc.answer("inventory.resolve_discrepancy", {"id": "d-1", "resolution": "counted again"})
    response = client.post(
        "/api/v1/locations/demo-clinic/discrepancies/d-1/resolve",
        json={"resolution": "counted again"},
        headers=login("clinic.manager"),
    )
    assert response.status_code == 200
    assert rpc.calls == [("inventory.resolve_discrepancy", ("demo-clinic", "d-1", "counted again"))]


def test_resolve_discrepancy_needs_a_resolution(client, rpc, login):
    response = client.post(
        "/api/v1/locations/demo-clinic/discrepancies/d-1/resolve",
        json={"resolution": ""},
        headers=login("clinic.manager"),
    )
    assert set(assert_error(response, 400, "invalid_input")["fields"]) == {"resolution"}


# -- administration routes ------------------------------------------------------------------------
def test_register_recipient_is_201_with_its_location(client, rpc, login):
    created = {"id": "r-1", "given_name": "Ada", "family_name": "L", "birth_date": "1990-01-01"}
    rpc.answer(
        "administration.register_recipient",
        {"recipient": created, "created": True, "matched": False},
    )
    body = {"given_name": "Ada", "family_name": "L", "birth_date": "1990-01-01"}
    response = client.post("/api/v1/recipients", json=body, headers=login("clinic.vaccinator"))
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/v1/recipients/r-1"
    assert response.get_json() == {**created, "matched": False}
    assert rpc.calls == [("administration.register_recipient", (body,))]


def test_register_recipient_field_errors(client, rpc, login):
    response = client.post(
        "/api/v1/recipients",
        json={"given_name": "", "birth_date": "soon"},
        headers=login("clinic.vaccinator"),
    )
    body = assert_error(response, 400, "invalid_input")
    assert set(body["fields"]) == {"given_name", "family_name", "birth_date"}


def test_get_recipient(client, rpc, login):
    rpc.answer("administration.get_recipient", {"id": "r-1"})
    response = client.get("/api/v1/recipients/r-1", headers=login("clinic.vaccinator"))
    assert response.get_json() == {"id": "r-1"}
    assert rpc.calls == [("administration.get_recipient", ("r-1",))]


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager", "state.admin"])
def test_recording_a_dose_is_201_and_a_replay_is_200(app, client, rpc, login, user):
    dose = dose_body()
    recorded = {**dose, "recorded_by": user}
    rpc.answer(
        "administration.record_administration", {"administration": recorded, "created": True}
    )

    first = client.post("/api/v1/administrations", json=dose, headers=login(user))

    assert first.status_code == 201
    assert first.get_json() == recorded
    assert first.headers["Location"] == f"/api/v1/administrations/{dose['id']}"
    # Who recorded it (and whether they may override clinical checks) comes from the token.
    may_override = user != "clinic.vaccinator"
    user_id = app.extensions["test_identity"].user_by_name(user).id
    assert rpc.calls == [
        ("administration.record_administration", (dose, user, may_override, user_id))
    ]

    rpc.answer(
        "administration.record_administration", {"administration": recorded, "created": False}
    )
    assert client.post("/api/v1/administrations", json=dose, headers=login(user)).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"administered_at": "2025-03-01T09:30:00"}, "administered_at"),  # naive
        ({"dose_number": 11}, "dose_number"),
        ({"location_id": "bad location!"}, "location_id"),
        ({"recorded_by": "someone.else"}, "recorded_by"),
    ],
)
def test_record_administration_field_errors(client, rpc, login, change, field):
    response = client.post(
        "/api/v1/administrations", json=dose_body(**change), headers=login("clinic.vaccinator")
    )
    assert set(assert_error(response, 400, "invalid_input")["fields"]) == {field}
    assert rpc.calls == []


def test_record_administration_at_an_unknown_location_is_404_for_a_state_admin(client, rpc, login):
    response = client.post(
        "/api/v1/administrations",
        json=dose_body(location_id="nowhere"),
        headers=login("state.admin"),
    )
    assert_error(response, 404, "not_found")
    assert rpc.calls == []


def test_get_administration_at_ones_own_location(client, rpc, login):
    rpc.answer("administration.get_administration", {"id": "a-1", "location_id": "demo-clinic"})
    response = client.get("/api/v1/administrations/a-1", headers=login("clinic.vaccinator"))
    assert response.status_code == 200
    assert response.get_json()["id"] == "a-1"


def test_get_administration_at_a_foreign_location_is_403(client, rpc, login):
    rpc.answer("administration.get_administration", {"id": "a-1", "location_id": "other-clinic"})
    response = client.get("/api/v1/administrations/a-1", headers=login("clinic.vaccinator"))
    body = assert_error(response, 403, "forbidden")
    assert "other-clinic" not in json.dumps(body)
    # a state admin sees it
    response = client.get("/api/v1/administrations/a-1", headers=login("state.admin"))
    assert response.status_code == 200


# -- failures from the services -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "status", "code", "fields"),
    [
        (InvalidInput({"doses": ["Too many."]}), 400, "invalid_input", {"doses": ["Too many."]}),
        (NotFound("Recipient r-9 not found."), 404, "not_found", None),
        (
            Unprocessable({"lot_id": ["This lot expired on 2024-01-01."]}),
            422,
            "rule_violated",
            {"lot_id": ["This lot expired on 2024-01-01."]},
        ),
        (Conflict("Already resolved."), 409, "conflict", None),
    ],
    ids=["InvalidInput", "NotFound", "Unprocessable", "Conflict"],
)
def test_service_errors_map_to_their_status(client, rpc, login, error, status, code, fields):
    rpc.answer("administration.get_recipient", error)
    response = client.get("/api/v1/recipients/r-9", headers=login("clinic.vaccinator"))
    body = assert_error(response, status, code)
    assert body.get("fields") == fields
    if isinstance(error, NotFound | Conflict):
        assert body["message"] == error.args[0]


def test_bare_not_found_and_conflict_have_a_default_message(client, rpc, login):
    rpc.answer("administration.get_recipient", NotFound())
    response = client.get("/api/v1/recipients/r-9", headers=login("clinic.vaccinator"))
    assert assert_error(response, 404, "not_found")["message"] == "Not found."
    rpc.answer("administration.get_recipient", Conflict())
    response = client.get("/api/v1/recipients/r-9", headers=login("clinic.vaccinator"))
    assert assert_error(response, 409, "conflict")["message"] == "Conflict."


@pytest.mark.parametrize(
    "error",
    [
        RpcTimeout(10.0),
        UnknownService("administration"),
        ConnectionRefusedError(111, "ECONNREFUSED"),
        ConnectionResetError(104, "reset by peer"),
        TimeoutError("timed out"),
    ],
    ids=type,
)
def test_an_unavailable_service_is_503_with_retry_after(client, rpc, login, error):
    rpc.answer("administration.get_recipient", error)
    response = client.get("/api/v1/recipients/r-1", headers=login("clinic.vaccinator"))
    body = assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "administration" not in body["message"]


def test_a_failing_service_is_502_without_its_traceback(client, rpc, login):
    remote = RemoteError(
        "ZeroDivisionError",
        'Traceback (most recent call last):\n  File "service.py", line 1\nZeroDivisionError',
    )
    rpc.answer("administration.get_recipient", remote)
    response = client.get("/api/v1/recipients/r-1", headers=login("clinic.vaccinator"))
    body = assert_error(response, 502, "service_error")
    assert "ZeroDivisionError" not in json.dumps(body)


@pytest.mark.parametrize("exc_type", ["OperationalError", "ConnectionError"])
def test_a_service_whose_database_is_unreachable_is_503_to_retry(client, rpc, login, exc_type):
    remote = RemoteError(exc_type, "could not connect to server: Connection refused")
    rpc.answer("administration.get_recipient", remote)
    response = client.get("/api/v1/recipients/r-1", headers=login("clinic.vaccinator"))
    body = assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "refused" not in json.dumps(body)


def test_an_unexpected_error_is_500_without_a_traceback(client, rpc, login):
    rpc.answer("administration.get_recipient", KeyError("secret internals"))
    response = client.get("/api/v1/recipients/r-1", headers=login("clinic.vaccinator"))
    body = assert_error(response, 500, "internal_error")
    assert "secret internals" not in json.dumps(body)
    assert "KeyError" not in json.dumps(body)


def test_a_service_answer_that_is_not_what_the_gateway_expects_is_500(client, rpc, login, lot_body):
    rpc.answer("inventory.receive_lot", {"unexpected": "shape"})
    response = client.post(LOTS, json=lot_body(), headers=login("clinic.manager"))
    assert_error(response, 500, "internal_error")


# -- HTTP-level errors ----------------------------------------------------------------------------
def test_an_over_size_body_is_413(make_app):
    app = make_app(max_body_bytes=1024)
    big = {"username": "state.admin", "password": "x" * 2000}
    response = app.test_client().post("/api/v1/auth/token", json=big)
    assert_error(response, 413, "request_entity_too_large")


def test_an_over_size_body_is_refused_at_the_default_limit(client, login):
    headers = login("clinic.manager")
    response = client.post(
        LOTS,
        data=b'{"shipment_id": "' + b"x" * 1_100_000 + b'"}',
        headers=headers,
        content_type="application/json",
    )
    assert_error(response, 413, "request_entity_too_large")


def test_an_unknown_path_is_a_json_404(client):
    body = assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert body["message"]


def test_a_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/v1/products")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.mimetype == "application/json"


# -- request ids ----------------------------------------------------------------------------------
def test_a_valid_request_id_is_echoed_and_passed_to_the_services(client, app, rpc, login):
    rpc.answer("inventory.list_products", [])
    request_id = "client-req_01.ABC"
    response = client.get(
        "/api/v1/products", headers=login("state.admin", **{"X-Request-ID": request_id})
    )
    assert response.headers["X-Request-ID"] == request_id
    assert app.extensions["cvms_rpc"].correlation_ids == [request_id]


@pytest.mark.parametrize(
    "given",
    ["has spaces", "x" * 129, "semi;colon", "new\\nline", "ünïcode", ""],
)
def test_an_invalid_request_id_is_replaced(client, app, rpc, login, given):
    rpc.answer("inventory.list_products", [])
    headers = login("state.admin")
    if given:
        headers["X-Request-ID"] = given
    response = client.get("/api/v1/products", headers=headers)
    replaced = response.headers["X-Request-ID"]
    assert replaced != given
    assert len(replaced) == 32 and int(replaced, 16) >= 0
    assert app.extensions["cvms_rpc"].correlation_ids == [replaced]


def test_every_request_gets_its_own_id(client, app, rpc, login):
    rpc.answer("inventory.list_products", [])
    headers = login("state.admin")
    ids = {
        client.get("/api/v1/products", headers=headers).headers["X-Request-ID"] for _ in range(3)
    }
    assert len(ids) == 3
    assert set(app.extensions["cvms_rpc"].correlation_ids) == ids


def test_error_responses_carry_the_request_id(client):
    response = client.get("/api/v1/products", headers={"X-Request-ID": "trace-me"})
    assert response.headers["X-Request-ID"] == "trace-me"
    assert response.get_json()["request_id"] == "trace-me"
