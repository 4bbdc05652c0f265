"""The expiry job: expired lots are wasted once, lots expiring within 30 days announced once.

The job takes "today" as an argument, so the tests move the calendar instead of waiting."""

from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.timer import Timer
from sqlalchemy import select

from cvms_platform import contracts
from inventory.models import LedgerEntry, Lot
from inventory.service import InventoryService

LOCATION = "clinic-1"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def receive(service, make_shipment):
    def receive(expires: date, doses: int = 4, location: str = LOCATION) -> dict:
        shipment = make_shipment(doses=doses, expiration_date=expires.isoformat())
        return service.receive_lot(location, shipment)["lot"]

    return receive


def wasted_entries(read) -> list[LedgerEntry]:
    return read.all(select(LedgerEntry).where(LedgerEntry.reason == "wasted"))


def test_an_expired_lot_is_wasted_as_expired(service, receive, read):
    lot = receive(TODAY + timedelta(days=10), doses=4)

    outcome = service.run_expiry(TODAY + timedelta(days=11))

    assert outcome["wasted"] == 1
    assert service.get_lot(lot["id"])["doses_on_hand"] == 0
    [entry] = wasted_entries(read)
    assert (entry.lot_id, entry.wastage_reason) == (lot["id"], "expired")
    assert (entry.delta, entry.balance_after) == (-4, 0)
    [body] = read.events("doses_wasted")
    event = contracts.parse(body, source="inventory", event_type="doses_wasted")
    assert (event.payload["reason"], event.payload["doses"]) == ("expired", 4)
    assert str(event.payload["ledger_entry_id"]) == entry.id
    assert event.payload["doses_on_hand"] == 0
    [adjusted] = read.events("inventory_adjusted")
    assert (adjusted["payload"]["reason"], adjusted["payload"]["delta"]) == ("wasted", -4)


def test_a_lot_is_usable_on_its_expiration_date(service, receive, read):
    lot = receive(TODAY + timedelta(days=10))

    outcome = service.run_expiry(TODAY + timedelta(days=10))

    assert outcome["wasted"] == 0
    assert service.get_lot(lot["id"])["doses_on_hand"] == 4
    assert wasted_entries(read) == []


def test_running_again_wastes_nothing_more(service, receive, read):
    receive(TODAY + timedelta(days=10))
    later = TODAY + timedelta(days=11)
    service.run_expiry(later)

    again = service.run_expiry(later)
    still_later = service.run_expiry(later + timedelta(days=30))

    assert again["wasted"] == still_later["wasted"] == 0
    assert len(wasted_entries(read)) == 1
    assert len(read.events("doses_wasted")) == 1


def test_only_what_is_left_is_wasted(service, receive, make_dose, read):
    lot = receive(TODAY + timedelta(days=10), doses=4)
    service.on_dose_administered(make_dose(lot))
    service.record_wastage(LOCATION, lot["id"], {"doses": 1, "reason": "broken_vial"})

    service.run_expiry(TODAY + timedelta(days=11))

    expired = [e for e in wasted_entries(read) if e.wastage_reason == "expired"]
    assert [(e.delta, e.balance_after) for e in expired] == [(-2, 0)]


def test_an_empty_expired_lot_is_skipped(service, receive, read):
    lot = receive(TODAY + timedelta(days=10), doses=2)
    service.record_wastage(LOCATION, lot["id"], {"doses": 2, "reason": "broken_vial"})

    outcome = service.run_expiry(TODAY + timedelta(days=11))

    assert outcome["wasted"] == 0
    assert [e.wastage_reason for e in wasted_entries(read)] == ["broken_vial"]


def test_only_expired_lots_are_wasted_at_every_location(service, receive):
    soon = receive(TODAY + timedelta(days=5))
    elsewhere = receive(TODAY + timedelta(days=5), location="clinic-2")
    later = receive(TODAY + timedelta(days=60))

    outcome = service.run_expiry(TODAY + timedelta(days=6))

    assert outcome["wasted"] == 2
    assert service.get_lot(soon["id"])["doses_on_hand"] == 0
    assert service.get_lot(elsewhere["id"])["doses_on_hand"] == 0
    assert service.get_lot(later["id"])["doses_on_hand"] == 4


