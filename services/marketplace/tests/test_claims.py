"""Claims: another location asks for doses of an open offer; the offering location accepts all
or part (the rest stays on offer) or declines with a reason; unanswered claims expire; a claim
for more than is unclaimed is a clean 409; only the parties see a claim, and only the offering
location answers it."""

from datetime import timedelta

import pytest

from cvms_platform import contracts
from cvms_platform.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable

from .conftest import CLAIMING, OFFERING, OTHER, claim_request, offer_request, receive


def unclaimed(service, offer) -> int:
    return service.get_offer(OFFERING, offer["offer_id"])["doses_unclaimed"]


def test_a_claim_takes_doses_off_the_offer_until_answered(service, offer, read):
    claim = service.request_claim(
        CLAIMING, claim_request(offer, doses=4, note="For Friday."), "m.b"
    )

    assert (claim["status"], claim["doses_requested"], claim["created"]) == ("requested", 4, True)
    assert (claim["offering_location_id"], claim["location_id"]) == (OFFERING, CLAIMING)
    assert claim["requested_by"] == "m.b"
    assert unclaimed(service, offer) == 6
    [event] = read.events("claim_requested")
    parsed = contracts.parse(event, source="marketplace", event_type="claim_requested")
    assert (parsed.payload["claiming_location_id"], parsed.payload["doses"]) == (CLAIMING, 4)


def test_the_same_claim_twice_claims_once(service, offer, read):
    request = claim_request(offer, doses=4)
    service.request_claim(CLAIMING, request)
    again = service.request_claim(CLAIMING, dict(request))

    assert again["created"] is False
    assert unclaimed(service, offer) == 6
    assert len(read.events("claim_requested")) == 1
    with pytest.raises(Conflict):
        service.request_claim(CLAIMING, {**request, "doses": 5})


def test_a_claim_for_more_than_is_unclaimed_is_a_conflict(service, offer):
    service.request_claim(CLAIMING, claim_request(offer, doses=8))

    with pytest.raises(Conflict) as refused:
        service.request_claim(OTHER, claim_request(offer, doses=3))

    assert refused.value.args[1] == "not_enough_doses"
    assert unclaimed(service, offer) == 2
    # The last two may be claimed though fewer than the minimum would otherwise be refused.
    service.request_claim(OTHER, claim_request(offer, doses=2))
    assert unclaimed(service, offer) == 0


def test_a_claim_below_the_minimum_or_on_its_own_offer_is_refused(service, offer):
    with pytest.raises(Unprocessable) as small:
        service.request_claim(CLAIMING, claim_request(offer, doses=1))
    assert "doses" in small.value.errors
    with pytest.raises(Unprocessable) as own:
        service.request_claim(OFFERING, claim_request(offer, doses=2))
    assert "offer_id" in own.value.errors
    with pytest.raises(NotFound):
        service.request_claim(CLAIMING, claim_request({"offer_id": "no-such-offer"}, doses=2))
    with pytest.raises(InvalidInput):
        service.request_claim(CLAIMING, claim_request(offer, doses=0))


def test_accepting_part_leaves_the_rest_on_offer(service, offer, read):
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=6))

    accepted = service.accept_claim(OFFERING, claim["claim_id"], {"doses": 4}, "m.a")

    assert (accepted["status"], accepted["doses_accepted"], accepted["answered_by"]) == (
        "accepted",
        4,
        "m.a",
    )
    assert unclaimed(service, offer) == 6
    again = service.accept_claim(OFFERING, claim["claim_id"], {"doses": 4})
    assert again["status"] == "accepted"
    assert len(read.events("claim_accepted")) == 1
    with pytest.raises(Conflict):
        service.accept_claim(OFFERING, claim["claim_id"], {"doses": 5})
    with pytest.raises(Conflict):
        service.decline_claim(OFFERING, claim["claim_id"], {"reason": "Changed our mind."})


def test_accepting_more_than_requested_is_refused(service, offer):
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=4))

    with pytest.raises(Unprocessable):
        service.accept_claim(OFFERING, claim["claim_id"], {"doses": 5})


