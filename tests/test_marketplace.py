"""The Vaccine Marketplace through the gateway's HTTP API, against the running services: an offer
holds doses at the offering location; a claim, accepted in part, shipped and received moves
exactly the accepted doses, visible in both locations' stock and ledgers, usable at the
destination as the same lot; concurrent claims never take more than is offered; withdrawing
releases the hold; a cold-chain failure ends as wastage at the destination; the claiming party
cannot answer its own claim."""

from __future__ import annotations

import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import new_location, receive_lot
from tests.harness import BIN, Api, AuthorizedApi, Cluster, wait_until

GRAY = "pfizer-gray-12plus"
PASSWORD = "marketplace-test-password"


@dataclass
class Party:
    location: str
    api: AuthorizedApi


def manager_of(cluster: Cluster, api: Api, name: str) -> Party:
    """A new location of this run and a location manager of it (as an operator creates them)."""
    location = new_location(cluster, name)
    username = f"manager.{location}"
    subprocess.run(
        [
            str(BIN / "cvms-identity"),
            "create-user",
            "--username",
            username,
            "--role",
            "location_manager",
            "--location",
            location,
            "--password",
            PASSWORD,
        ],
        env=cluster.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Party(location, api.as_user(username, PASSWORD))


@pytest.fixture
def a(cluster, api) -> Party:
    return manager_of(cluster, api, "Offering clinic")


@pytest.fixture
def b(cluster, api) -> Party:
    return manager_of(cluster, api, "Claiming clinic")


@pytest.fixture
def c(cluster, api) -> Party:
    return manager_of(cluster, api, "Another clinic")


def market(party: Party) -> str:
    return f"/locations/{party.location}/marketplace"


def offer(party: Party, lot: dict, doses: int, **overrides) -> dict:
    response = party.api.post(
        f"{market(party)}/offers",
        json={
            "offer_id": f"offer-{uuid.uuid4().hex[:10]}",
            "lot_id": lot["id"],
            "doses": doses,
            "min_per_claim": 1,
            "available_until": "2030-06-30",
            "fulfilment": "shipped",
            "transit_days": 2,
            **overrides,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def claim(party: Party, offered: dict, doses: int) -> requests.Response:
    return party.api.post(
        f"{market(party)}/claims",
        json={
            "claim_id": f"claim-{uuid.uuid4().hex[:10]}",
            "offer_id": offered["offer_id"],
            "doses": doses,
        },
    )


def lots(party: Party) -> dict[str, dict]:
    response = party.api.get(f"/locations/{party.location}/inventory")
    assert response.status_code == 200, response.text
    return {lot["lot_number"]: lot for lot in response.json()["lots"]}


def ledger(party: Party, lot_id: str) -> list[tuple[str, int]]:
    response = party.api.get(f"/locations/{party.location}/lots/{lot_id}/ledger")
    assert response.status_code == 200, response.text
    return [(e["reason"], e["delta"]) for e in response.json()["entries"]]


def test_offer_claim_accept_ship_receive_moves_exactly_the_accepted_doses(cluster, a, b):
    lot = receive_lot(a.api, a.location, 20)
    offered = offer(a, lot, 10)
    assert (
        lots(a)[lot["lot_number"]]["doses_on_hand"],
        lots(a)[lot["lot_number"]]["doses_held"],
    ) == (
        20,
        10,
    )

    found = b.api.get(f"{market(b)}/search", params={"product_id": GRAY})
    assert offered["offer_id"] in [o["offer_id"] for o in found.json()]
    claimed = claim(b, offered, 6)
    assert claimed.status_code == 201, claimed.text
    claim_id = claimed.json()["claim_id"]
    accepted = a.api.post(f"{market(a)}/claims/{claim_id}/accept", json={"doses": 4})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["doses_accepted"] == 4
    shipped = a.api.post(f"{market(a)}/claims/{claim_id}/ship")
    assert shipped.status_code == 200, shipped.text
    here = lots(a)[lot["lot_number"]]
    assert (here["doses_on_hand"], here["doses_held"]) == (16, 6)
    assert lot["lot_number"] not in lots(b)

    received = b.api.post(
        f"{market(b)}/claims/{claim_id}/receive",
        json={"doses_received": 4, "arrival_temperature_c": -72.5, "data_logger_id": "LOG-1"},
    )

    assert received.status_code == 200, received.text
    assert (received.json()["status"], received.json()["problem"]) == ("received", None)
    there = lots(b)[lot["lot_number"]]
    assert (there["doses_on_hand"], there["doses_held"]) == (4, 0)
    assert (there["product_id"], there["expiration_date"]) == (GRAY, lot["expiration_date"])
    assert ("transferred_out", -4) in ledger(a, lot["id"])
    assert ledger(b, there["id"]) == [("transferred_in", 4)]
    # Usable there as the same lot: a dose recorded from it comes off B's stock.
    recipient = b.api.post(
        "/recipients",
        json={"given_name": "Mo", "family_name": "Market", "birth_date": "1970-05-17"},
    ).json()
    dose = b.api.administer(b.location, there["id"], recipient["id"])
    assert dose.status_code == 201, dose.text
    wait_until(
        lambda: lots(b)[lot["lot_number"]]["doses_on_hand"] == 3,
        what="the dose taken off the received lot",
    )
    # The rest of the claim (2 of 6) went back on offer; the steps' events were all published.
    assert a.api.get(f"{market(a)}/offers/{offered['offer_id']}").json()["doses_unclaimed"] == 6
    engine = create_engine(cluster.run.database_url("marketplace"))

    def unsent() -> int:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            ).scalar()

    try:
        wait_until(
            lambda: unsent() == 0,
            timeout=30,
            what="the marketplace's events published by its relay",
        )
        with engine.connect() as connection:
            published = {
                row[0] for row in connection.execute(text("SELECT event_type FROM outbox"))
            }
    finally:
        engine.dispose()
    assert {
        "surplus_offered",
        "claim_requested",
        "claim_accepted",
        "transfer_shipped",
        "transfer_received",
    } <= published


def test_twenty_concurrent_claims_on_ten_doses_never_take_more_than_ten(a, b, c, api):
    lot = receive_lot(a.api, a.location, 10)
    offered = offer(a, lot, 10)
    headers = {b.location: b.api.headers, c.location: c.api.headers}
    base = api.base

    def one(index: int) -> requests.Response:
        party = b if index % 2 else c
        return requests.post(
            f"{base}{market(party)}/claims",
            json={
                "claim_id": f"rush-{index}-{uuid.uuid4().hex[:8]}",
                "offer_id": offered["offer_id"],
                "doses": 1,
            },
            headers=headers[party.location],
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(one, range(20)))

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 10 + [409] * 10, [r.text for r in answers if r.status_code >= 500]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"not_enough_doses"}
    for response in (r for r in answers if r.status_code == 201):
        accepted = a.api.post(f"{market(a)}/claims/{response.json()['claim_id']}/accept")
        assert accepted.status_code == 200, accepted.text
    after = a.api.get(f"{market(a)}/offers/{offered['offer_id']}").json()
    assert after["doses_unclaimed"] == 0
    assert sum(cl["doses_accepted"] or 0 for cl in after["claims"]) == 10
    assert claim(b, offered, 1).status_code == 409


def test_withdrawing_releases_the_hold(a, b):
    lot = receive_lot(a.api, a.location, 10)
    offered = offer(a, lot, 8)
    pending = claim(b, offered, 3).json()
    assert lots(a)[lot["lot_number"]]["doses_held"] == 8
    blocked = a.api.post(
        f"/locations/{a.location}/lots/{lot['id']}/wastage",
        json={"doses": 3, "reason": "broken_vial"},
    )
    assert blocked.status_code == 422, blocked.text  # held doses are not there to waste

    withdrawn = a.api.post(f"{market(a)}/offers/{offered['offer_id']}/withdraw", json={})

    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["doses_released"]) == ("withdrawn", 8)
    here = lots(a)[lot["lot_number"]]
    assert (here["doses_on_hand"], here["doses_held"]) == (10, 0)
    declined = b.api.get(f"{market(b)}/claims/{pending['claim_id']}").json()
    assert declined["status"] == "declined"
    nxt = a.api.get(f"/locations/{a.location}/products/{GRAY}/next-lot")
    assert nxt.status_code == 200 and nxt.json()["lot_id"] == lot["id"]
    found = b.api.get(f"{market(b)}/search", params={"product_id": GRAY}).json()
    assert offered["offer_id"] not in [o["offer_id"] for o in found]


