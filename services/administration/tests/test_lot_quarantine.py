"""Quarantined lots: the projection of inventory's lot_quarantined / lot_released events, in
whatever order they come, and the quarantined_lot clinical rule when a dose is recorded."""

import copy
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from administration.models import Administration, LotQuarantine
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.errors import Unprocessable
from cvms_platform.tables import inbox

REASON = {"reason": "Manufacturer confirmed the excursion is within stability data."}
EXCURSION_ID = str(uuid.uuid4())


def _lot_event_body(
    event_type: str, lot: dict, at: datetime, fields: dict, correlation_id: str
) -> dict:
    """The wire body inventory's relay publishes for `lot`'s event made at `at`."""
    payload = {
        "lot_id": lot["id"],
        "location_id": lot["location_id"],
        "product_id": lot["product_id"],
        **fields,
        "doses_on_hand": lot["doses_on_hand"],
    }
    event = new_event(event_type, payload, correlation_id=correlation_id)
    return to_wire(dataclasses.replace(event, occurred_at=at))


def quarantined_body(lot: dict, at: datetime) -> dict:
    """When `lot` is quarantined at `at`."""
    fields = {
        "storage_unit": "fridge-1",
        "excursion_id": EXCURSION_ID,
        "observed_at": at - timedelta(minutes=10),
    }
    return _lot_event_body("lot_quarantined", lot, at, fields, "corr-excursion")


def released_body(lot: dict, at: datetime) -> dict:
    """When `lot` is released at `at`."""
    fields = {"note": "Doses checked against the stability data: fine."}
    return _lot_event_body("lot_released", lot, at, fields, "corr-release")


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def state(read, lot: dict) -> LotQuarantine | None:
    found = read.all(select(LotQuarantine).where(LotQuarantine.lot_id == lot["id"]))
    return found[0] if found else None


def is_refused_as_quarantined(service, dose: dict) -> bool:
    try:
        service.record_administration(dose, "nurse-1")
    except Unprocessable as refused:
        assert set(refused.errors) == {"lot_id"}
        assert "quarantined since" in refused.errors["lot_id"][0]
        return True
    return False


# -- the projection -------------------------------------------------------------------------------
def test_a_quarantine_is_kept_with_the_time_inventory_made_it(service, make_lot, read):
    lot = make_lot()
    at = hours_ago(3)

    service.on_lot_quarantined(quarantined_body(lot, at))

    kept = state(read, lot)
    assert (kept.location_id, kept.quarantined_at, kept.changed_at) == ("clinic-1", at, at)


def test_a_release_ends_the_quarantine(service, make_lot, read):
    lot = make_lot()
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    service.on_lot_released(released_body(lot, hours_ago(1)))

    assert state(read, lot).quarantined_at is None


def test_a_release_that_comes_before_its_quarantine_is_not_undone_by_it(service, make_lot, read):
    lot = make_lot()
    service.on_lot_released(released_body(lot, hours_ago(1)))

    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    assert state(read, lot).quarantined_at is None


def test_a_late_release_of_an_earlier_quarantine_does_not_end_a_newer_one(service, make_lot, read):
    lot = make_lot()
    newer = hours_ago(1)
    service.on_lot_quarantined(quarantined_body(lot, newer))

    service.on_lot_released(released_body(lot, hours_ago(2)))

    assert state(read, lot).quarantined_at == newer


def test_a_redelivered_quarantine_is_applied_once(service, make_lot, read):
    lot = make_lot()
    body = quarantined_body(lot, hours_ago(3))
    service.on_lot_quarantined(body)
    service.on_lot_released(released_body(lot, hours_ago(1)))

    service.on_lot_quarantined(copy.deepcopy(body))

    assert state(read, lot).quarantined_at is None
    assert read.count(LotQuarantine) == 1
    assert len(read.all(select(inbox.c.event_id))) == 2


def test_a_quarantine_before_the_lot_is_received_holds_once_it_is(
    service, recipient, make_lot, make_lot_received, make_dose
):
    lot = make_lot()
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    service.on_lot_received(make_lot_received(lot))

    assert is_refused_as_quarantined(service, make_dose(recipient, lot))
    service.inventory.get_lot.assert_not_called()