def test_a_quarantined_expired_lot_is_wasted_too(service, receive):
    lot = receive(TODAY + timedelta(days=3))
    service.report_excursion(
        LOCATION, "freezer-A", {"observed_at": "2026-01-01T00:00:00Z", "max_c": 20}
    )

    service.run_expiry(TODAY + timedelta(days=4))

    assert service.get_lot(lot["id"])["doses_on_hand"] == 0


# -- lot_expiring ---------------------------------------------------------------------------------
def expiring_events(read) -> list:
    return [
        contracts.parse(body, source="inventory", event_type="lot_expiring")
        for body in read.events("lot_expiring")
    ]


def test_lots_expiring_within_30_days_are_announced(service, receive, read):
    in_30 = receive(TODAY + timedelta(days=30), doses=6)
    in_31 = receive(TODAY + timedelta(days=31))
    in_0 = receive(TODAY)

    outcome = service.run_expiry(TODAY)

    assert outcome["expiring"] == 2
    events = expiring_events(read)
    assert [str(e.payload["lot_id"]) for e in events] == [in_0["id"], in_30["id"]]
    last = events[1].payload
    assert (last["days_left"], last["doses_on_hand"]) == (30, 6)
    assert last["expiration_date"] == TODAY + timedelta(days=30)
    assert (last["location_id"], last["product_id"]) == (LOCATION, "pfizer-gray-12plus")
    assert last["lot_number"] == in_30["lot_number"]
    assert in_31["id"] not in {str(e.payload["lot_id"]) for e in events}


def test_a_lot_is_announced_as_expiring_once(service, receive, read):
    lot = receive(TODAY + timedelta(days=20))

    service.run_expiry(TODAY)
    service.run_expiry(TODAY)
    service.run_expiry(TODAY + timedelta(days=5))

    assert [str(e.payload["lot_id"]) for e in expiring_events(read)] == [lot["id"]]
    [stored] = read.all(select(Lot))
    assert stored.expiring_notified_at is not None


def test_a_lot_comes_into_the_window_as_days_pass(service, receive, read):
    lot = receive(TODAY + timedelta(days=45))

    service.run_expiry(TODAY)
    assert read.events("lot_expiring") == []
    service.run_expiry(TODAY + timedelta(days=15))

    [event] = expiring_events(read)
    assert (str(event.payload["lot_id"]), event.payload["days_left"]) == (lot["id"], 30)


def test_an_empty_lot_is_not_announced_as_expiring(service, receive, read):
    lot = receive(TODAY + timedelta(days=10), doses=1)
    service.record_wastage(LOCATION, lot["id"], {"doses": 1, "reason": "broken_vial"})

    assert service.run_expiry(TODAY)["expiring"] == 0
    assert read.events("lot_expiring") == []


def test_the_timer_runs_the_job_for_the_real_today(service, receive, read, monkeypatch):
    """The entrypoint passes today's date; a lot expiring within 30 days is announced."""
    lot = receive(TODAY + timedelta(days=1))
    days = []
    run = service.run_expiry
    monkeypatch.setattr(service, "run_expiry", lambda today: days.append(today) or run(today))

    service.waste_expired_lots()

    assert days == [datetime.now(UTC).date()]
    assert [str(e.payload["lot_id"]) for e in expiring_events(read)] == [lot["id"]]
    assert service.get_lot(lot["id"])["doses_on_hand"] == 4


def test_the_job_is_an_hourly_timer_that_also_runs_at_start():
    [entrypoint] = InventoryService.waste_expired_lots.nameko_entrypoints

    assert isinstance(entrypoint, Timer)
    assert (entrypoint.interval, entrypoint.eager) == (3600, True)