def test_a_cold_chain_failure_on_receipt_ends_as_wastage_at_the_destination(a, b):
    lot = receive_lot(a.api, a.location, 10)
    offered = offer(a, lot, 5)
    claim_id = claim(b, offered, 5).json()["claim_id"]
    assert a.api.post(f"{market(a)}/claims/{claim_id}/accept").status_code == 200
    assert a.api.post(f"{market(a)}/claims/{claim_id}/ship").status_code == 200

    received = b.api.post(
        f"{market(b)}/claims/{claim_id}/receive",
        json={"doses_received": 5, "arrival_temperature_c": 9.0, "data_logger_id": "LOG-2"},
    )

    assert received.status_code == 200, received.text
    assert received.json()["problem"] == "cold_chain_failure"
    there = lots(b)[lot["lot_number"]]
    assert there["doses_on_hand"] == 0
    assert sorted(ledger(b, there["id"])) == [("transferred_in", 5), ("wasted", -5)]
    assert lots(a)[lot["lot_number"]]["doses_on_hand"] == 5


def test_a_location_b_manager_cannot_accept_a_claim_on_location_as_offer(a, b, c):
    lot = receive_lot(a.api, a.location, 10)
    offered = offer(a, lot, 5)
    claim_id = claim(b, offered, 2).json()["claim_id"]

    under_a = b.api.post(f"{market(a)}/claims/{claim_id}/accept", json={})
    under_b = b.api.post(f"{market(b)}/claims/{claim_id}/accept", json={})
    under_c = c.api.post(f"{market(c)}/claims/{claim_id}/accept", json={})
    shipped = b.api.post(f"{market(b)}/claims/{claim_id}/ship")

    assert (under_a.status_code, under_a.json()["error"]) == (403, "forbidden")
    assert (under_b.status_code, under_b.json()["error"]) == (403, "forbidden")
    assert under_c.status_code == 404
    assert shipped.status_code == 403
    assert b.api.get(f"{market(b)}/claims/{claim_id}").json()["status"] == "requested"
    assert a.api.post(f"{market(a)}/claims/{claim_id}/accept").status_code == 200


def test_a_quarantined_offered_lot_withdraws_the_offer_and_declines_its_open_claims(a, b):
    lot = receive_lot(a.api, a.location, 10, storage_unit="fridge-Q")
    offered = offer(a, lot, 6)
    pending = claim(b, offered, 2).json()

    excursion = a.api.post(
        f"/locations/{a.location}/storage-units/fridge-Q/excursions",
        json={"observed_at": "2026-11-30T08:00:00Z", "max_c": 15.0},
    )

    assert excursion.status_code == 201, excursion.text
    wait_until(
        lambda: (
            a.api.get(f"{market(a)}/offers/{offered['offer_id']}").json()["status"] == "withdrawn"
        ),
        timeout=30,
        what="the offer withdrawn once its lot was quarantined",
    )
    assert b.api.get(f"{market(b)}/claims/{pending['claim_id']}").json()["status"] == "declined"
    wait_until(
        lambda: lots(a)[lot["lot_number"]]["doses_held"] == 0,
        what="the hold released (the inventory answer is cached for a second)",
    )
