"""State admins edit the catalog: validated, announced with product_updated, and never undone
by seeding the catalog again."""

import pytest

from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from inventory import seed

GRAY = "pfizer-gray-12plus"


def product(service, product_id: str = GRAY) -> dict:
    return next(p for p in service.list_products() if p["id"] == product_id)


def test_an_edit_changes_the_product_and_announces_the_whole_of_it(service, read):
    answer = service.update_product(
        GRAY, {"beyond_use_hours": 6, "doses_per_vial": 7}, "state.admin"
    )

    assert (answer["beyond_use_hours"], answer["doses_per_vial"]) == (6, 7)
    assert product(service)["beyond_use_hours"] == 6
    [body] = read.events("product_updated")
    event = contracts.parse(body, source="inventory", event_type="product_updated")
    assert event.payload["id"] == GRAY
    assert (event.payload["beyond_use_hours"], event.payload["doses_per_vial"]) == (6, 7)
    assert event.payload["cvx_code"] == "217"
    assert event.payload["active"] is True


def test_a_new_vial_follows_the_edited_catalog(service, make_shipment, make_dose, read):
    service.update_product(GRAY, {"doses_per_vial": 2}, "state.admin")
    lot = service.receive_lot("clinic-1", make_shipment(doses=10))["lot"]

    service.on_dose_administered(make_dose(lot))

    [vial] = service.open_vials("clinic-1")
    assert vial["doses_left"] == 1


def test_seeding_again_keeps_an_admins_edit_and_refreshes_the_rest(service, db):
    service.update_product(GRAY, {"min_age_years": 16}, "state.admin")
    db.close()

    seed.run(db.engine)
    seed.run(db.engine)

    assert product(service)["min_age_years"] == 16
    assert product(service, "moderna-red-18plus")["min_age_years"] == 18
    assert len(service.list_products()) == len(seed.catalog())


def test_an_inactive_product_takes_no_new_shipments(service, make_shipment):
    service.update_product(GRAY, {"active": False}, "state.admin")

    with pytest.raises(Unprocessable) as raised:
        service.receive_lot("clinic-1", make_shipment())

    assert list(raised.value.errors) == ["product_id"]
    assert product(service)["active"] is False


@pytest.mark.parametrize(
    "changes, field",
    [
        ({}, "_schema"),
        ({"doses_per_vial": 0}, "doses_per_vial"),
        ({"doses_per_vial": "6"}, "doses_per_vial"),
        ({"beyond_use_hours": 0}, "beyond_use_hours"),
        ({"min_age_years": -1}, "min_age_years"),
        ({"storage_min_c": 10, "storage_max_c": 2}, "storage_min_c"),
        ({"active": "yes"}, "active"),
        ({"cvx_code": "999"}, "cvx_code"),  # identifiers are not editable
        ({"name": ""}, "name"),
    ],
)
def test_bad_edits_are_invalid_input_and_change_nothing(service, read, changes, field):
    with pytest.raises(InvalidInput) as raised:
        service.update_product(GRAY, changes, "state.admin")

    assert field in raised.value.errors
    assert read.events("product_updated") == []


def test_a_storage_range_upside_down_with_the_stored_bound_is_unprocessable(service):
    with pytest.raises(Unprocessable):
        service.update_product(GRAY, {"storage_min_c": -50}, "state.admin")  # max is -60


def test_another_products_name_is_a_conflict(service):
    taken = product(service, "moderna-red-18plus")["name"]

    with pytest.raises(Conflict):
        service.update_product(GRAY, {"name": taken}, "state.admin")


def test_an_unknown_product_is_not_found(service):
    with pytest.raises(NotFound):
        service.update_product("no-such-product", {"active": False}, "state.admin")


def test_demo_stock_is_received_once_with_its_events_and_only_when_asked(
    service, db, read, monkeypatch
):
    db.close()
    seed.run(db.engine, demo=True)
    assert service.location_inventory(seed.DEMO_LOCATION) == []  # not without CVMS_DEMO_STOCK

    monkeypatch.setenv("CVMS_DEMO_STOCK", "1")
    db.close()  # the test's one pooled connection, for the seed's own session
    seed.run(db.engine, demo=True)
    seed.run(db.engine, demo=True)  # make run again: nothing received twice

    lots = service.location_inventory(seed.DEMO_LOCATION)
    assert sorted(lot["lot_number"] for lot in lots) == ["DM1001", "DM1002", "DM2001"]
    assert len(read.events("lot_received")) == 3
    soonest = min(lots, key=lambda lot: lot["expiration_date"])
    assert soonest["lot_number"] == "DM1001"  # the one that shows the 30-day expiry warning
