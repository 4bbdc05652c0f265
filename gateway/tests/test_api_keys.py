"""API keys for partner systems: shown once, stored hashed, scoped, revocable at once."""

import hashlib

from gateway.hardening import _user_or_ip
from identity.models import ApiKey

KEYS = "/api/v1/organizations/demo-org/api-keys"


def issue(client, login, scopes, who="org.admin"):
    response = client.post(KEYS, json={"name": "EHR bridge", "scopes": scopes}, headers=login(who))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_key_is_shown_once_and_stored_as_its_digest(app, client, login):
    issued = issue(client, login, ["inventory:read"])
    assert issued["key"].startswith("cvms_") and issued["key"].startswith(issued["prefix"])
    with app.extensions["cvms_sessions"]() as session:
        row = session.get(ApiKey, issued["id"])
    assert row.key_hash == hashlib.sha256(issued["key"].encode()).hexdigest()
    listed = client.get(KEYS, headers=login("org.admin")).get_json()["api_keys"]
    assert [k["id"] for k in listed] == [issued["id"]]
    assert "key" not in listed[0]


def test_a_key_reaches_routes_declaring_its_scopes_for_its_organizations_locations(
    client, login, rpc, directory_db
):
    key = {"X-API-Key": issue(client, login, ["inventory:read"])["key"]}
    rpc.answer("inventory.location_inventory", [])
    rpc.answer("inventory.list_products", [])

    assert client.get("/api/v1/products", headers=key).status_code == 200
    assert client.get("/api/v1/locations/demo-clinic/inventory", headers=key).status_code == 200
    directory_db.add_location("other-clinic")
    assert client.get("/api/v1/locations/other-clinic/inventory", headers=key).status_code == 403
    # A scope the key lacks, and a route that declares none.
    lots = client.post("/api/v1/locations/demo-clinic/lots", json={}, headers=key)
    assert lots.status_code == 403
    assert lots.get_json()["error"] == "insufficient_scope"
    assert client.get("/api/v1/users", headers=key).status_code == 403


def test_a_clinic_system_reads_appointments_and_checks_people_in_with_its_scopes(
    client, login, rpc
):
    reader = {"X-API-Key": issue(client, login, ["appointments:read"])["key"]}
    kiosk = {"X-API-Key": issue(client, login, ["appointments:read", "appointments:write"])["key"]}
    rpc.answer("scheduling.list_appointments", [])
    rpc.answer("scheduling.check_in", {"status": "checked_in"})
    appointments = "/api/v1/locations/demo-clinic/appointments"
    check_in = f"{appointments}/a1/check-in"

    assert client.get(appointments, headers=reader).status_code == 200
    refused = client.post(check_in, json={}, headers=reader)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "insufficient_scope")
    assert client.post(check_in, json={}, headers=kiosk).status_code == 200
    # Who checked the person in, in the appointment's history: the key, by its shown prefix.
    assert rpc.calls[-1][1][-1] == f"api-key:{kiosk['X-API-Key'][:11]}"
    # Running the schedule stays with staff: no scope opens or closes clinic days.
    days = client.post("/api/v1/locations/demo-clinic/clinic-days", json={}, headers=kiosk)
    assert days.status_code == 403


def test_a_revoked_key_stops_working_at_once_and_its_last_use_is_shown(client, login, rpc):
    issued = issue(client, login, ["inventory:read"], who="state.admin")
    key = {"X-API-Key": issued["key"]}
    rpc.answer("inventory.list_products", [])
    assert client.get("/api/v1/products", headers=key).status_code == 200
    listed = client.get(KEYS, headers=login("org.admin")).get_json()["api_keys"]
    assert listed[0]["last_used_at"] is not None

    revoked = client.delete(f"{KEYS}/{issued['id']}", headers=login("org.admin"))
    assert revoked.status_code == 204
    response = client.get("/api/v1/products", headers=key)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_api_key"


def test_unknown_keys_and_scopes_are_refused(client, login):
    assert client.get("/api/v1/products", headers={"X-API-Key": "cvms_guess"}).status_code == 401
    response = client.post(
        KEYS, json={"name": "x", "scopes": ["everything"]}, headers=login("org.admin")
    )
    assert response.status_code == 400
    assert "scopes" in response.get_json()["fields"]
    missing = client.delete(f"{KEYS}/not-a-key", headers=login("org.admin"))
    assert missing.status_code == 404


def test_only_admins_of_the_organization_manage_its_keys(client, login):
    assert client.get(KEYS, headers=login("clinic.manager")).status_code == 403
    other = "/api/v1/organizations/other-org/api-keys"
    assert client.get(other, headers=login("org.admin")).status_code == 403
    assert (
        client.post(
            other, json={"name": "x", "scopes": ["inventory:read"]}, headers=login("state.admin")
        ).status_code
        == 404
    )  # no such organization


def test_rate_limits_count_per_key(app, client, login):
    key = issue(client, login, ["inventory:read"])
    with app.test_request_context("/api/v1/products", headers={"X-API-Key": key["key"]}):
        assert _user_or_ip() == f"key:{key['id']}"
    with app.test_request_context("/api/v1/products", headers={"X-API-Key": "cvms_wrong"}):
        assert _user_or_ip().startswith("ip:")


def test_the_document_shows_each_operations_scopes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    products = spec["paths"]["/api/v1/products"]["get"]
    assert products["x-scopes"] == ["inventory:read"]
    assert {"apiKey": []} in products["security"]
    assert "x-scopes" not in spec["paths"]["/api/v1/users"]["get"]
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"


def test_a_key_revoked_through_one_worker_soon_fails_in_every_other(make_app, poll):
    """Each gateway worker remembers a key's answer briefly (`api_key_cache_seconds`); the one
    that revoked it forgets it at once, the others when their memory of it runs out."""
    revoking, other = (make_app(api_key_cache_seconds=0.3) for _ in range(2))
    admin = revoking.test_client().post(
        "/api/v1/auth/token", json={"username": "org.admin", "password": "demo-org-admin"}
    )
    headers = {"Authorization": f"Bearer {admin.get_json()['access_token']}"}
    issued = issue(revoking.test_client(), lambda who: headers, ["inventory:read"])
    key = {"X-API-Key": issued["key"]}
    for app in (revoking, other):
        app.extensions["cvms_rpc"].cluster.answer("inventory.list_products", [])
    assert other.test_client().get("/api/v1/products", headers=key).status_code == 200

    revoked = revoking.test_client().delete(f"{KEYS}/{issued['id']}", headers=headers)
    assert revoked.status_code == 204
    assert revoking.test_client().get("/api/v1/products", headers=key).status_code == 401
    poll(lambda: other.test_client().get("/api/v1/products", headers=key).status_code == 401)