def test_declining_puts_the_doses_back_on_offer(service, offer, read):
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=4))

    declined = service.decline_claim(OFFERING, claim["claim_id"], {"reason": "Promised to C."})

    assert (declined["status"], declined["decline_reason"]) == ("declined", "Promised to C.")
    assert unclaimed(service, offer) == 10
    service.decline_claim(OFFERING, claim["claim_id"], {"reason": "Again."})
    [event] = [b["payload"] for b in read.events("claim_declined")]
    assert event["reason"] == "Promised to C."
    with pytest.raises(Conflict):
        service.accept_claim(OFFERING, claim["claim_id"])
    with pytest.raises(InvalidInput):
        service.decline_claim(OFFERING, claim["claim_id"], {})


def test_only_the_offering_location_answers_a_claim(service, offer):
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=4))

    with pytest.raises(Forbidden):
        service.accept_claim(CLAIMING, claim["claim_id"])
    with pytest.raises(NotFound):
        service.accept_claim(OTHER, claim["claim_id"])
    with pytest.raises(Forbidden):
        service.decline_claim(CLAIMING, claim["claim_id"], {"reason": "Mine."})
    with pytest.raises(Forbidden):
        service.ship_claim(CLAIMING, claim["claim_id"])
    assert service.get_claim(CLAIMING, claim["claim_id"])["status"] == "requested"
    with pytest.raises(NotFound):
        service.get_claim(OTHER, claim["claim_id"])


def test_an_unanswered_claim_expires_and_its_doses_go_back(
    service, offer, clock, read, monkeypatch
):
    monkeypatch.setenv("CVMS_MARKETPLACE_CLAIM_TTL_SECONDS", "3600")
    claim = service.request_claim(CLAIMING, claim_request(offer, doses=4))
    answered = service.request_claim(OTHER, claim_request(offer, doses=2))
    service.accept_claim(OFFERING, answered["claim_id"])

    clock.advance(minutes=59)
    assert service.run_sweep()["claims"] == 0
    clock.advance(minutes=2)
    with pytest.raises(Conflict) as late:
        service.accept_claim(OFFERING, claim["claim_id"])
    assert late.value.args[1] == "claim_expired"
    assert service.run_sweep()["claims"] == 1

    assert service.get_claim(CLAIMING, claim["claim_id"])["status"] == "expired"
    assert service.get_claim(OTHER, answered["claim_id"])["status"] == "accepted"
    assert unclaimed(service, offer) == 8
    assert service.run_sweep()["claims"] == 0
    [event] = read.events("claim_expired")
    contracts.parse(event, source="marketplace", event_type="claim_expired")


def test_no_claim_on_a_withdrawn_offer(service, offer):
    service.withdraw_offer(OFFERING, offer["offer_id"])

    with pytest.raises(Conflict) as refused:
        service.request_claim(CLAIMING, claim_request(offer, doses=2))

    assert refused.value.args[1] == "offer_closed"


def test_a_location_lists_the_claims_it_made_and_received(service, offer, lot):
    mine = service.create_offer(
        CLAIMING, offer_request(receive(service.inventory, CLAIMING, 6), doses=4)
    )
    made = service.request_claim(CLAIMING, claim_request(offer, doses=2))
    received = service.request_claim(OFFERING, claim_request(mine, doses=2))

    listed = {c["claim_id"] for c in service.location_claims(CLAIMING)}

    assert listed == {made["claim_id"], received["claim_id"]}
    assert {c["claim_id"] for c in service.location_claims(OTHER)} == set()
    assert len(service.all_claims()) == 2
    assert service.all_claims("accepted") == []


def test_the_claim_ttl_is_configurable(service, offer, clock, monkeypatch):
    monkeypatch.setenv("CVMS_MARKETPLACE_CLAIM_TTL_SECONDS", "600")

    claim = service.request_claim(CLAIMING, claim_request(offer, doses=2))

    assert claim["expires_at"] == (clock() + timedelta(seconds=600)).isoformat()
