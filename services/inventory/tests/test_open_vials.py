"""Open multi-dose vials: a dose draws from its lot's open vial within the vial's beyond-use
time, else opens one; what is left at the beyond-use time is wasted by the timer's job, which
takes its clock as an argument so the tests move time instead of waiting."""

from datetime import UTC, datetime, timedelta

from nameko.timer import Timer
from sqlalchemy import select

from cvms_platform import contracts
from inventory.models import LedgerEntry, OpenVial
from inventory.service import InventoryService

from .conftest import dose_body

LOCATION = "clinic-1"
GRAY_CAP = "pfizer-gray-12plus"  # 6 doses a vial, 12 hours beyond use


def dose(lot: dict, at: datetime | None = None, administration_id: str | None = None) -> dict:
    return dose_body(
        lot, administration_id=administration_id, administered_at=at, correlation_id="corr-vial"
    )


def receive(service, make_shipment, doses: int, **overrides) -> dict:
    return service.receive_lot(LOCATION, make_shipment(doses=doses, **overrides))["lot"]


def vials(read) -> list[OpenVial]:
    return read.all(select(OpenVial).order_by(OpenVial.opened_at))


def test_the_first_dose_opens_a_vial_and_announces_it(service, make_shipment, read):
    lot = receive(service, make_shipment, 20)
    at = datetime.now(UTC)

    service.on_dose_administered(dose(lot, at))

    [vial] = vials(read)
    assert (vial.lot_id, vial.doses_in_vial, vial.doses_left) == (lot["id"], 6, 5)
    assert vial.beyond_use_at == vial.opened_at + timedelta(hours=12)
    [body] = read.events("vial_opened")
    event = contracts.parse(body, source="inventory", event_type="vial_opened")
    assert str(event.payload["vial_id"]) == vial.id
    assert str(event.payload["lot_id"]) == lot["id"]
    assert event.payload["doses_in_vial"] == 6
    assert event.payload["beyond_use_at"] - event.payload["opened_at"] == timedelta(hours=12)
    [entry] = read.all(select(LedgerEntry).where(LedgerEntry.reason == "administered"))
    assert entry.vial_id == vial.id


def test_doses_come_from_the_open_vial_until_it_is_empty_then_a_new_one_opens(
    service, make_shipment, read
):
    lot = receive(service, make_shipment, 20)

    for _ in range(7):
        service.on_dose_administered(dose(lot))

    first, second = vials(read)
    assert (first.doses_left, first.closed_reason) == (0, "emptied")
    assert (second.doses_left, second.closed_at) == (5, None)
    assert len(read.events("vial_opened")) == 2
    assert service.get_lot(lot["id"])["doses_on_hand"] == 13


def test_a_new_vial_holds_no_more_than_the_lot_has(service, make_shipment, read):
    lot = receive(service, make_shipment, 4)

    service.on_dose_administered(dose(lot))

    [vial] = vials(read)
    assert (vial.doses_in_vial, vial.doses_left) == (4, 3)


def test_a_dose_after_the_beyond_use_time_opens_a_new_vial(service, make_shipment, read):
    lot = receive(service, make_shipment, 20)
    start = datetime.now(UTC) - timedelta(hours=11)
    service.on_dose_administered(dose(lot, start))

    service.on_dose_administered(dose(lot, start + timedelta(hours=12, minutes=1)))

    first, second = vials(read)
    assert first.doses_left == 5
    assert second.doses_left == 5


def test_a_dose_recorded_after_its_vial_would_be_beyond_use_opens_no_vial(
    service, make_shipment, read
):
    lot = receive(service, make_shipment, 20)

    service.on_dose_administered(dose(lot, datetime.now(UTC) - timedelta(days=2)))

    assert vials(read) == []
    assert read.events("vial_opened") == []
    assert service.get_lot(lot["id"])["doses_on_hand"] == 19


def test_a_dose_without_stock_opens_no_vial(service, make_shipment, read):
    lot = receive(service, make_shipment, 1)
    service.on_dose_administered(dose(lot))

    service.on_dose_administered(dose(lot))

    assert len(vials(read)) == 1
    assert service.list_discrepancies(LOCATION)[0]["reason"] == "no_stock"


def test_open_vials_lists_what_may_still_be_given_with_the_time_left(service, make_shipment):
    lot = receive(service, make_shipment, 20)
    opened = datetime.now(UTC) - timedelta(hours=2)
    service.on_dose_administered(dose(lot, opened))

    [vial] = service.open_vials(LOCATION)

    assert vial["lot_id"] == lot["id"]
    assert vial["lot_number"] == lot["lot_number"]
    assert (vial["product_id"], vial["doses_left"]) == (GRAY_CAP, 5)
    assert datetime.fromisoformat(vial["beyond_use_at"]) - datetime.fromisoformat(
        vial["opened_at"]
    ) == timedelta(hours=12)
    assert 10 * 3600 - 60 < vial["seconds_left"] <= 10 * 3600
    assert service.open_vials("clinic-2") == []


