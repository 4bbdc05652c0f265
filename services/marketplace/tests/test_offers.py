"""Offers: a location's surplus doses of a lot, held in inventory while on offer; never
claimable past the lot's expiry less the transit time; withdrawn with the hold released;
found by other locations by product."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cvms_platform import contracts
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable

from .conftest import CLAIMING, EXPIRES, GRAY_CAP, OFFERING, TODAY, claim_request, offer_request


def held(inventory, lot) -> tuple[int, int]:
    answer = inventory.get_lot(lot["id"])
    return answer["doses_on_hand"], answer["doses_held"]


def test_an_offer_holds_its_doses_in_inventory(service, inventory, lot, read):
    offer = service.create_offer(OFFERING, offer_request(lot, doses=10), "manager.a")

    assert offer["created"] is True
    assert (offer["status"], offer["doses_offered"], offer["doses_unclaimed"]) == ("open", 10, 10)
    assert (offer["product_id"], offer["lot_number"]) == (GRAY_CAP, "FK5127")
    assert offer["created_by"] == "manager.a"
    assert held(inventory, lot) == (20, 10)
    [event] = read.events("surplus_offered")
    parsed = contracts.parse(event, source="marketplace", event_type="surplus_offered")
    assert (parsed.payload["offer_id"], parsed.payload["doses"]) == (offer["offer_id"], 10)


def test_the_same_offer_twice_is_made_and_held_once(service, inventory, lot, read):
    request = offer_request(lot)
    service.create_offer(OFFERING, request)
    again = service.create_offer(OFFERING, dict(request))

    assert again["created"] is False
    assert held(inventory, lot) == (20, 10)
    assert len(read.events("surplus_offered")) == 1
    with pytest.raises(Conflict):
        service.create_offer(OFFERING, {**request, "doses": 5})


def test_an_offer_ends_before_the_lot_expires_less_the_transit_time(service, inventory, lot):
    too_late = (EXPIRES - timedelta(days=1)).isoformat()

    with pytest.raises(Unprocessable) as refused:
        service.create_offer(OFFERING, offer_request(lot, available_until=too_late, transit_days=2))

    assert "available_until" in refused.value.errors
    assert held(inventory, lot) == (20, 0)
    service.create_offer(OFFERING, offer_request(lot, available_until=too_late, transit_days=1))
    past = (TODAY - timedelta(days=1)).isoformat()
    with pytest.raises(Unprocessable):
        service.create_offer(OFFERING, offer_request(lot, available_until=past))


def test_no_more_than_the_available_doses_are_offered(service, inventory, lot):
    service.create_offer(OFFERING, offer_request(lot, doses=15))

    with pytest.raises(Unprocessable) as refused:
        service.create_offer(OFFERING, offer_request(lot, doses=6))

    assert "doses" in refused.value.errors
    assert held(inventory, lot) == (20, 15)


def test_only_the_lots_own_location_offers_it(service, lot):
    with pytest.raises(NotFound):
        service.create_offer(CLAIMING, offer_request(lot))
    with pytest.raises(NotFound):
        service.create_offer(OFFERING, offer_request(lot, lot_id="no-such-lot"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("doses", 0),
        ("doses", "ten"),
        ("fulfilment", "teleported"),
        ("available_until", "soon"),
        ("transit_days", 31),
        ("offer_id", "has spaces"),
        ("min_per_claim", 11),
    ],
)
def test_a_malformed_offer_is_refused_field_by_field(service, lot, field, value):
    with pytest.raises(InvalidInput) as refused:
        service.create_offer(OFFERING, offer_request(lot, **{field: value}))
    assert field in refused.value.errors


def test_withdrawing_releases_the_hold_and_declines_pending_claims(service, inventory, lot, read):
    offer = service.create_offer(OFFERING, offer_request(lot, doses=10))
    pending = service.request_claim(CLAIMING, claim_request(offer, doses=4))

    withdrawn = service.withdraw_offer(OFFERING, offer["offer_id"], {"reason": "Needed here."})

    assert (withdrawn["status"], withdrawn["doses_released"]) == ("withdrawn", 10)
    assert withdrawn["closed_reason"] == "Needed here."
    assert held(inventory, lot) == (20, 0)
    assert service.get_claim(CLAIMING, pending["claim_id"])["status"] == "declined"
    [event] = [b["payload"] for b in read.events("surplus_withdrawn")]
    assert (event["status"], event["doses_released"]) == ("withdrawn", 10)
    assert len(read.events("claim_declined")) == 1
    again = service.withdraw_offer(OFFERING, offer["offer_id"])
    assert again["status"] == "withdrawn"
    assert len(read.events("surplus_withdrawn")) == 1
    with pytest.raises(NotFound):
        service.withdraw_offer(CLAIMING, offer["offer_id"])


def test_withdrawing_keeps_accepted_doses_held_until_shipped(service, inventory, lot):
    offer = service.create_offer(OFFERING, offer_request(lot, doses=10))
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=4))
    service.accept_claim(OFFERING, claim["claim_id"])

    withdrawn = service.withdraw_offer(OFFERING, offer["offer_id"])

    assert withdrawn["doses_released"] == 6
    assert held(inventory, lot) == (20, 4)
    shipped = service.ship_claim(OFFERING, claim["claim_id"])
    assert shipped["status"] == "shipped"
    assert held(inventory, lot) == (16, 0)


def test_an_offer_past_its_last_day_expires_and_releases_its_hold(
    service, inventory, lot, clock, read
):
    offer = service.create_offer(
        OFFERING, offer_request(lot, available_until=(TODAY + timedelta(days=3)).isoformat())
    )
    service.run_sweep()
    assert service.get_offer(OFFERING, offer["offer_id"])["status"] == "open"

    clock.advance(days=4)
    outcome = service.run_sweep()

    assert outcome["offers"] == 1
    assert service.get_offer(OFFERING, offer["offer_id"])["status"] == "expired"
    assert held(inventory, lot) == (20, 0)
    assert service.run_sweep()["offers"] == 0
    [event] = [b["payload"] for b in read.events("surplus_withdrawn")]
    assert event["status"] == "expired"


def test_the_search_finds_other_locations_open_offers_by_product(service, inventory, lot):
    offer = service.create_offer(OFFERING, offer_request(lot, doses=10))
    withdrawn = service.create_offer(OFFERING, offer_request(lot, doses=5))
    service.withdraw_offer(OFFERING, withdrawn["offer_id"])

    found = service.search_offers(CLAIMING, GRAY_CAP)

    assert [o["offer_id"] for o in found] == [offer["offer_id"]]
    assert service.search_offers(CLAIMING, "moderna-spikevax-12plus") == []
    assert service.search_offers(OFFERING, GRAY_CAP) == []  # not its own
    assert service.search_offers(CLAIMING, None, 11) == []
    with pytest.raises(InvalidInput):
        service.search_offers(CLAIMING, None, 0)


def test_a_location_sees_its_own_offers_and_a_state_admin_all(service, lot):
    offer = service.create_offer(OFFERING, offer_request(lot))

    assert [o["offer_id"] for o in service.location_offers(OFFERING)] == [offer["offer_id"]]
    assert service.location_offers(CLAIMING) == []
    assert [o["offer_id"] for o in service.all_offers("open")] == [offer["offer_id"]]
    assert service.all_offers("withdrawn") == []
    with pytest.raises(NotFound):
        service.get_offer(CLAIMING, offer["offer_id"])
    with pytest.raises(InvalidInput):
        service.all_offers("lost")


def quarantined(lot: dict) -> dict:
    """The wire body of inventory's lot_quarantined for the lot."""
    event = new_event(
        "lot_quarantined",
        {
            "lot_id": lot["id"],
            "location_id": lot["location_id"],
            "product_id": lot["product_id"],
            "storage_unit": "freezer-A",
            "excursion_id": str(uuid.uuid4()),
            "observed_at": datetime.now(UTC),
            "doses_on_hand": 20,
        },
        correlation_id="corr-excursion",
    )
    return to_wire(event)


