"""A partner system's API key through the running gateway: it works for its organization's
locations within its scopes, and a revoked key (like a logged-out token) stops working at once
in every gateway worker."""

from __future__ import annotations

import uuid

import requests

from tests.mail import emailed_set_password_token

KEYS = "/organizations/demo-org/api-keys"


def test_a_partner_key_works_within_its_scopes_and_dies_at_once_when_revoked(api, org_admin):
    issued = org_admin.post(KEYS, json={"name": "EHR", "scopes": ["inventory:read"]})
    assert issued.status_code == 201, issued.text
    key = {"X-API-Key": issued.json()["key"], "Connection": "close"}

    for _ in range(4):  # each on a new connection: the gateway's workers take turns
        response = requests.get(f"{api.base}/locations/demo-clinic/inventory", headers=key)
        assert response.status_code == 200, response.text
    lots = requests.post(f"{api.base}/locations/demo-clinic/lots", json={}, headers=key)
    assert lots.status_code == 403
    assert lots.json()["error"] == "insufficient_scope"
    listed = org_admin.get(KEYS).json()["api_keys"]
    assert next(k for k in listed if k["id"] == issued.json()["id"])["last_used_at"]

    revoked = org_admin.request("DELETE", f"{KEYS}/{issued.json()['id']}")
    assert revoked.status_code == 204
    for _ in range(4):
        response = requests.get(f"{api.base}/locations/demo-clinic/inventory", headers=key)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_api_key"


def test_a_logged_out_token_stops_working_at_once(api):
    session = requests.post(
        f"{api.base}/auth/token", json={"username": "org.admin", "password": "demo-org-admin"}
    ).json()
    bearer = {"Authorization": f"Bearer {session['access_token']}", "Connection": "close"}
    assert requests.get(f"{api.base}{KEYS}", headers=bearer).status_code == 200
    assert requests.post(f"{api.base}/auth/logout", json={}, headers=bearer).status_code == 204
    for _ in range(4):
        assert requests.get(f"{api.base}{KEYS}", headers=bearer).status_code == 401


def test_a_deactivated_users_token_stops_working_at_once(api, cluster, org_admin):
    email = f"temp-{uuid.uuid4().hex[:8]}@clinic.example"
    created = org_admin.post(
        "/organizations/demo-org/users",
        json={
            "name": "Temp",
            "email": email,
            "role": "vaccinator",
            "location_ids": ["demo-clinic"],
        },
    )
    assert created.status_code == 201, created.text
    link = emailed_set_password_token(cluster, email)
    password = "a temporary passphrase"
    assert requests.post(
        f"{api.base}/auth/password/set", json={"token": link, "password": password}
    ).ok
    temp = api.as_user(email, password)
    assert temp.get("/locations/demo-clinic/inventory").status_code == 200

    user_id = created.json()["user"]["id"]
    assert org_admin.post(f"/users/{user_id}/deactivate").status_code == 200
    for _ in range(4):
        response = temp.get("/locations/demo-clinic/inventory", headers={"Connection": "close"})
        assert response.status_code == 401
        assert response.json()["error"] == "token_revoked"
