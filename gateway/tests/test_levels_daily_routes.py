"""Stock over time (the inventory levels report's daily series): who may ask, what the gateway
validates, and what it asks inventory. The services are a fake RPC pool."""

import pytest

RANGE = "from=2026-03-01&to=2026-03-03"
SERIES = {
    "location_id": "demo-clinic",
    "product_id": None,
    "date_from": "2026-03-01",
    "date_to": "2026-03-03",
    "products": [
        {
            "product_id": "pfizer-gray-12plus",
            "on_hand_start": 20,
            "points": [
                {"date": "2026-03-01", "on_hand": 20},
                {"date": "2026-03-02", "on_hand": 17},
                {"date": "2026-03-03", "on_hand": 15},
            ],
        }
    ],
}


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager", "state.admin"])
def test_staff_of_the_location_get_its_series(client, rpc, login, user):
    rpc.answer("inventory.inventory_levels_daily", SERIES)

    response = client.get(
        f"/api/v1/locations/demo-clinic/inventory-levels/daily?{RANGE}", headers=login(user)
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == SERIES
    assert rpc.calls == [
        ("inventory.inventory_levels_daily", ("demo-clinic", "2026-03-01", "2026-03-03", None))
    ]


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager"])
def test_a_foreign_locations_series_is_403(client, rpc, login, other_clinic, user, assert_error):
    response = client.get(
        f"/api/v1/locations/{other_clinic}/inventory-levels/daily?{RANGE}", headers=login(user)
    )

    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


def test_the_state_wide_series_is_for_state_admins(client, rpc, login, assert_error):
    rpc.answer("inventory.inventory_levels_daily", {**SERIES, "location_id": None})

    refused = client.get(f"/api/v1/inventory-levels/daily?{RANGE}", headers=login("clinic.manager"))
    assert_error(refused, 403, "forbidden")

    response = client.get(
        f"/api/v1/inventory-levels/daily?{RANGE}&product_id=pfizer-gray-12plus",
        headers=login("state.admin"),
    )
    assert response.status_code == 200
    assert rpc.calls == [
        (
            "inventory.inventory_levels_daily",
            (None, "2026-03-01", "2026-03-03", "pfizer-gray-12plus"),
        )
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=2025-01-01&to=2026-03-01", "to"),
        ("to=2026-03-01", "from"),
        ("from=2026-03-01&to=yesterday", "to"),
    ],
)
def test_a_bad_range_is_refused_beside_its_field(client, rpc, login, query, field, assert_error):
    response = client.get(
        f"/api/v1/locations/demo-clinic/inventory-levels/daily?{query}",
        headers=login("clinic.manager"),
    )

    body = assert_error(response, 400, "invalid_input")
    assert field in body["fields"]
    assert rpc.calls == []


def test_the_series_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    one = spec["paths"]["/api/v1/locations/{location_id}/inventory-levels/daily"]["get"]
    every = spec["paths"]["/api/v1/inventory-levels/daily"]["get"]
    assert one["x-roles"] and every["x-roles"] == ["state_admin"]
    assert "DailyLevels" in str(one["responses"]["200"])
