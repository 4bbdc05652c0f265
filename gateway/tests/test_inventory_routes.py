"""The inventory operation routes: wastage, corrections, the lot ledger, excursions, release.

The services are a fake RPC pool: these tests check who may call each route, what the gateway
validates before asking inventory, what it asks, and that writes drop the cached inventory."""

import uuid

import pytest

from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable

LOT_ID = str(uuid.uuid4())
BASE = "/api/v1/locations/demo-clinic"
WASTAGE = f"{BASE}/lots/{LOT_ID}/wastage"
CORRECTIONS = f"{BASE}/lots/{LOT_ID}/corrections"
LEDGER = f"{BASE}/lots/{LOT_ID}/ledger"
RELEASE = f"{BASE}/lots/{LOT_ID}/release"
EXCURSIONS = f"{BASE}/storage-units/freezer-A/excursions"
READING = {"observed_at": "2026-01-10T03:15:00+00:00", "max_c": 14.5}
ENTRY = {"id": "e-1", "lot_id": LOT_ID, "reason": "wasted", "delta": -2, "balance_after": 8}


class SpyCache:
    """Records which locations' cached inventory was dropped."""

    def __init__(self):
        self.invalidated: list[str] = []

    def invalidate(self, location_id: str) -> None:
        self.invalidated.append(location_id)

    def get_or_load(self, location_id, load):  # pragma: no cover - not read by these routes
        raise AssertionError("no route here reads the inventory cache")


@pytest.fixture
def cache(app) -> SpyCache:
    spy = SpyCache()
    app.extensions["cvms_inventory_cache"] = spy
    return spy


# -- wastage --------------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["clinic.vaccinator", "clinic.manager", "state.admin"])
def test_wastage_is_201_with_the_ledger_entry_and_drops_the_cached_inventory(
    client, rpc, login, cache, user
):
    rpc.answer("inventory.record_wastage", ENTRY)
    body = {"doses": 2, "reason": "broken_vial", "note": "Dropped."}

    response = client.post(WASTAGE, json=body, headers=login(user))

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == ENTRY
    assert response.headers["Location"].endswith(LEDGER)
    assert rpc.calls == [("inventory.record_wastage", ("demo-clinic", LOT_ID, body))]
    assert cache.invalidated == ["demo-clinic"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"doses": 0, "reason": "broken_vial"}, "doses"),
        ({"doses": "2", "reason": "broken_vial"}, "doses"),
        ({"reason": "broken_vial"}, "doses"),
        ({"doses": 1, "reason": "spilled"}, "reason"),
        ({"doses": 1, "reason": "other"}, "note"),
        ({"doses": 1, "reason": "other", "note": "  "}, "note"),
        ({"doses": 1, "reason": "expired", "lot_id": "x"}, "lot_id"),
    ],
)
def test_wastage_input_is_checked_before_inventory_is_asked(
    client, rpc, login, cache, body, field, assert_error
):
    response = client.post(WASTAGE, json=body, headers=login("clinic.vaccinator"))

    assert field in assert_error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []
    assert cache.invalidated == []


def test_wasting_more_than_on_hand_is_422_and_keeps_the_cache(
    client, rpc, login, cache, assert_error
):
    rpc.answer("inventory.record_wastage", Unprocessable({"doses": ["Only 1 doses are on hand."]}))

    response = client.post(
        WASTAGE, json={"doses": 5, "reason": "broken_vial"}, headers=login("clinic.manager")
    )

    assert assert_error(response, 422, "rule_violated")["fields"] == {
        "doses": ["Only 1 doses are on hand."]
    }
    assert cache.invalidated == []


# -- corrections ----------------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["clinic.manager", "state.admin"])
def test_a_correction_is_201_with_the_ledger_entry(client, rpc, login, cache, user):
    entry = {**ENTRY, "reason": "correction", "delta": 3}
    rpc.answer("inventory.correct_stock", entry)
    body = {"delta": 3, "note": "Counted again."}

    response = client.post(CORRECTIONS, json=body, headers=login(user))

    assert response.status_code == 201
    assert response.get_json() == entry
    assert rpc.calls == [("inventory.correct_stock", ("demo-clinic", LOT_ID, body))]
    assert cache.invalidated == ["demo-clinic"]


