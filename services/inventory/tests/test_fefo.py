"""choose_lot: first expired, first out, with open vials first and unusable lots left out."""

from datetime import UTC, date, datetime, timedelta

import pytest

from cvms_platform.errors import InvalidInput, NoUsableLot, Unprocessable

from .conftest import dose_body

LOCATION = "clinic-1"
GRAY_CAP = "pfizer-gray-12plus"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def receive(service, make_shipment):
    def receive(expires: date, doses: int = 10, location: str = LOCATION, **overrides) -> dict:
        shipment = make_shipment(doses=doses, expiration_date=expires.isoformat(), **overrides)
        return service.receive_lot(location, shipment)["lot"]

    return receive


def now() -> str:
    return datetime.now(UTC).isoformat()


def give(service, lot: dict) -> None:
    service.on_dose_administered(dose_body(lot, correlation_id="corr-fefo"))


def test_the_lot_expiring_first_is_chosen(service, receive):
    receive(TODAY + timedelta(days=90), lot_number="LATE")
    soon = receive(TODAY + timedelta(days=20), lot_number="SOON")
    receive(TODAY + timedelta(days=60), lot_number="MIDDLE")

    choice = service.choose_lot(LOCATION, GRAY_CAP, now())

    assert choice == {
        "lot_id": soon["id"],
        "lot_number": "SOON",
        "product_id": GRAY_CAP,
        "expiration_date": (TODAY + timedelta(days=20)).isoformat(),
        "open_vial_id": None,
    }


def test_a_lot_with_an_open_vial_comes_before_one_expiring_sooner(service, receive):
    opened = receive(TODAY + timedelta(days=90), lot_number="OPENED")
    give(service, opened)
    receive(TODAY + timedelta(days=20), lot_number="SOON")

    choice = service.choose_lot(LOCATION, GRAY_CAP, now())

    assert choice["lot_id"] == opened["id"]
    [vial] = service.open_vials(LOCATION)
    assert choice["open_vial_id"] == vial["vial_id"]


def test_an_open_vial_past_its_beyond_use_time_at_the_moment_asked_is_not_preferred(
    service, receive
):
    opened = receive(TODAY + timedelta(days=90), lot_number="OPENED")
    give(service, opened)
    soon = receive(TODAY + timedelta(days=20), lot_number="SOON")
    later = (datetime.now(UTC) + timedelta(hours=13)).isoformat()

    assert service.choose_lot(LOCATION, GRAY_CAP, later)["lot_id"] == soon["id"]


def test_quarantined_lots_are_left_out(service, receive):
    receive(TODAY + timedelta(days=20), lot_number="SPOILED", storage_unit="freezer-Q")
    good = receive(TODAY + timedelta(days=90), lot_number="GOOD", storage_unit="fridge-1")
    service.report_excursion(LOCATION, "freezer-Q", {"observed_at": now(), "max_c": 12})

    assert service.choose_lot(LOCATION, GRAY_CAP, now())["lot_id"] == good["id"]


def test_a_quarantined_lot_with_an_open_vial_is_left_out(service, receive):
    opened = receive(TODAY + timedelta(days=20), lot_number="OPENED", storage_unit="freezer-Q")
    give(service, opened)
    good = receive(TODAY + timedelta(days=90), lot_number="GOOD", storage_unit="fridge-1")
    service.report_excursion(LOCATION, "freezer-Q", {"observed_at": now(), "max_c": 12})

    choice = service.choose_lot(LOCATION, GRAY_CAP, now())

    assert (choice["lot_id"], choice["open_vial_id"]) == (good["id"], None)


def test_lots_expired_at_the_moment_asked_and_empty_lots_are_left_out(service, receive):
    empty = receive(TODAY + timedelta(days=5), doses=1, lot_number="EMPTY")
    give(service, empty)
    receive(TODAY + timedelta(days=10), lot_number="EXPIRES")
    later = receive(TODAY + timedelta(days=40), lot_number="LATER")
    in_twenty_days = (datetime.now(UTC) + timedelta(days=20)).isoformat()

    assert service.choose_lot(LOCATION, GRAY_CAP, in_twenty_days)["lot_id"] == later["id"]


def test_a_lot_is_usable_on_its_expiration_date(service, receive):
    lot = receive(TODAY + timedelta(days=10))
    on_that_day = datetime.combine(TODAY + timedelta(days=10), datetime.min.time(), UTC)

    assert service.choose_lot(LOCATION, GRAY_CAP, on_that_day.isoformat())["lot_id"] == lot["id"]


def test_only_the_locations_own_lots_and_the_products_own_lots_count(service, receive):
    receive(TODAY + timedelta(days=10), location="clinic-2")
    receive(TODAY + timedelta(days=10), product_id="moderna-red-18plus")

    with pytest.raises(NoUsableLot) as raised:
        service.choose_lot(LOCATION, GRAY_CAP, now())

    assert isinstance(raised.value, Unprocessable)
    assert list(raised.value.errors) == ["product_id"]


@pytest.mark.parametrize(
    "product_id, at, field",
    [
        (GRAY_CAP, "2026-01-01T10:00:00", "at"),  # no offset
        (GRAY_CAP, "yesterday", "at"),
        (GRAY_CAP, None, "at"),
        ("", "2026-01-01T10:00:00Z", "product_id"),
        (42, "2026-01-01T10:00:00Z", "product_id"),
    ],
)
def test_bad_arguments_are_invalid_input(service, product_id, at, field):
    with pytest.raises(InvalidInput) as raised:
        service.choose_lot(LOCATION, product_id, at)

    assert field in raised.value.errors


def test_a_bad_location_is_invalid_input(service):
    with pytest.raises(InvalidInput):
        service.choose_lot("no such/location", GRAY_CAP, now())


def test_the_days_of_supply_name_each_products_next_lot(service, receive):
    """One call for a dashboard: every product's next lot with its days of supply."""
    receive(TODAY + timedelta(days=90), lot_number="LATE")
    soon = receive(TODAY + timedelta(days=20), lot_number="SOON")
    red = receive(TODAY + timedelta(days=30), product_id="moderna-red-18plus", lot_number="RED")
    receive(TODAY + timedelta(days=10), location="clinic-2", lot_number="ELSEWHERE")

    supply = {p["product_id"]: p for p in service.stock_supply(LOCATION)["products"]}

    assert supply[GRAY_CAP]["next_lot"] == service.choose_lot(LOCATION, GRAY_CAP, now())
    assert supply[GRAY_CAP]["next_lot"]["lot_id"] == soon["id"]
    assert supply["moderna-red-18plus"]["next_lot"]["lot_id"] == red["id"]


def test_a_product_with_no_usable_lot_has_no_next_lot(service, receive):
    receive(TODAY + timedelta(days=20), lot_number="SPOILED", storage_unit="freezer-Q")
    lot = receive(TODAY + timedelta(days=20), doses=1, lot_number="USED")
    give(service, lot)
    service.report_excursion(LOCATION, "freezer-Q", {"observed_at": now(), "max_c": 12})

    [product] = service.stock_supply(LOCATION)["products"]  # listed: its emptied lot is usable

    assert product["doses_on_hand"] == 0
    assert product["next_lot"] is None