def test_open_vials_leaves_out_quarantined_lots(service, make_shipment):
    lot = receive(service, make_shipment, 20, storage_unit="freezer-Q")
    service.on_dose_administered(dose(lot))

    service.report_excursion(
        LOCATION, "freezer-Q", {"observed_at": datetime.now(UTC).isoformat(), "max_c": 10}
    )

    assert service.open_vials(LOCATION) == []


def test_the_job_wastes_what_is_left_at_the_beyond_use_time(service, make_shipment, read):
    lot = receive(service, make_shipment, 20)
    service.on_dose_administered(dose(lot))
    service.on_dose_administered(dose(lot))
    [vial] = vials(read)

    assert service.run_open_vial_time_limit(vial.beyond_use_at - timedelta(seconds=1)) == 0
    assert service.get_lot(lot["id"])["doses_on_hand"] == 18

    assert service.run_open_vial_time_limit(vial.beyond_use_at) == 1

    assert service.get_lot(lot["id"])["doses_on_hand"] == 14
    [closed] = vials(read)
    assert (closed.doses_left, closed.closed_reason) == (0, "time_limit")
    [entry] = read.all(select(LedgerEntry).where(LedgerEntry.reason == "wasted"))
    assert (entry.delta, entry.wastage_reason) == (-4, "open_vial_time_limit")
    assert entry.vial_id == vial.id
    [body] = read.events("doses_wasted")
    event = contracts.parse(body, source="inventory", event_type="doses_wasted")
    assert (event.payload["doses"], event.payload["reason"]) == (4, "open_vial_time_limit")
    assert event.payload["doses_on_hand"] == 14
    assert service.open_vials(LOCATION) == []
    # Run again: nothing more.
    assert service.run_open_vial_time_limit(vial.beyond_use_at + timedelta(hours=1)) == 0
    assert service.get_lot(lot["id"])["doses_on_hand"] == 14


def test_the_job_never_wastes_more_than_the_lot_holds(service, make_shipment, read):
    lot = receive(service, make_shipment, 20)
    service.on_dose_administered(dose(lot))
    service.correct_stock(LOCATION, lot["id"], {"delta": -17, "note": "Counted 2."})
    [vial] = vials(read)

    service.run_open_vial_time_limit(vial.beyond_use_at)

    assert service.get_lot(lot["id"])["doses_on_hand"] == 0
    [entry] = read.all(select(LedgerEntry).where(LedgerEntry.reason == "wasted"))
    assert entry.delta == -2


def test_an_emptied_vial_is_not_wasted(service, make_shipment, read):
    lot = receive(service, make_shipment, 6)
    for _ in range(6):
        service.on_dose_administered(dose(lot))
    [vial] = vials(read)

    assert service.run_open_vial_time_limit(vial.beyond_use_at + timedelta(hours=1)) == 0
    assert read.events("doses_wasted") == []


def test_the_timer_runs_every_minute_with_the_real_clock(service, monkeypatch):
    entrypoint = next(
        e for e in InventoryService.waste_open_vials.nameko_entrypoints if isinstance(e, Timer)
    )
    assert entrypoint.interval == 60
    seen = []
    monkeypatch.setattr(service, "run_open_vial_time_limit", lambda now: seen.append(now) or 0)

    service.waste_open_vials()

    [now] = seen
    assert abs((datetime.now(UTC) - now).total_seconds()) < 60


def test_doses_drawn_and_not_given_come_out_of_the_open_vial(service, make_shipment, read):
    lot = receive(service, make_shipment, 12)
    service.on_dose_administered(dose(lot))  # a vial opened: 5 left, 11 on hand

    service.record_wastage(LOCATION, lot["id"], {"doses": 2, "reason": "drawn_not_administered"})

    [vial] = vials(read)
    assert vial.doses_left == 3
    service.run_open_vial_time_limit(vial.beyond_use_at)
    # The job wastes the 3 left in the vial; the 6 of the unopened vial stay.
    assert service.get_lot(lot["id"])["doses_on_hand"] == 6


def test_a_broken_vial_is_not_taken_from_the_open_one(service, make_shipment, read):
    lot = receive(service, make_shipment, 12)
    service.on_dose_administered(dose(lot))

    service.record_wastage(LOCATION, lot["id"], {"doses": 6, "reason": "broken_vial"})

    [vial] = vials(read)
    assert vial.doses_left == 5