def test_a_vaccinator_may_not_correct_stock(client, rpc, login, cache, assert_error):
    response = client.post(
        CORRECTIONS, json={"delta": 3, "note": "Counted."}, headers=login("clinic.vaccinator")
    )

    assert_error(response, 403, "forbidden")
    assert rpc.calls == []
    assert cache.invalidated == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 0, "note": "Nothing."}, "delta"),
        ({"delta": 1.5, "note": "Half."}, "delta"),
        ({"delta": 2}, "note"),
        ({"delta": 2, "note": " "}, "note"),
    ],
)
def test_correction_input_is_checked(client, rpc, login, body, field, assert_error):
    response = client.post(CORRECTIONS, json=body, headers=login("clinic.manager"))

    assert field in assert_error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


# -- the lot ledger -------------------------------------------------------------------------------
def test_the_ledger_defaults_to_pages_of_50(client, rpc, login):
    page = {"entries": [ENTRY], "next_before": None}
    rpc.answer("inventory.lot_ledger", page)

    response = client.get(LEDGER, headers=login("clinic.vaccinator"))

    assert response.status_code == 200
    assert response.get_json() == page
    assert rpc.calls == [("inventory.lot_ledger", ("demo-clinic", LOT_ID, 50, None))]


def test_the_ledger_passes_the_page_size_and_cursor(client, rpc, login):
    rpc.answer("inventory.lot_ledger", {"entries": [], "next_before": None})

    response = client.get(f"{LEDGER}?limit=200&before=e-9", headers=login("clinic.manager"))

    assert response.status_code == 200
    assert rpc.calls == [("inventory.lot_ledger", ("demo-clinic", LOT_ID, 200, "e-9"))]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("page=2", "page")],
)
def test_the_ledger_query_is_checked(client, rpc, login, query, field, assert_error):
    response = client.get(f"{LEDGER}?{query}", headers=login("clinic.manager"))

    assert field in assert_error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


def test_the_ledger_of_a_lot_not_at_the_location_is_404(client, rpc, login, assert_error):
    rpc.answer("inventory.lot_ledger", NotFound(f"lot {LOT_ID} not found at location x"))

    response = client.get(LEDGER, headers=login("clinic.manager"))

    assert_error(response, 404, "not_found")


# -- excursions and release -----------------------------------------------------------------------
def test_an_excursion_is_201_with_the_quarantined_lots(client, rpc, login, cache):
    answer = {"id": "x-1", "storage_unit": "freezer-A", "quarantined_lots": [{"id": LOT_ID}]}
    rpc.answer("inventory.report_excursion", answer)

    response = client.post(EXCURSIONS, json=READING, headers=login("clinic.manager"))

    assert response.status_code == 201
    assert response.get_json() == answer
    assert response.headers["Location"].endswith(f"{BASE}/inventory")
    assert rpc.calls == [("inventory.report_excursion", ("demo-clinic", "freezer-A", READING))]
    assert cache.invalidated == ["demo-clinic"]


def test_the_storage_unit_is_taken_from_the_path_decoded(client, rpc, login, cache):
    rpc.answer("inventory.report_excursion", {"id": "x-1", "quarantined_lots": []})

    client.post(
        f"{BASE}/storage-units/Fridge%202/excursions", json=READING, headers=login("state.admin")
    )

    assert rpc.calls[0][1][1] == "Fridge 2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_c": 12}, "observed_at"),
        ({"observed_at": "2026-01-10T03:15:00", "max_c": 12}, "observed_at"),
        ({"observed_at": "2026-01-10T03:15:00Z"}, "temperature_c"),
        ({"observed_at": "2026-01-10T03:15:00Z", "min_c": 9, "max_c": 2}, "min_c"),
    ],
)
def test_excursion_input_is_checked(client, rpc, login, body, field, assert_error):
    response = client.post(EXCURSIONS, json=body, headers=login("clinic.manager"))

    assert field in assert_error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


def test_release_is_200_with_the_usable_lot(client, rpc, login, cache):
    rpc.answer("inventory.release_lot", {"id": LOT_ID, "status": "usable"})

    response = client.post(RELEASE, json={"note": "Stable."}, headers=login("clinic.manager"))

    assert response.status_code == 200
    assert response.get_json() == {"id": LOT_ID, "status": "usable"}
    assert rpc.calls == [("inventory.release_lot", ("demo-clinic", LOT_ID, "Stable."))]
    assert cache.invalidated == ["demo-clinic"]


