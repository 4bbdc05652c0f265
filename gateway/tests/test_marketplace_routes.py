"""The marketplace's routes (gateway/api/marketplace/routes.py). The services are a fake RPC pool:
these tests check who may call, what the gateway validates (field by field), what it asks the
marketplace (the path's location and the caller's name) and how it answers."""

import pytest

from cvms_platform.errors import Conflict, Forbidden, NotFound

BASE = "/api/v1/locations/demo-clinic/marketplace"
FOREIGN = "/api/v1/locations/other-clinic/marketplace"
OFFER = {
    "offer_id": "offer-1",
    "lot_id": "0b8f6a1e-0000-4000-8000-000000000001",
    "doses": 10,
    "available_until": "2030-01-31",
    "fulfilment": "shipped",
}


def test_a_manager_offers_surplus_for_the_location(client, rpc, login):
    rpc.answer("marketplace.create_offer", {"offer_id": "offer-1", "created": True})

    response = client.post(f"{BASE}/offers", json=OFFER, headers=login("clinic.manager"))

    assert response.status_code == 201
    assert response.headers["Location"].endswith("/marketplace/offers/offer-1")
    assert rpc.calls == [("marketplace.create_offer", ("demo-clinic", OFFER, "clinic.manager"))]


def test_the_same_offer_again_is_200(client, rpc, login):
    rpc.answer("marketplace.create_offer", {"offer_id": "offer-1", "created": False})

    response = client.post(f"{BASE}/offers", json=OFFER, headers=login("clinic.manager"))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("doses", 0),
        ("doses", "10"),
        ("fulfilment", "drone"),
        ("available_until", "next week"),
        ("offer_id", ""),
        ("transit_days", -1),
        ("unknown", 1),
    ],
)
def test_a_malformed_offer_is_refused_field_by_field_before_any_call(
    client, rpc, login, field, value, assert_error
):
    body = assert_error(
        client.post(
            f"{BASE}/offers", json={**OFFER, field: value}, headers=login("clinic.manager")
        ),
        400,
        "invalid_input",
    )
    assert field in body["fields"]
    assert rpc.calls == []


def test_vaccinators_and_other_locations_managers_may_not_offer(
    client, rpc, login, other_clinic, assert_error
):
    assert_error(
        client.post(f"{BASE}/offers", json=OFFER, headers=login("clinic.vaccinator")),
        403,
        "forbidden",
    )
    assert_error(
        client.post(f"{FOREIGN}/offers", json=OFFER, headers=login("clinic.manager")),
        403,
        "forbidden",
    )
    assert rpc.calls == []


def test_a_claim_is_made_for_the_paths_location(client, rpc, login):
    claim = {"claim_id": "claim-1", "offer_id": "offer-9", "doses": 2}
    rpc.answer("marketplace.request_claim", {"claim_id": "claim-1", "created": True})

    response = client.post(f"{BASE}/claims", json=claim, headers=login("clinic.manager"))

    assert response.status_code == 201
    assert rpc.calls == [("marketplace.request_claim", ("demo-clinic", claim, "clinic.manager"))]


def test_the_last_doses_taken_is_a_clean_409(client, rpc, login, assert_error):
    rpc.answer(
        "marketplace.request_claim",
        Conflict("Only 0 doses are unclaimed.", "not_enough_doses", {"doses": ["At most 0."]}),
    )

    body = assert_error(
        client.post(
            f"{BASE}/claims",
            json={"claim_id": "claim-1", "offer_id": "offer-9", "doses": 2},
            headers=login("clinic.manager"),
        ),
        409,
        "not_enough_doses",
    )
    assert body["fields"] == {"doses": ["At most 0."]}


def test_accepting_without_a_body_accepts_it_all(client, rpc, login):
    rpc.answer("marketplace.accept_claim", {"claim_id": "claim-1", "status": "accepted"})

    response = client.post(f"{BASE}/claims/claim-1/accept", headers=login("clinic.manager"))

    assert response.status_code == 200
    assert rpc.calls == [
        ("marketplace.accept_claim", ("demo-clinic", "claim-1", {}, "clinic.manager"))
    ]


