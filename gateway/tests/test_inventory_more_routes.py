"""Inventory's later routes (gateway/api/inventory/routes.py): open vials and the next lot, stock
thresholds, transfers, catalog edits and the offline form. The services are a fake RPC pool:
these tests check who may call, what the gateway validates, what it asks inventory and how it
answers."""

import base64
import uuid

import pytest

from cvms_platform.errors import Conflict, InvalidInput, NoUsableLot

LOT_ID = str(uuid.uuid4())
BASE = "/api/v1/locations/demo-clinic"
TRANSFERS = f"{BASE}/lots/{LOT_ID}/transfers"
GRAY = "pfizer-gray-12plus"


class SpyCache:
    def __init__(self):
        self.invalidated: list[str] = []

    def invalidate(self, location_id: str) -> None:
        self.invalidated.append(location_id)


@pytest.fixture
def cache(app) -> SpyCache:
    spy = SpyCache()
    app.extensions["cvms_inventory_cache"] = spy
    return spy


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    return body


# -- open vials and the next lot ------------------------------------------------------------------
def test_open_vials_are_asked_of_inventory(client, rpc, login):
    vials = [{"vial_id": "v-1", "lot_id": LOT_ID, "doses_left": 3, "seconds_left": 600}]
    rpc.answer("inventory.open_vials", vials)

    response = client.get(f"{BASE}/open-vials", headers=login("clinic.vaccinator"))

    assert response.status_code == 200
    assert response.get_json() == vials
    assert rpc.calls == [("inventory.open_vials", ("demo-clinic",))]


def test_the_next_lot_at_a_given_time(client, rpc, login):
    choice = {"lot_id": LOT_ID, "open_vial_id": None}
    rpc.answer("inventory.choose_lot", choice)

    response = client.get(
        f"{BASE}/products/{GRAY}/next-lot?at=2026-11-24T10:00:00%2B01:00",
        headers=login("clinic.vaccinator"),
    )

    assert response.get_json() == choice
    assert rpc.calls == [
        ("inventory.choose_lot", ("demo-clinic", GRAY, "2026-11-24T10:00:00+01:00"))
    ]


def test_no_usable_lot_is_422_on_the_product(client, rpc, login):
    rpc.answer("inventory.choose_lot", NoUsableLot({"product_id": ["None on hand."]}))

    response = client.get(f"{BASE}/products/{GRAY}/next-lot", headers=login("clinic.manager"))

    assert error(response, 422, "rule_violated")["fields"] == {"product_id": ["None on hand."]}


def test_a_time_without_offset_is_400(client, rpc, login):
    response = client.get(
        f"{BASE}/products/{GRAY}/next-lot?at=2026-11-24T10:00:00", headers=login("state.admin")
    )

    assert "at" in error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


# -- stock thresholds -----------------------------------------------------------------------------
def test_a_manager_sets_the_stock_threshold(client, rpc, login):
    rpc.answer("inventory.set_stock_threshold", {"location_id": "demo-clinic", "threshold_days": 5})

    response = client.put(
        f"{BASE}/stock-threshold", json={"threshold_days": 5}, headers=login("clinic.manager")
    )

    assert response.status_code == 200
    assert rpc.calls == [
        ("inventory.set_stock_threshold", ("demo-clinic", {"threshold_days": 5}, "clinic.manager"))
    ]


@pytest.mark.parametrize("days", [0, 400, "5", None])
def test_a_bad_threshold_is_400(client, rpc, login, days):
    response = client.put(
        f"{BASE}/stock-threshold", json={"threshold_days": days}, headers=login("clinic.manager")
    )

    assert "threshold_days" in error(response, 400, "invalid_input")["fields"]
    assert rpc.calls == []


def test_a_vaccinator_may_not_set_the_threshold(client, rpc, login):
    response = client.put(
        f"{BASE}/stock-threshold", json={"threshold_days": 5}, headers=login("clinic.vaccinator")
    )

    error(response, 403, "forbidden")


