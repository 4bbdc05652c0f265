"""The gateway's promises to clients, through the real stack: clear 4xx answers, never a 500."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import DEMO_LOCATION


def _error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text
    return body


def _receive(user, **shipment) -> requests.Response:
    """A shipment received at the demo location, as `user`, straight to the API."""
    return user.post(f"/locations/{DEMO_LOCATION}/lots", json=shipment)


def test_no_token_or_a_bad_one_is_401(api, manager):
    assert _error(api.http.get(f"{api.base}/products"), 401, "unauthenticated")
    tampered = manager.headers["Authorization"][:-4] + "AAAA"
    response = api.http.get(f"{api.base}/products", headers={"Authorization": tampered})
    _error(response, 401, "invalid_token")


def test_wrong_password_is_401(api):
    response = api.http.post(
        f"{api.base}/auth/token", json={"username": "clinic.manager", "password": "guess-again"}
    )
    _error(response, 401, "invalid_credentials")


def test_a_vaccinator_may_not_receive_lots(vaccinator):
    response = _receive(vaccinator)
    _error(response, 403, "forbidden")


def test_another_locations_stock_is_403(manager, location):
    _error(manager.get(f"/locations/{location}/inventory"), 403, "forbidden")


def test_dose_at_a_location_the_user_does_not_act_for_is_403(vaccinator, admin, location):
    lot = admin.receive_lot(location, doses=5)
    recipient = admin.register_recipient()
    _error(vaccinator.administer(location, lot["id"], recipient["id"]), 403, "forbidden")


def test_unknown_location_is_404_for_a_state_admin(admin):
    _error(admin.get("/locations/no-such-place/inventory"), 404, "not_found")


def test_unknown_ids_are_404(admin):
    _error(admin.get(f"/administrations/{uuid.uuid4()}"), 404, "not_found")
    _error(admin.get(f"/recipients/{uuid.uuid4()}"), 404, "not_found")


def test_bad_input_is_400_with_every_field_named(manager):
    response = _receive(
        manager,
        product_id="pfizer-gray-12plus",
        lot_number="bad lot!",
        doses=-3,
        expiration_date="soon",
    )
    body = _error(response, 400, "invalid_input")
    assert set(body["fields"]) == {"shipment_id", "lot_number", "doses", "expiration_date"}


def test_unknown_fields_and_non_json_bodies_are_400(manager):
    _error(
        manager.post(
            "/recipients",
            json={"given_name": "A", "family_name": "B", "birth_date": "2000-01-01", "ssn": "x"},
        ),
        400,
        "invalid_input",
    )
    response = manager.post(
        "/recipients", data="{not json", headers={"Content-Type": "application/json"}
    )
    _error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"lot_id": str(uuid.uuid4())}, "lot_id"),
        ({"recipient_id": str(uuid.uuid4())}, "recipient_id"),
        ({"administered_at": "2099-01-01T00:00:00Z"}, "administered_at"),
    ],
)
def test_doses_that_break_rules_are_422(manager, change, field):
    lot = manager.receive_lot(DEMO_LOCATION, doses=5)
    recipient = manager.register_recipient()
    response = manager.administer(DEMO_LOCATION, lot["id"], recipient["id"], **change)
    body = _error(response, 422, "rule_violated")
    assert field in body["fields"]


def test_a_lot_from_another_location_is_refused(admin, location):
    elsewhere = admin.receive_lot(location, doses=5)
    recipient = admin.register_recipient()
    body = _error(
        admin.administer(DEMO_LOCATION, elsewhere["id"], recipient["id"]), 422, "rule_violated"
    )
    assert body["fields"]["lot_id"] == ["This lot is not held at that location."]


def test_unknown_product_is_422(manager):
    response = _receive(
        manager,
        shipment_id="S-x",
        product_id="snake-oil",
        lot_number="X1",
        expiration_date="2030-01-01",
        doses=5,
    )
    assert "product_id" in _error(response, 422, "rule_violated")["fields"]


def test_openapi_documents_every_route(api):
    spec = requests.get(f"{api.base}/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/auth/token", "post"),
        ("/api/v1/products", "get"),
        ("/api/v1/locations/{location_id}/lots", "post"),
        ("/api/v1/locations/{location_id}/inventory", "get"),
        ("/api/v1/administrations", "post"),
    ]:
        assert method in paths[path], (path, method)
    receive = paths["/api/v1/locations/{location_id}/lots"]["post"]
    assert receive["x-roles"] == ["location_manager", "org_admin", "state_admin"]
    assert {"201", "400", "401", "403", "404", "422"} <= set(receive["responses"])


def test_health_and_readiness(api, cluster):
    root = cluster.gateway_url
    assert requests.get(f"{root}/health", timeout=5).json() == {"status": "alive"}
    ready = requests.get(f"{root}/ready", timeout=5)
    assert ready.status_code == 200 and ready.json()["broker"] == "ok"
    for service in ("inventory", "administration"):
        body = requests.get(f"http://127.0.0.1:{cluster.ports[service]}/ready", timeout=5).json()
        assert body == {"status": "ready", "database": "ok", "broker": "ok"}