def test_the_claiming_party_may_not_accept_its_own_claim(client, rpc, login, assert_error):
    """A location B manager accepting a claim on location A's offer: under B's path the
    marketplace answers Forbidden (B is the claimant), under A's path the access rule refuses."""
    rpc.answer("marketplace.accept_claim", Forbidden("Only the offering location may do this."))

    assert_error(
        client.post(f"{BASE}/claims/claim-1/accept", json={}, headers=login("clinic.manager")),
        403,
        "forbidden",
    )


def test_a_claim_declined_needs_a_reason(client, rpc, login, assert_error):
    body = assert_error(
        client.post(f"{BASE}/claims/claim-1/decline", json={}, headers=login("clinic.manager")),
        400,
        "invalid_input",
    )
    assert "reason" in body["fields"]
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("doses_received", -1),
        ("arrival_temperature_c", "cold"),
        ("arrival_temperature_c", 500),
        ("data_logger_id", ""),
    ],
)
def test_a_receipt_is_checked_field_by_field(client, rpc, login, field, value, assert_error):
    receipt = {"doses_received": 4, "arrival_temperature_c": -70.0, "data_logger_id": "L-1"}

    body = assert_error(
        client.post(
            f"{BASE}/claims/claim-1/receive",
            json={**receipt, field: value},
            headers=login("clinic.manager"),
        ),
        400,
        "invalid_input",
    )
    assert field in body["fields"]


def test_shipping_and_receiving_pass_the_path_and_caller(client, rpc, login):
    rpc.answer("marketplace.ship_claim", {"claim_id": "claim-1", "status": "shipped"})
    rpc.answer("marketplace.receive_claim", {"claim_id": "claim-1", "status": "received"})
    receipt = {"doses_received": 4, "arrival_temperature_c": -70.0, "data_logger_id": "L-1"}

    shipped = client.post(f"{BASE}/claims/claim-1/ship", headers=login("clinic.manager"))
    received = client.post(
        f"{BASE}/claims/claim-1/receive", json=receipt, headers=login("clinic.manager")
    )

    assert (shipped.status_code, received.status_code) == (200, 200)
    assert rpc.calls == [
        ("marketplace.ship_claim", ("demo-clinic", "claim-1", "clinic.manager")),
        ("marketplace.receive_claim", ("demo-clinic", "claim-1", receipt, "clinic.manager")),
    ]


def test_the_search_reads_its_query(client, rpc, login, assert_error):
    rpc.answer("marketplace.search_offers", [])

    response = client.get(
        f"{BASE}/search?product_id=pfizer-gray-12plus&min_doses=5",
        headers=login("clinic.manager"),
    )

    assert response.status_code == 200
    assert rpc.calls == [("marketplace.search_offers", ("demo-clinic", "pfizer-gray-12plus", 5))]
    assert_error(
        client.get(f"{BASE}/search?min_doses=0", headers=login("clinic.manager")),
        400,
        "invalid_input",
    )


def test_only_state_admins_see_every_offer_and_claim(client, rpc, login, assert_error):
    rpc.answer("marketplace.all_offers", [])
    rpc.answer("marketplace.all_claims", [])

    for path in ("/api/v1/marketplace/offers", "/api/v1/marketplace/claims"):
        assert_error(client.get(path, headers=login("clinic.manager")), 403, "forbidden")
        assert client.get(path, headers=login("state.admin")).status_code == 200
    assert rpc.calls == [("marketplace.all_offers", (None,)), ("marketplace.all_claims", (None,))]


def test_an_unknown_claim_is_404(client, rpc, login, assert_error):
    rpc.answer("marketplace.get_claim", NotFound("claim claim-9 not found"))

    assert_error(
        client.get(f"{BASE}/claims/claim-9", headers=login("clinic.manager")), 404, "not_found"
    )


def test_every_marketplace_operation_is_for_managers_of_the_location(client):
    """The authorization matrix (test_authorization_matrix) calls each of them as every role for
    an own and a foreign location; this pins down what they declare."""
    spec = client.get("/api/v1/openapi.json").get_json()
    found = 0
    for path, item in spec["paths"].items():
        if "/marketplace" not in path:
            continue
        for operation in item.values():
            found += 1
            if path.startswith("/api/v1/marketplace/"):
                assert operation["x-roles"] == ["state_admin"], path
            else:
                assert set(operation["x-roles"]) == {
                    "state_admin",
                    "org_admin",
                    "location_manager",
                }, path
                assert operation["x-location-scoped"] is True, path
            assert "x-scopes" not in operation, path
    assert found == 14
