"""The inventory levels report routes: who may ask, what the gateway validates, what it asks
inventory, and the CSV download. The services are a fake RPC pool."""

import csv
import io

import pytest

from cvms_platform.errors import InvalidInput

LOCATION_REPORT = "/api/v1/locations/demo-clinic/inventory-levels"
ALL_REPORT = "/api/v1/inventory-levels"
RANGE = "from=2026-03-01&to=2026-03-31"
COLUMNS = [
    "location_id",
    "product_id",
    "on_hand_start",
    "received",
    "administered",
    "administrations_voided",
    "wasted",
    "wasted_broken_vial",
    "wasted_drawn_not_administered",
    "wasted_open_vial_time_limit",
    "wasted_temperature_excursion",
    "wasted_expired",
    "wasted_other",
    "wasted_cold_chain_failure",
    "transferred_in",
    "transferred_out",
    "corrections",
    "on_hand_end",
    "expiring_within_30_days",
]


def row(location_id, product_id, **counts) -> dict:
    return {
        "location_id": location_id,
        "product_id": product_id,
        **dict.fromkeys(COLUMNS[2:], 0),
        **counts,
    }


GRAY = row("demo-clinic", "pfizer-gray-12plus", on_hand_start=4, received=20, administered=3)
GRAY.update(wasted=2, wasted_broken_vial=2, corrections=-1, on_hand_end=18)
MODERNA = row("demo-clinic", "moderna-red-18plus", received=10, on_hand_end=10)
MODERNA.update(expiring_within_30_days=10)


def report(location_id, rows, *, totals=None, grand_total=None) -> dict:
    return {
        "location_id": location_id,
        "product_id": None,
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
        "columns": COLUMNS,
        "rows": rows,
        "page": 1,
        "page_size": 50,
        "total_rows": len(rows),
        "totals": totals,
        "grand_total": grand_total,
    }


def parse_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def as_csv_row(values: dict) -> dict:
    return {column: "" if values[column] is None else str(values[column]) for column in COLUMNS}


# -- one location ---------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager", "state.admin"])
def test_staff_of_the_location_get_its_report(client, rpc, login, user):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", [MODERNA, GRAY]))

    response = client.get(f"{LOCATION_REPORT}?{RANGE}", headers=login(user))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rows"] == [MODERNA, GRAY]
    assert rpc.calls == [
        ("inventory.inventory_levels", ("demo-clinic", "2026-03-01", "2026-03-31", None, 1, 50))
    ]


def test_the_product_filter_and_page_are_passed_on(client, rpc, login):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", [GRAY]))

    response = client.get(
        f"{LOCATION_REPORT}?{RANGE}&product_id=pfizer-gray-12plus&page=2&limit=10",
        headers=login("clinic.manager"),
    )

    assert response.status_code == 200
    assert rpc.calls == [
        (
            "inventory.inventory_levels",
            ("demo-clinic", "2026-03-01", "2026-03-31", "pfizer-gray-12plus", 2, 10),
        )
    ]


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager"])
def test_a_foreign_locations_report_is_403(client, rpc, login, other_clinic, user, assert_error):
    response = client.get(
        f"/api/v1/locations/{other_clinic}/inventory-levels?{RANGE}", headers=login(user)
    )

    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


def test_the_report_needs_a_token(client, rpc, assert_error):
    assert_error(client.get(f"{LOCATION_REPORT}?{RANGE}"), 401, "unauthenticated")
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"from", "to"}),
        ("from=2026-03-01", {"to"}),
        ("from=2026-03-31&to=2026-03-01", {"to"}),  # ends before it starts
        ("from=2025-03-01&to=2026-03-02", {"to"}),  # 367 days
        ("from=yesterday&to=2026-03-01", {"from"}),
        (f"{RANGE}&limit=201", {"limit"}),
        (f"{RANGE}&limit=0", {"limit"}),
        (f"{RANGE}&page=0", {"page"}),
        (f"{RANGE}&format=xml", {"format"}),
        (f"{RANGE}&product_id=" + "x" * 65, {"product_id"}),
        (f"{RANGE}&colour=red", {"colour"}),
    ],
)
def test_a_bad_query_is_400_with_field_errors_and_asks_nothing(
    client, rpc, login, query, fields, assert_error
):
    response = client.get(f"{LOCATION_REPORT}?{query}", headers=login("clinic.manager"))

    body = assert_error(response, 400, "invalid_input")
    assert set(body["fields"]) == fields
    assert rpc.calls == []


def test_a_range_of_366_days_is_allowed(client, rpc, login):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", []))

    response = client.get(
        f"{LOCATION_REPORT}?from=2025-03-02&to=2026-03-02", headers=login("clinic.manager")
    )

    assert response.status_code == 200


def test_an_invalid_input_from_inventory_is_400(client, rpc, login, assert_error):
    rpc.answer("inventory.inventory_levels", InvalidInput({"product_id": ["Too long."]}))

    response = client.get(f"{LOCATION_REPORT}?{RANGE}", headers=login("clinic.manager"))

    assert assert_error(response, 400, "invalid_input")["fields"] == {"product_id": ["Too long."]}