def test_releasing_a_lot_that_is_not_quarantined_is_409(client, rpc, login, cache, assert_error):
    rpc.answer("inventory.release_lot", Conflict("lot FK5127 is not quarantined"))

    response = client.post(RELEASE, json={"note": "Stable."}, headers=login("clinic.manager"))

    assert_error(response, 409, "conflict")
    assert cache.invalidated == []


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}])
def test_release_needs_a_note(client, rpc, login, body, assert_error):
    response = client.post(RELEASE, json=body, headers=login("clinic.manager"))

    assert "note" in assert_error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("path", "body"),
    [(EXCURSIONS, READING), (RELEASE, {"note": "Stable."})],
)
def test_a_vaccinator_may_not_quarantine_or_release(client, rpc, login, path, body, assert_error):
    response = client.post(path, json=body, headers=login("clinic.vaccinator"))

    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


# -- every route: foreign and unknown locations, sign-in ----------------------------------------
ROUTES = [
    ("post", "/lots/{lot}/wastage", {"doses": 1, "reason": "broken_vial"}),
    ("post", "/lots/{lot}/corrections", {"delta": 1, "note": "Counted."}),
    ("get", "/lots/{lot}/ledger", None),
    ("post", "/storage-units/freezer-A/excursions", READING),
    ("post", "/lots/{lot}/release", {"note": "Stable."}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_location_the_caller_does_not_act_for_is_403(
    client, rpc, login, other_clinic, method, path, body, assert_error
):
    url = f"/api/v1/locations/{other_clinic}" + path.format(lot=LOT_ID)

    response = getattr(client, method)(url, json=body, headers=login("clinic.manager"))

    assert_error(response, 403, "forbidden")
    assert rpc.calls == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_unknown_location_is_404_even_for_a_state_admin(
    client, rpc, login, method, path, body, assert_error
):
    url = "/api/v1/locations/nowhere" + path.format(lot=LOT_ID)

    response = getattr(client, method)(url, json=body, headers=login("state.admin"))

    assert_error(response, 404, "not_found")
    assert rpc.calls == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_without_a_token_is_401(client, rpc, method, path, body):
    url = BASE + path.format(lot=LOT_ID)

    response = getattr(client, method)(url, json=body)

    assert response.status_code == 401
    assert rpc.calls == []


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_state_admin_acts_for_any_location(
    client, rpc, login, cache, other_clinic, method, path, body
):
    for name in ("record_wastage", "correct_stock", "lot_ledger", "report_excursion"):
        rpc.answer(f"inventory.{name}", {"id": "x"})
    rpc.answer("inventory.release_lot", {"id": LOT_ID})
    url = f"/api/v1/locations/{other_clinic}" + path.format(lot=LOT_ID)

    response = getattr(client, method)(url, json=body, headers=login("state.admin"))

    assert response.status_code in (200, 201), response.get_json()
    [(_, args)] = rpc.calls
    assert args[0] == other_clinic


def test_service_field_errors_are_passed_on(client, rpc, login, assert_error):
    rpc.answer("inventory.correct_stock", InvalidInput({"note": ["Say why."]}))

    response = client.post(
        CORRECTIONS, json={"delta": 1, "note": "x"}, headers=login("clinic.manager")
    )

    assert assert_error(response, 400, "invalid_input")["fields"] == {"note": ["Say why."]}


# -- the OpenAPI document -------------------------------------------------------------------------
def test_the_document_describes_the_new_bodies_and_answers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    wastage = paths["/api/v1/locations/{location_id}/lots/{lot_id}/wastage"]["post"]
    assert wastage["requestBody"]["required"] is True
    assert {"201", "400", "403", "404", "422"} <= set(wastage["responses"])
    excursion = paths["/api/v1/locations/{location_id}/storage-units/{storage_unit}/excursions"]
    assert [p["name"] for p in excursion["post"]["parameters"]] == ["location_id", "storage_unit"]
    schemas = spec["components"]["schemas"]
    request = next(s for name, s in schemas.items() if name.startswith("WastageRequest"))
    assert set(request["required"]) == {"doses", "reason"}
    assert "broken_vial" in request["properties"]["reason"]["description"]
    lot = next(s for name, s in schemas.items() if name == "Lot")
    assert "status" in lot["properties"]
    assert (
        "409" in paths["/api/v1/locations/{location_id}/lots/{lot_id}/release"]["post"]["responses"]
    )