def test_a_quarantined_lot_withdraws_its_offers_and_their_pending_claims(
    service, inventory, lot, read
):
    offer = service.create_offer(OFFERING, offer_request(lot, doses=10))
    pending = service.request_claim(CLAIMING, claim_request(offer, doses=4))
    accepted = service.request_claim(CLAIMING, claim_request(offer, doses=2))
    service.accept_claim(OFFERING, accepted["claim_id"])
    inventory.report_excursion(
        OFFERING, "freezer-A", {"observed_at": datetime.now(UTC).isoformat(), "max_c": -40.0}
    )
    body = quarantined(lot)

    service.on_lot_quarantined(body)
    service.on_lot_quarantined(body)  # redelivered: nothing more

    withdrawn = service.get_offer(OFFERING, offer["offer_id"])
    assert (withdrawn["status"], withdrawn["doses_released"]) == ("withdrawn", 8)
    assert withdrawn["closed_reason"] == "the lot was quarantined"
    assert service.get_claim(CLAIMING, pending["claim_id"])["status"] == "declined"
    # The accepted claim keeps its doses held; inventory ships nothing of a quarantined lot.
    assert held(inventory, lot) == (20, 2)
    with pytest.raises(Unprocessable):
        service.ship_claim(OFFERING, accepted["claim_id"])
    assert len(read.events("surplus_withdrawn")) == 1
