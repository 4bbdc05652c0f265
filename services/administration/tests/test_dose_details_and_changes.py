"""How a dose was given (site, route, volume, who), product-only doses (inventory chooses the
lot), and corrections and voids that keep their history."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError

from administration.models import AdministrationChange
from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, NoUsableLot, Unprocessable

REASON = "Lot number misread from the vial."


def event_payload(read, event_type: str) -> dict:
    [body] = read.events(event_type)
    return contracts.parse(body, source="administration", event_type=event_type).payload


# -- dose details -----------------------------------------------------------------------------
def test_site_route_volume_and_who_are_kept(service, recipient, lot, make_dose):
    given = make_dose(
        recipient, lot, site="RD", route="IM", dose_volume_ml=0.3, performer_name="Pat Nurse"
    )
    recorded = service.record_administration(given, "nurse-1", False, "user-7")["administration"]
    assert (recorded["site"], recorded["route"], recorded["dose_volume_ml"]) == ("RD", "IM", 0.3)
    assert (recorded["recorded_by"], recorded["recorded_by_user_id"]) == ("nurse-1", "user-7")
    assert recorded["performer_name"] == "Pat Nurse"
    assert (recorded["status"], recorded["history"]) == ("completed", [])


@pytest.mark.parametrize(
    ("field", "value"),
    [("site", "LEFT"), ("route", "XX"), ("dose_volume_ml", 0), ("dose_volume_ml", 12.5)],
)
def test_unknown_site_route_or_a_wrong_volume_is_invalid(
    service, recipient, lot, make_dose, field, value
):
    with pytest.raises(InvalidInput) as refused:
        service.record_administration(make_dose(recipient, lot, **{field: value}), "nurse-1")
    assert set(refused.value.errors) == {field}


# -- product only: inventory chooses the lot ----------------------------------------------------
def chosen(lot: dict) -> dict:
    return {
        "lot_id": lot["id"],
        "lot_number": lot["lot_number"],
        "product_id": lot["product_id"],
        "expiration_date": lot["expiration_date"],
        "open_vial_id": None,
    }


def test_a_dose_naming_only_its_product_takes_the_lot_inventory_chooses(
    service, recipient, make_lot, make_dose, read
):
    lot = make_lot(lot_number="FEFO-1")
    service.inventory.choose_lot.return_value = chosen(lot)
    given = make_dose(recipient, lot, lot_id=None, product_id="pfizer-gray-12plus")

    recorded = service.record_administration(given, "nurse-1")["administration"]

    location, product, at = service.inventory.choose_lot.call_args.args
    assert (location, product) == ("clinic-1", "pfizer-gray-12plus")
    assert datetime.fromisoformat(at) == datetime.fromisoformat(given["administered_at"])
    assert (recorded["lot_id"], recorded["lot_number"]) == (lot["id"], "FEFO-1")
    assert str(event_payload(read, "dose_administered")["lot_id"]) == lot["id"]
    # A retry of the same record id neither asks again nor records twice.
    again = service.record_administration(given, "nurse-1")
    assert again["created"] is False
    assert service.inventory.choose_lot.call_count == 1


def test_no_usable_lot_of_the_product_is_422_on_product_id(service, recipient, lot, make_dose):
    message = "No usable lot of pfizer-gray-12plus at clinic-1."
    service.inventory.choose_lot.side_effect = NoUsableLot({"product_id": [message]})
    given = make_dose(recipient, lot, lot_id=None, product_id="pfizer-gray-12plus")
    with pytest.raises(Unprocessable) as refused:
        service.record_administration(given, "nurse-1")
    assert refused.value.errors == {"product_id": [message]}


def test_other_inventory_failures_are_not_disguised(service, recipient, lot, make_dose):
    service.inventory.choose_lot.side_effect = RemoteError("OperationalError", "db down")
    given = make_dose(recipient, lot, lot_id=None, product_id="pfizer-gray-12plus")
    with pytest.raises(RemoteError):
        service.record_administration(given, "nurse-1")


def test_a_dose_needs_a_lot_or_a_product(service, recipient, lot, make_dose):
    with pytest.raises(InvalidInput) as refused:
        service.record_administration(make_dose(recipient, lot, lot_id=None), "nurse-1")
    assert "lot_id" in refused.value.errors


# -- corrections ----------------------------------------------------------------------------------
@pytest.fixture
def recorded(service, recipient, lot, make_dose) -> dict:
    given = make_dose(recipient, lot, days_ago=1, site="LD", route="IM")
    return service.record_administration(given, "nurse-1")["administration"]


def test_a_correction_changes_the_fields_and_keeps_before_and_after(service, recorded, read):
    result = service.correct_administration(
        recorded["id"], {"site": "RD", "dose_volume_ml": 0.25, "reason": REASON}, "mgr", "u-1"
    )
    corrected = result["administration"]
    assert result["created"] is True
    assert (corrected["site"], corrected["dose_volume_ml"], corrected["route"]) == (
        "RD",
        0.25,
        "IM",
    )
    [change] = corrected["history"]
    assert (change["action"], change["reason"], change["changed_by"]) == (
        "corrected",
        REASON,
        "mgr",
    )
    assert change["before"] == {"site": "LD", "dose_volume_ml": None}
    assert change["after"] == {"site": "RD", "dose_volume_ml": 0.25}
    assert service.get_administration(recorded["id"])["history"] == corrected["history"]
    payload = event_payload(read, "administration_corrected")
    assert payload["changed"] == ["site", "dose_volume_ml"]
    assert payload["previous_lot_id"] == payload["lot_id"]
    assert (payload["reason"], payload["corrected_by"]) == (REASON, "mgr")


def test_correcting_the_lot_moves_the_dose_to_the_new_lot(service, recorded, make_lot, read):
    other = make_lot(lot_number="EW0182", product_id="moderna-red-18plus")
    service.inventory.get_lot.return_value = other

    corrected = service.correct_administration(
        recorded["id"], {"lot_id": other["id"], "reason": REASON}, "mgr"
    )["administration"]

    assert (corrected["lot_id"], corrected["lot_number"]) == (other["id"], "EW0182")
    assert corrected["product_id"] == "moderna-red-18plus"
    [change] = corrected["history"]
    assert change["before"]["lot_number"] == "FK5127"
    assert change["after"]["product_id"] == "moderna-red-18plus"
    payload = event_payload(read, "administration_corrected")
    assert (str(payload["previous_lot_id"]), str(payload["lot_id"])) == (
        recorded["lot_id"],
        other["id"],
    )
    assert (payload["previous_product_id"], payload["product_id"]) == (
        "pfizer-gray-12plus",
        "moderna-red-18plus",
    )


def test_a_correction_to_a_lot_elsewhere_or_expired_is_refused(service, recorded, make_lot):
    elsewhere = make_lot(location_id="clinic-2")
    service.inventory.get_lot.return_value = elsewhere
    with pytest.raises(Unprocessable) as refused:
        service.correct_administration(
            recorded["id"], {"lot_id": elsewhere["id"], "reason": REASON}, "mgr"
        )
    assert refused.value.errors == {"lot_id": ["This lot is not held at that location."]}
    expired_on = datetime.now(UTC).date() - timedelta(days=10)
    expired = make_lot(expiration_date=expired_on.isoformat())
    service.inventory.get_lot.return_value = expired
    with pytest.raises(Unprocessable) as refused:
        service.correct_administration(
            recorded["id"], {"lot_id": expired["id"], "reason": REASON}, "mgr"
        )
    assert refused.value.errors == {"lot_id": [f"This lot expired on {expired_on.isoformat()}."]}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with pytest.raises(Unprocessable) as refused:
        service.correct_administration(
            recorded["id"], {"administered_at": tomorrow, "reason": REASON}, "mgr"
        )
    assert "administered_at" in refused.value.errors


def test_a_correction_needs_a_reason_and_a_change(service, recorded):
    with pytest.raises(InvalidInput) as refused:
        service.correct_administration(recorded["id"], {"site": "RD"}, "mgr")
    assert set(refused.value.errors) == {"reason"}
    with pytest.raises(InvalidInput):
        service.correct_administration(recorded["id"], {"reason": REASON}, "mgr")
    with pytest.raises(Unprocessable) as refused:
        service.correct_administration(recorded["id"], {"site": "LD", "reason": REASON}, "mgr")
    assert "_schema" in refused.value.errors


def test_a_retried_correction_is_applied_once(service, recorded, read):
    correction = {"id": str(uuid.uuid4()), "site": "RD", "reason": REASON}
    first = service.correct_administration(recorded["id"], correction, "mgr")
    again = service.correct_administration(recorded["id"], correction, "mgr")
    assert (first["created"], again["created"]) == (True, False)
    assert read.count(AdministrationChange) == 1
    assert len(read.events("administration_corrected")) == 1


def test_an_unknown_dose_cannot_be_corrected_or_voided(service):
    with pytest.raises(NotFound):
        service.correct_administration(str(uuid.uuid4()), {"site": "RD", "reason": REASON}, "m")
    with pytest.raises(NotFound):
        service.void_administration(str(uuid.uuid4()), {"reason": REASON}, "m")


# -- voids ----------------------------------------------------------------------------------------
def test_a_void_keeps_the_dose_with_its_history_and_tells_inventory(service, recorded, read):
    voided = service.void_administration(
        recorded["id"], {"reason": "Recorded for the wrong person."}, "mgr", "u-1"
    )["administration"]

    assert voided["status"] == "voided"
    [change] = voided["history"]
    assert (change["action"], change["before"], change["after"]) == (
        "voided",
        {"status": "completed"},
        {"status": "voided"},
    )
    payload = event_payload(read, "administration_voided")
    assert str(payload["lot_id"]) == recorded["lot_id"]
    assert (payload["voided_by"], payload["reason"]) == ("mgr", "Recorded for the wrong person.")


def test_a_voided_dose_cannot_be_voided_again_or_corrected(service, recorded, read):
    service.void_administration(recorded["id"], {"reason": REASON}, "mgr")
    with pytest.raises(Conflict):
        service.void_administration(recorded["id"], {"reason": REASON}, "mgr")
    with pytest.raises(Conflict):
        service.correct_administration(recorded["id"], {"site": "RD", "reason": REASON}, "mgr")
    assert len(read.events("administration_voided")) == 1


def test_a_voided_dose_no_longer_counts_for_the_series(service, recipient, lot, make_dose):
    first = service.record_administration(make_dose(recipient, lot, days_ago=2), "n")
    service.void_administration(first["administration"]["id"], {"reason": REASON}, "mgr")

    # Two days after the voided dose: neither the interval nor the sequence counts it.
    again = service.record_administration(make_dose(recipient, lot, dose_number=1), "n")

    assert again["administration"]["dose_number"] == 1
    assert again["administration"]["overridden_rules"] is None
