"""Location settings, the stock status projection and the public locator."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from cvms_platform.errors import InvalidInput

from .conftest import LOCATION, NOW, PFIZER, clinic_days, settings


def lot_event(make_event, lot_id, event_type="lot_received", *, at=NOW, **payload):
    base = {
        "lot_received": {
            "shipment_id": "SHP-1",
            "lot_number": "FK5127",
            "expiration_date": date(2030, 12, 31),
            "doses": 10,
        },
        "inventory_adjusted": {
            "ledger_entry_id": str(uuid.uuid4()),
            "reason": "administered",
            "delta": -1,
        },
        "lot_quarantined": {
            "storage_unit": "freezer-A",
            "excursion_id": str(uuid.uuid4()),
            "observed_at": at,
        },
        "lot_released": {"note": "within range"},
    }[event_type]
    return make_event(
        event_type,
        {
            "lot_id": lot_id,
            "location_id": LOCATION,
            "product_id": PFIZER,
            **base,
            **payload,
        },
        occurred_at=at,
    )


def pfizer_status(service):
    return service.stock_status(LOCATION).get(PFIZER, {}).get("status")


def test_stock_status_follows_inventory_events(service, location, make_event, clock):
    lot = str(uuid.uuid4())
    assert pfizer_status(service) is None

    service.on_lot_received(lot_event(make_event, lot, doses_on_hand=10))
    assert pfizer_status(service) == "in_stock"

    service.on_lot_quarantined(lot_event(make_event, lot, "lot_quarantined", doses_on_hand=10))
    assert pfizer_status(service) == "out_of_stock"

    service.on_lot_released(lot_event(make_event, lot, "lot_released", doses_on_hand=10))
    assert pfizer_status(service) == "in_stock"

    clock.advance(days=30)
    assert pfizer_status(service) == "call_to_confirm"

    later = clock.now
    service.on_inventory_adjusted(
        lot_event(make_event, lot, "inventory_adjusted", at=later, doses_on_hand=0)
    )
    assert pfizer_status(service) == "out_of_stock"


def test_an_older_event_does_not_overwrite_a_newer_one(service, location, make_event):
    lot = str(uuid.uuid4())
    service.on_lot_received(lot_event(make_event, lot, doses_on_hand=10))
    service.on_inventory_adjusted(
        lot_event(
            make_event, lot, "inventory_adjusted", at=NOW + timedelta(minutes=2), doses_on_hand=0
        )
    )
    service.on_inventory_adjusted(
        lot_event(
            make_event, lot, "inventory_adjusted", at=NOW + timedelta(minutes=1), doses_on_hand=9
        )
    )
    assert service.stock_status(LOCATION)[PFIZER]["doses_usable"] == 0


def test_the_locator_finds_published_locations_within_the_radius(service, make_event):
    service.save_location_settings(LOCATION, settings(), "manager")  # ZIP 10001, Manhattan
    service.save_location_settings(
        "newark",
        settings(
            name="Newark",
            address={"line1": "1 Broad St", "city": "Newark", "state": "NJ", "zip": "07102"},
        ),
        "manager",
    )
    service.save_location_settings(
        "hidden", settings(name="Not yet public", published=False), "manager"
    )
    service.on_lot_received(lot_event(make_event, str(uuid.uuid4()), doses_on_hand=5))

    near = service.locate({"zip": "10018", "radius_miles": 3})
    wider = service.locate({"zip": "10018", "radius_miles": 15, "product_id": PFIZER})

    assert [loc["location_id"] for loc in near] == [LOCATION]
    assert [loc["location_id"] for loc in wider] == [LOCATION, "newark"]
    assert wider[0]["products"] == [
        {
            "product_id": PFIZER,
            "stock_status": "in_stock",
            "stock_updated_at": NOW.isoformat(),
            "appointments_available": 0,
        }
    ]
    assert wider[0]["distance_miles"] < wider[1]["distance_miles"]


def test_the_locator_needs_a_place(service):
    with pytest.raises(InvalidInput):
        service.locate({"radius_miles": 5})


def test_an_enrolled_location_starts_unpublished(service, make_event):
    service.on_location_enrolled(
        make_event(
            "location_enrolled",
            {
                "location_id": "enrolled-1",
                "organization_id": "org-1",
                "name": "Enrolled Pharmacy",
                "address": {"line1": "5 Elm St", "city": "Atlanta", "state": "GA", "zip": "30303"},
                "phone": "404-555-0199",
            },
        )
    )

    saved = service.get_location_settings("enrolled-1")
    assert (saved["published"], saved["time_zone"]) == (False, "America/New_York")
    assert saved["latitude"] is not None
    assert service.location_feed() == []


def test_the_feed_lists_every_published_location(service, location):
    [entry] = service.location_feed()
    assert entry["location_id"] == LOCATION
    assert {p["product_id"] for p in entry["products"]} == {PFIZER, "moderna-red-18plus"}
    assert "updated_by" not in entry and "organization_id" not in entry


def test_settings_refuse_unknown_products(service):
    with pytest.raises(InvalidInput):
        service.save_location_settings(LOCATION, settings(products=["nope"]), "manager")


def test_clock_is_the_tests(service):
    assert service.now() == datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def test_one_location_shows_its_coming_clinic_days_with_the_seats_left(service, day):
    from cvms_platform.errors import NotFound

    for slot in day["slots"]:
        service.set_slot_capacity(LOCATION, slot["id"], {"capacity": 0})
    service.create_clinic_days(
        LOCATION,
        clinic_days("2030-03-05", closes="09:30", capacity=3),
        "manager",
    )
    service.save_location_settings("hidden", settings(published=False), "manager")

    found = service.public_location(LOCATION)

    assert found["name"] == "Clinic One"
    assert [(d["date"], d["product_id"], d["available"]) for d in found["clinic_days"]] == [
        ("2030-03-04", PFIZER, 0),  # full: the waitlist is offered
        ("2030-03-05", PFIZER, 6),
    ]
    assert found["clinic_days"][0]["clinic_day_id"] == day["id"]
    with pytest.raises(NotFound):
        service.public_location("hidden")