def test_the_days_of_supply_carry_each_products_next_lot_in_one_call(client, rpc, login):
    supply = {
        "location_id": "demo-clinic",
        "threshold_days": 7,
        "products": [
            {
                "location_id": "demo-clinic",
                "product_id": GRAY,
                "doses_on_hand": 12,
                "average_daily_use": 2.0,
                "days_of_supply": 6.0,
                "next_lot": {
                    "lot_id": LOT_ID,
                    "lot_number": "FK5127",
                    "product_id": GRAY,
                    "expiration_date": "2027-01-31",
                    "open_vial_id": None,
                },
            },
            {
                "location_id": "demo-clinic",
                "product_id": "moderna-red-18plus",
                "doses_on_hand": 0,
                "average_daily_use": 1.0,
                "days_of_supply": 0.0,
                "next_lot": None,
            },
        ],
    }
    rpc.answer("inventory.stock_supply", supply)

    response = client.get(f"{BASE}/stock-supply", headers=login("clinic.vaccinator"))

    assert response.status_code == 200
    assert response.get_json() == supply
    assert rpc.calls == [("inventory.stock_supply", ("demo-clinic",))]


def test_another_locations_days_of_supply_are_refused(client, rpc, login):
    response = client.get(
        "/api/v1/locations/other-clinic/stock-supply", headers=login("clinic.vaccinator")
    )

    assert response.status_code == 403
    assert rpc.calls == []


# -- transfers ------------------------------------------------------------------------------------
def transfer(**overrides) -> dict:
    return {"transfer_id": "TR-1", "to_location_id": "other-clinic", "doses": 4, **overrides}


def test_a_transfer_is_201_and_drops_both_locations_cached_inventory(
    client, rpc, login, cache, directory_db
):
    directory_db.add_location("other-clinic")
    answer = {**transfer(), "from_lot_id": LOT_ID, "to_lot_id": "lot-2", "created": True}
    rpc.answer("inventory.transfer_lot", answer)

    response = client.post(TRANSFERS, json=transfer(), headers=login("clinic.manager"))

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == answer
    assert rpc.calls == [("inventory.transfer_lot", ("demo-clinic", LOT_ID, transfer()))]
    assert sorted(cache.invalidated) == ["demo-clinic", "other-clinic"]


def test_a_replayed_transfer_is_200(client, rpc, login, cache, directory_db):
    directory_db.add_location("other-clinic")
    rpc.answer("inventory.transfer_lot", {**transfer(), "created": False})

    response = client.post(TRANSFERS, json=transfer(), headers=login("state.admin"))

    assert response.status_code == 200


def test_a_transfer_to_an_unknown_location_is_422_and_asks_nothing(client, rpc, login, cache):
    response = client.post(
        TRANSFERS, json=transfer(to_location_id="nowhere"), headers=login("clinic.manager")
    )

    assert list(error(response, 422, "rule_violated")["fields"]) == ["to_location_id"]
    assert rpc.calls == []


def test_a_reused_transfer_id_is_409(client, rpc, login, cache, directory_db):
    directory_db.add_location("other-clinic")
    rpc.answer("inventory.transfer_lot", Conflict("transfer TR-1 was already recorded"))

    response = client.post(TRANSFERS, json=transfer(), headers=login("clinic.manager"))

    error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"doses": 0}, "doses"),
        ({"transfer_id": ""}, "transfer_id"),
        ({"to_location_id": "a/b"}, "to_location_id"),
    ],
)
def test_a_bad_transfer_is_400(client, rpc, login, change, field):
    response = client.post(TRANSFERS, json=transfer(**change), headers=login("clinic.manager"))

    assert field in error(response, 400, "invalid_input")["fields"]


# -- catalog edits --------------------------------------------------------------------------------
def test_a_state_admin_edits_a_product(client, rpc, login):
    rpc.answer("inventory.update_product", {"id": GRAY, "beyond_use_hours": 6})

    response = client.patch(
        f"/api/v1/products/{GRAY}", json={"beyond_use_hours": 6}, headers=login("state.admin")
    )

    assert response.status_code == 200
    assert rpc.calls == [
        ("inventory.update_product", (GRAY, {"beyond_use_hours": 6}, "state.admin"))
    ]


