import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cvms_platform.errors import InvalidInput, NotFound
from inventory.models import Discrepancy


@pytest.fixture
def discrepancy(service, make_shipment, make_dose) -> dict:
    """An open no-stock discrepancy at clinic-1: a dose given from a lot already used up."""
    lot = service.receive_lot("clinic-1", make_shipment(doses=1))["lot"]
    service.on_dose_administered(make_dose(lot))
    service.on_dose_administered(make_dose(lot))
    [found] = service.list_discrepancies("clinic-1")
    return found


@pytest.fixture
def elsewhere(service, make_shipment, make_dose) -> dict:
    """An open unknown-lot discrepancy at clinic-2."""
    lot = service.receive_lot("clinic-1", make_shipment())["lot"]
    service.on_dose_administered(make_dose(lot, location_id="clinic-2"))
    [found] = service.list_discrepancies("clinic-2")
    return found


def test_list_discrepancies_shows_the_open_ones_of_that_location_only(
    service, discrepancy, elsewhere
):
    listed = service.list_discrepancies("clinic-1")

    assert [d["id"] for d in listed] == [discrepancy["id"]]
    assert listed[0]["reason"] == "no_stock"
    assert listed[0]["resolved_at"] is None
    assert listed[0]["resolution"] is None
    assert [d["id"] for d in service.list_discrepancies("clinic-2")] == [elsewhere["id"]]


def test_list_discrepancies_oldest_first(service, make_dose, discrepancy):
    ghost = {"id": str(uuid.uuid4()), "location_id": "clinic-1"}
    ghost |= {"product_id": "pfizer-gray-12plus", "lot_number": "GHOST"}
    service.on_dose_administered(make_dose(ghost))

    listed = service.list_discrepancies("clinic-1")

    assert [d["reason"] for d in listed] == ["no_stock", "unknown_lot"]
    assert listed[0]["detected_at"] <= listed[1]["detected_at"]


def test_resolving_a_discrepancy_closes_it_with_the_resolution(service, discrepancy):
    resolved = service.resolve_discrepancy(
        "clinic-1", discrepancy["id"], "  Vial count corrected after audit.  "
    )

    assert resolved["id"] == discrepancy["id"]
    assert resolved["resolution"] == "Vial count corrected after audit."
    resolved_at = datetime.fromisoformat(resolved["resolved_at"])
    assert abs(datetime.now(UTC) - resolved_at) < timedelta(minutes=1)
    assert service.list_discrepancies("clinic-1") == []
    assert service.list_discrepancies("clinic-1", include_resolved=True) == [resolved]


def test_resolving_twice_keeps_the_first_resolution(service, discrepancy):
    first = service.resolve_discrepancy("clinic-1", discrepancy["id"], "Counted again.")

    second = service.resolve_discrepancy("clinic-1", discrepancy["id"], "Something else.")

    assert second == first


@pytest.mark.parametrize("resolution", ["", "   ", None, 42])
def test_resolving_needs_a_resolution(service, discrepancy, read, resolution):
    with pytest.raises(InvalidInput) as raised:
        service.resolve_discrepancy("clinic-1", discrepancy["id"], resolution)

    assert list(raised.value.errors) == ["resolution"]
    [stored] = read.all(select(Discrepancy))
    assert stored.resolved_at is None


def test_resolving_another_locations_discrepancy_is_not_found(
    service, discrepancy, elsewhere, read
):
    with pytest.raises(NotFound):
        service.resolve_discrepancy("clinic-1", elsewhere["id"], "Not ours to resolve.")

    assert [d["id"] for d in service.list_discrepancies("clinic-2")] == [elsewhere["id"]]


def test_resolving_an_unknown_discrepancy_is_not_found(service, discrepancy):
    with pytest.raises(NotFound):
        service.resolve_discrepancy("clinic-1", str(uuid.uuid4()), "Counted.")


def test_discrepancy_rpcs_reject_a_malformed_location_id(service, discrepancy):
    with pytest.raises(InvalidInput):
        service.list_discrepancies("clinic 1")
    with pytest.raises(InvalidInput):
        service.resolve_discrepancy(None, discrepancy["id"], "Counted.")
