"""The OpenAPI document and the rule that every API route declares its access."""

import re

import pytest
from flask import Flask

from cvms_platform.codes import ROLES, US_STATES
from gateway.access import ACCESS_ATTR, MANAGERS, STAFF, allow, check_every_route_declared, public
from gateway.docs import STANDARD_ERRORS, doc

EXPECTED_ROLES = {
    ("POST", "/api/v1/auth/token"): None,
    ("POST", "/api/v1/auth/refresh"): None,
    ("POST", "/api/v1/auth/logout"): set(ROLES),
    ("GET", "/api/v1/products"): set(STAFF),
    ("POST", "/api/v1/locations/{location_id}/lots"): set(MANAGERS),
    ("GET", "/api/v1/locations/{location_id}/inventory"): set(STAFF),
    ("GET", "/api/v1/locations/{location_id}/discrepancies"): set(MANAGERS),
    ("POST", "/api/v1/locations/{location_id}/discrepancies/{discrepancy_id}/resolve"): set(
        MANAGERS
    ),
    ("POST", "/api/v1/recipients"): set(STAFF),
    ("GET", "/api/v1/recipients/{recipient_id}"): set(STAFF),
    ("GET", "/api/v1/recipients/{recipient_id}/fhir"): set(STAFF),
    ("POST", "/api/v1/administrations"): {"state_admin", "location_manager", "vaccinator"},
    ("GET", "/api/v1/administrations/{administration_id}"): set(STAFF),
    ("POST", "/api/v1/locations/{location_id}/lots/{lot_id}/wastage"): set(STAFF),
    ("POST", "/api/v1/locations/{location_id}/lots/{lot_id}/corrections"): set(MANAGERS),
    ("GET", "/api/v1/locations/{location_id}/lots/{lot_id}/ledger"): set(STAFF),
    ("POST", "/api/v1/locations/{location_id}/lots/{lot_id}/release"): set(MANAGERS),
    ("POST", "/api/v1/locations/{location_id}/storage-units/{storage_unit}/excursions"): set(
        MANAGERS
    ),
    ("GET", "/api/v1/locations/{location_id}/inventory-levels"): set(STAFF),
    ("GET", "/api/v1/inventory-levels"): {"state_admin"},
}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def api_operations(app):
    """(METHOD, templated path) of every /api/v1 route but the document itself."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "openapi":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((method, path))
    return operations


def test_the_document_is_public_openapi_3(client, spec):
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "CVMS API"
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert "Error" in spec["components"]["schemas"]


def test_every_api_route_is_documented_with_its_methods(app, spec):
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented == api_operations(app)
    # The core routes keep the rules below; every route, these and later ones, is checked by
    # the generated matrix in test_authorization_matrix.py.
    assert documented >= set(EXPECTED_ROLES)


def test_every_protected_operation_lists_its_roles_and_security(spec):
    for (method, path), roles in EXPECTED_ROLES.items():
        operation = spec["paths"][path][method.lower()]
        assert operation["summary"]
        assert operation["tags"]
        if roles is None:
            assert "security" not in operation
            assert "x-roles" not in operation
            continue
        # A partner's API key (X-API-Key) is the alternative on operations with x-scopes.
        assert operation["security"][0] == {"bearer": []}
        assert operation["security"][1:] == ([{"apiKey": []}] if "x-scopes" in operation else [])
        assert set(operation["x-roles"]) == roles
        assert operation["x-location-scoped"] == ("{location_id}" in path)
        for status in ("401", "403", "503"):
            assert status in operation["responses"], (method, path, status)


def test_path_parameters_and_bodies_are_described(spec):
    resolve = spec["paths"][
        "/api/v1/locations/{location_id}/discrepancies/{discrepancy_id}/resolve"
    ]
    parameters = resolve["post"]["parameters"]
    assert [p["name"] for p in parameters] == ["discrepancy_id", "location_id"]
    assert all(p["in"] == "path" and p["required"] for p in parameters)
    assert "404" in resolve["post"]["responses"]
    lots = spec["paths"]["/api/v1/locations/{location_id}/lots"]["post"]
    assert lots["requestBody"]["required"] is True
    assert {"201", "200", "400", "422"} <= set(lots["responses"])
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert {"200", "400", "401"} <= set(token["responses"])
    schemas = spec["components"]["schemas"]
    receive = next(s for name, s in schemas.items() if name.startswith("ReceiveLotRequest"))
    assert set(receive["required"]) == {
        "shipment_id",
        "product_id",
        "lot_number",
        "expiration_date",
        "doses",
    }
    # the password is never part of a documented response, and is write-only in the request
    response_schema = next(s for name, s in schemas.items() if name.startswith("TokenResponse"))
    assert "password" not in response_schema["properties"]
    request_schema = next(s for name, s in schemas.items() if name.startswith("TokenRequest"))
    assert request_schema["properties"]["password"].get("writeOnly") is True


def test_the_document_lists_the_states_an_address_may_be_in(spec):
    # The portal's contact form offers exactly these (portal.views.recipient.us_states).
    address = spec["components"]["schemas"]["RecipientAddress"]
    assert address["properties"]["state"]["enum"] == US_STATES


def test_standard_error_descriptions_cover_the_codes_used(spec):
    for item in spec["paths"].values():
        for operation in item.values():
            for status in operation["responses"]:
                assert int(status) in STANDARD_ERRORS or int(status) < 400


# -- check_every_route_declared -------------------------------------------------------------------
def test_a_route_without_an_access_rule_stops_the_app():
    app = Flask("t")

    @app.get("/api/v1/open")
    @public
    def open_route():
        return "ok"

    @app.get("/api/v1/staff")
    @allow("state_admin")
    def staff_route():
        return "ok"

    @app.get("/not-api")
    def elsewhere():
        return "ok"

    check_every_route_declared(app)  # all declared

    @app.get("/api/v1/forgotten/<thing>")
    def forgotten(thing):
        return thing

    with pytest.raises(RuntimeError, match=r"/api/v1/forgotten/<thing>"):
        check_every_route_declared(app)


def test_documentation_alone_is_not_an_access_rule():
    app = Flask("t")

    @app.get("/api/v1/documented")
    @doc("Documented but not declared", tag="x")
    def documented():
        return "ok"

    with pytest.raises(RuntimeError, match="routes without an access rule"):
        check_every_route_declared(app)


def test_the_real_app_declares_every_route(app):
    check_every_route_declared(app)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            assert hasattr(app.view_functions[rule.endpoint], ACCESS_ATTR), rule.rule


def test_allow_keeps_the_view_name_and_declares_access():
    def view(location_id):
        return location_id

    guarded = allow("vaccinator", location_scoped=True)(view)
    access = getattr(guarded, ACCESS_ATTR)
    assert guarded.__name__ == "view"
    assert access.roles == frozenset({"vaccinator"})
    assert access.location_scoped is True
    assert getattr(public(view), ACCESS_ATTR).roles is None