# -- recording a dose -----------------------------------------------------------------------------
def test_a_dose_from_a_quarantined_lot_is_refused(
    service, recipient, make_lot, make_lot_received, make_dose, read
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    assert is_refused_as_quarantined(service, make_dose(recipient, lot))
    assert read.count(Administration) == 0
    assert read.events("dose_administered") == []


def test_a_dose_given_before_the_quarantine_is_recorded(
    service, recipient, make_lot, make_lot_received, make_dose
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(0.5)))

    # make_dose gives the dose an hour ago: before the excursion was reported.
    recorded = service.record_administration(make_dose(recipient, lot), "nurse-1")

    assert recorded["administration"]["overridden_rules"] is None


def test_a_dose_from_a_released_lot_is_recorded(
    service, recipient, make_lot, make_lot_received, make_dose
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))
    service.on_lot_released(released_body(lot, hours_ago(2)))

    assert service.record_administration(make_dose(recipient, lot), "nurse-1")["created"]


def test_an_allowed_override_records_a_dose_from_a_quarantined_lot(
    service, recipient, make_lot, make_lot_received, make_dose, read
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    recorded = service.record_administration(
        make_dose(recipient, lot, override=REASON), "clinic.manager", True
    )["administration"]

    assert recorded["overridden_rules"] == ["quarantined_lot"]
    assert recorded["override_reason"] == REASON["reason"]
    assert len(read.events("dose_administered")) == 1


def test_an_override_of_a_quarantine_by_a_caller_without_the_right_is_refused(
    service, recipient, make_lot, make_lot_received, make_dose, read
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(recipient, lot, override=REASON), "nurse-1")

    assert set(raised.value.errors) == {"lot_id", "override"}
    assert read.count(Administration) == 0


def test_a_lot_inventory_answers_as_quarantined_is_refused(
    service, recipient, make_lot, make_dose, read
):
    lot = make_lot(status="quarantined", quarantined_at=hours_ago(2).isoformat())
    service.inventory.get_lot.return_value = lot

    assert is_refused_as_quarantined(service, make_dose(recipient, lot))
    assert read.count(Administration) == 0


def test_the_quarantine_inventory_answered_is_remembered_with_the_lot(
    service, recipient, make_lot, make_dose, read
):
    since = hours_ago(0.5)
    lot = make_lot(status="quarantined", quarantined_at=since.isoformat())
    service.inventory.get_lot.return_value = lot
    # Given an hour ago, before the quarantine: recorded, and the lot is known from now on.
    service.record_administration(make_dose(recipient, lot), "nurse-1")
    assert state(read, lot).quarantined_at == since

    # The quarantine event inventory sent before it answered changes nothing when it arrives.
    service.on_lot_quarantined(quarantined_body(lot, since - timedelta(seconds=1)))

    assert state(read, lot).quarantined_at == since
    other = service.register_recipient(
        {"given_name": "Grace", "family_name": "Hopper", "birth_date": "1986-12-09"}
    )["recipient"]
    later = make_dose(other, lot, administered_at=datetime.now(UTC).isoformat())
    assert is_refused_as_quarantined(service, later)
    service.inventory.get_lot.assert_called_once()


def test_a_quarantine_at_another_location_does_not_hold_here(
    service, recipient, make_lot, make_lot_received, make_dose
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body({**lot, "location_id": "clinic-9"}, hours_ago(3)))

    assert service.record_administration(make_dose(recipient, lot), "nurse-1")["created"]


def test_a_lot_inventory_chooses_is_not_refused_for_a_quarantine_it_has_since_lifted(
    service, recipient, make_lot, make_lot_received, make_dose
):
    lot = make_lot()
    service.on_lot_received(make_lot_received(lot))
    service.on_lot_quarantined(quarantined_body(lot, hours_ago(3)))
    # Inventory released it; the lot_released event is still on its way.
    service.inventory.choose_lot.return_value = {**lot, "status": "usable"}
    dose = make_dose(recipient, lot, product_id=lot["product_id"])
    del dose["lot_id"]

    assert service.record_administration(dose, "nurse-1")["administration"]["lot_id"] == lot["id"]