# -- CSV ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("suffix", "headers"),
    [("&format=csv", {}), ("", {"Accept": "text/csv"}), ("", {"Accept": "text/csv, */*;q=0.1"})],
)
def test_the_csv_download_has_the_same_rows_and_columns_as_json(
    client, rpc, login, suffix, headers
):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", [MODERNA, GRAY]))
    user = login("clinic.manager", **headers)
    as_json = client.get(f"{LOCATION_REPORT}?{RANGE}", headers=login("clinic.manager")).get_json()

    response = client.get(f"{LOCATION_REPORT}?{RANGE}{suffix}", headers=user)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="inventory-levels-demo-clinic-2026-03-01-2026-03-31.csv"'
    )
    text = response.get_data(as_text=True)
    assert next(csv.reader(io.StringIO(text))) == COLUMNS
    assert parse_csv(response) == [as_csv_row(r) for r in as_json["rows"]]


def test_json_is_the_default_for_any_accept(client, rpc, login):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", [GRAY]))

    response = client.get(
        f"{LOCATION_REPORT}?{RANGE}", headers=login("clinic.manager", Accept="*/*")
    )

    assert response.mimetype == "application/json"


def test_format_json_wins_over_accept_csv(client, rpc, login):
    rpc.answer("inventory.inventory_levels", report("demo-clinic", [GRAY]))

    response = client.get(
        f"{LOCATION_REPORT}?{RANGE}&format=json",
        headers=login("clinic.manager", Accept="text/csv"),
    )

    assert response.mimetype == "application/json"


# -- every location -------------------------------------------------------------------------------
ELSEWHERE = row("other-clinic", "pfizer-gray-12plus", received=5, on_hand_end=5)
TOTAL_GRAY = {
    **{c: GRAY[c] + ELSEWHERE[c] for c in COLUMNS[2:]},
    "location_id": None,
    "product_id": "pfizer-gray-12plus",
}
TOTAL_MODERNA = {**MODERNA, "location_id": None}
GRAND = {
    **{c: TOTAL_GRAY[c] + TOTAL_MODERNA[c] for c in COLUMNS[2:]},
    "location_id": None,
    "product_id": None,
}
EVERYWHERE = report(
    None,
    [MODERNA, GRAY, ELSEWHERE],
    totals=[TOTAL_MODERNA, TOTAL_GRAY],
    grand_total=GRAND,
)


def test_a_state_admin_gets_every_location_and_the_totals(client, rpc, login):
    rpc.answer("inventory.inventory_levels", EVERYWHERE)

    response = client.get(f"{ALL_REPORT}?{RANGE}&page=3&limit=200", headers=login("state.admin"))

    assert response.status_code == 200
    body = response.get_json()
    assert body["rows"] == [MODERNA, GRAY, ELSEWHERE]
    assert (body["totals"], body["grand_total"]) == ([TOTAL_MODERNA, TOTAL_GRAY], GRAND)
    assert rpc.calls == [
        ("inventory.inventory_levels", (None, "2026-03-01", "2026-03-31", None, 3, 200))
    ]


@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager"])
def test_only_a_state_admin_sees_every_location(client, rpc, login, user, assert_error):
    assert_error(client.get(f"{ALL_REPORT}?{RANGE}", headers=login(user)), 403, "forbidden")
    assert rpc.calls == []


def test_every_locations_query_is_validated_too(client, rpc, login, assert_error):
    response = client.get(
        f"{ALL_REPORT}?from=2026-03-02&to=2026-03-01", headers=login("state.admin")
    )

    assert set(assert_error(response, 400, "invalid_input")["fields"]) == {"to"}
    assert rpc.calls == []


def test_every_locations_csv_has_the_rows_then_the_totals(client, rpc, login):
    rpc.answer("inventory.inventory_levels", EVERYWHERE)

    response = client.get(f"{ALL_REPORT}?{RANGE}&format=csv", headers=login("state.admin"))

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="inventory-levels-all-2026-03-01-2026-03-31.csv"'
    )
    assert response.headers["X-Total-Rows"] == "3"
    rows = parse_csv(response)
    assert rows[:3] == [as_csv_row(r) for r in EVERYWHERE["rows"]]
    assert rows[3:] == [
        as_csv_row({**TOTAL_MODERNA, "location_id": "ALL"}),
        as_csv_row({**TOTAL_GRAY, "location_id": "ALL"}),
        as_csv_row({**GRAND, "location_id": "ALL", "product_id": "ALL"}),
    ]
    for column in COLUMNS[2:]:
        assert int(rows[-1][column]) == sum(int(r[column]) for r in rows[:3])


def test_the_routes_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    one = spec["paths"]["/api/v1/locations/{location_id}/inventory-levels"]["get"]
    every = spec["paths"]["/api/v1/inventory-levels"]["get"]
    assert (one["x-roles"], one["x-location-scoped"]) == (
        ["location_manager", "org_admin", "state_admin", "vaccinator"],
        True,
    )
    assert (every["x-roles"], every["x-location-scoped"]) == (["state_admin"], False)
    row_schema = spec["components"]["schemas"]["InventoryLevelsRow"]["properties"]
    assert set(row_schema) == set(COLUMNS)