@pytest.mark.parametrize("user", ["clinic.manager", "clinic.vaccinator"])
def test_only_state_admins_edit_the_catalog(client, rpc, login, user):
    response = client.patch(
        f"/api/v1/products/{GRAY}", json={"beyond_use_hours": 6}, headers=login(user)
    )

    error(response, 403, "forbidden")
    assert rpc.calls == []


@pytest.mark.parametrize(
    "changes", [{}, {"doses_per_vial": 0}, {"cvx_code": "1"}, {"active": "no"}]
)
def test_a_bad_edit_is_400(client, rpc, login, changes):
    response = client.patch(f"/api/v1/products/{GRAY}", json=changes, headers=login("state.admin"))

    error(response, 400, "invalid_input")
    assert rpc.calls == []


# -- the offline form -----------------------------------------------------------------------------
def test_the_pdf_form_is_a_download(client, rpc, login):
    rpc.answer(
        "inventory.levels_form",
        {
            "filename": "form.pdf",
            "content_type": "application/pdf",
            "base64": base64.b64encode(b"%PDF-1.4 test").decode(),
        },
    )

    response = client.get(
        f"{BASE}/inventory-levels/form.pdf?from=2026-11-01&to=2026-11-07",
        headers=login("clinic.vaccinator"),
    )

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == b"%PDF-1.4 test"
    assert 'filename="form.pdf"' in response.headers["Content-Disposition"]
    assert rpc.calls == [
        ("inventory.levels_form", ("demo-clinic", "2026-11-01", "2026-11-07", "pdf"))
    ]


def test_the_csv_template_defaults_its_period(client, rpc, login):
    rpc.answer(
        "inventory.levels_form",
        {"filename": "form.csv", "content_type": "text/csv", "text": "row_id\r\n"},
    )

    response = client.get(f"{BASE}/inventory-levels/form.csv", headers=login("clinic.manager"))

    assert response.mimetype == "text/csv"
    assert rpc.calls == [("inventory.levels_form", ("demo-clinic", None, None, "csv"))]


def test_an_import_answers_json_or_csv(client, rpc, login):
    outcome = {
        "location_id": "demo-clinic",
        "rows": [
            {"row_id": "r-1", "status": "recorded", "reason": None, "ledger_entry_ids": ["e"]},
            {
                "row_id": "r-2",
                "status": "rejected",
                "reason": "doses: too many",
                "ledger_entry_ids": [],
            },
        ],
        "recorded": 1,
        "rejected": 1,
    }
    rpc.answer("inventory.import_levels_form", outcome)
    headers = {**login("clinic.manager"), "Content-Type": "text/csv"}

    as_json = client.post(f"{BASE}/inventory-levels/form.csv", data="row_id\r\n", headers=headers)
    as_csv = client.post(
        f"{BASE}/inventory-levels/form.csv?format=csv", data="row_id\r\n", headers=headers
    )

    assert as_json.get_json() == outcome
    assert as_csv.mimetype == "text/csv"
    assert as_csv.get_data(as_text=True).splitlines() == [
        "row_id,status,reason,ledger_entry_ids",
        "r-1,recorded,,e",
        "r-2,rejected,doses: too many,",
    ]
    assert rpc.calls[0] == (
        "inventory.import_levels_form",
        ("demo-clinic", "row_id\r\n", "clinic.manager"),
    )


def test_an_import_that_is_not_csv_is_415(client, rpc, login):
    response = client.post(
        f"{BASE}/inventory-levels/form.csv", json={"rows": []}, headers=login("clinic.manager")
    )

    error(response, 415, "unsupported_media_type")
    assert rpc.calls == []


def test_an_import_that_is_not_the_form_is_400(client, rpc, login):
    rpc.answer("inventory.import_levels_form", InvalidInput({"body": ["Not the form."]}))
    headers = {**login("clinic.manager"), "Content-Type": "text/csv"}

    response = client.post(f"{BASE}/inventory-levels/form.csv", data="a,b\r\n", headers=headers)

    error(response, 400, "invalid_input")


def test_a_vaccinator_may_not_import(client, rpc, login):
    headers = {**login("clinic.vaccinator"), "Content-Type": "text/csv"}

    response = client.post(f"{BASE}/inventory-levels/form.csv", data="a\r\n", headers=headers)

    error(response, 403, "forbidden")
