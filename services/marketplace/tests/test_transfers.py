"""The transfer of accepted doses: shipped (out of the offering location's lot into transit),
then received by the claiming location as the same lot, counted, with its cold-chain
attestation; a cold-chain failure is wastage there, a short count a discrepancy. Every step
idempotent, with its events."""

import pytest

from cvms_platform import contracts
from cvms_platform.errors import Conflict, Forbidden

from .conftest import CLAIMING, OFFERING, claim_request, receipt


@pytest.fixture
def accepted(service, offer) -> dict:
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=6))
    return service.accept_claim(OFFERING, claim["claim_id"], {"doses": 4})


def stock(inventory, location) -> list[tuple[str, int, int]]:
    return [
        (lot["lot_number"], lot["doses_on_hand"], lot["doses_held"])
        for lot in inventory.location_inventory(location)
    ]


def test_offer_claim_accept_ship_receive_moves_exactly_the_accepted_doses(
    service, inventory, lot, accepted, read
):
    shipped = service.ship_claim(OFFERING, accepted["claim_id"], "m.a")

    assert (shipped["status"], shipped["shipped_by"]) == ("shipped", "m.a")
    assert stock(inventory, OFFERING) == [("FK5127", 16, 6)]  # 10 held less the 4 shipped
    assert stock(inventory, CLAIMING) == []

    received = service.receive_claim(CLAIMING, accepted["claim_id"], receipt(), "m.b")

    assert (received["status"], received["doses_received"], received["problem"]) == (
        "received",
        4,
        None,
    )
    assert stock(inventory, CLAIMING) == [("FK5127", 4, 0)]
    [there] = inventory.location_inventory(CLAIMING)
    assert received["to_lot_id"] == there["id"]
    assert (there["expiration_date"], there["product_id"]) == (
        lot["expiration_date"],
        lot["product_id"],
    )
    [event] = read.events("transfer_received")
    parsed = contracts.parse(event, source="marketplace", event_type="transfer_received")
    assert (parsed.payload["doses_shipped"], parsed.payload["doses_received"]) == (4, 4)
    assert len(read.events("transfer_shipped")) == 1
    assert read.events("transfer_problem_reported") == []


def test_shipping_and_receiving_again_change_nothing(service, inventory, accepted, read):
    service.ship_claim(OFFERING, accepted["claim_id"])
    service.ship_claim(OFFERING, accepted["claim_id"])
    service.receive_claim(CLAIMING, accepted["claim_id"], receipt())
    again = service.receive_claim(CLAIMING, accepted["claim_id"], receipt())

    assert again["status"] == "received"
    assert stock(inventory, OFFERING) == [("FK5127", 16, 6)]
    assert stock(inventory, CLAIMING) == [("FK5127", 4, 0)]
    assert len(read.events("transfer_shipped")) == 1
    assert len(read.events("transfer_received")) == 1
    with pytest.raises(Conflict):
        service.receive_claim(CLAIMING, accepted["claim_id"], receipt(doses_received=3))


def test_a_step_repeated_after_a_lost_answer_is_applied_once(service, inventory, accepted):
    """Inventory shipped, but the marketplace did not record it (its transaction failed after
    the call): shipping again finds inventory's shipment and records it, nothing doubled."""
    inventory.ship_held(
        OFFERING,
        accepted["offer_id"],
        {"shipment_id": accepted["claim_id"], "to_location_id": CLAIMING, "doses": 4},
    )

    shipped = service.ship_claim(OFFERING, accepted["claim_id"])

    assert shipped["status"] == "shipped"
    assert stock(inventory, OFFERING) == [("FK5127", 16, 6)]


def test_only_accepted_claims_ship_and_only_shipped_ones_are_received(service, offer):
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=2))

    with pytest.raises(Conflict):
        service.ship_claim(OFFERING, claim["claim_id"])
    with pytest.raises(Conflict):
        service.receive_claim(CLAIMING, claim["claim_id"], receipt(doses_received=2))
    with pytest.raises(Forbidden):
        service.receive_claim(OFFERING, claim["claim_id"], receipt(doses_received=2))


def test_a_cold_chain_failure_becomes_wastage_at_the_destination(
    service, inventory, accepted, read
):
    service.ship_claim(OFFERING, accepted["claim_id"])

    received = service.receive_claim(
        CLAIMING, accepted["claim_id"], receipt(arrival_temperature_c=8.0)
    )

    assert received["problem"] == "cold_chain_failure"
    assert stock(inventory, CLAIMING) == [("FK5127", 0, 0)]
    [problem] = [b["payload"] for b in read.events("transfer_problem_reported")]
    assert (problem["problem"], problem["doses_affected"]) == ("cold_chain_failure", 4)
    [there] = inventory.location_inventory(CLAIMING)
    wasted = inventory.lot_ledger(CLAIMING, there["id"])["entries"][0]
    assert (wasted["reason"], wasted["wastage_reason"], wasted["delta"]) == (
        "wasted",
        "cold_chain_failure",
        -4,
    )


def test_a_short_shipment_is_reported_and_left_to_reconcile(service, inventory, accepted, read):
    service.ship_claim(OFFERING, accepted["claim_id"])

    received = service.receive_claim(CLAIMING, accepted["claim_id"], receipt(doses_received=3))

    assert (received["doses_received"], received["problem"]) == (3, "short_shipment")
    assert stock(inventory, CLAIMING) == [("FK5127", 3, 0)]
    [problem] = [b["payload"] for b in read.events("transfer_problem_reported")]
    assert (problem["problem"], problem["doses_affected"]) == ("short_shipment", 1)
    assert [d["reason"] for d in inventory.list_discrepancies(CLAIMING)] == ["short_shipment"]
