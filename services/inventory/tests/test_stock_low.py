"""stock_low: days of supply (usable on hand / average daily use over the 7 days before the
day asked) under the location's threshold is announced once per location, product and day.
The job takes the day as an argument, so the tests choose it."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.timer import Timer

from cvms_platform import contracts
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.errors import InvalidInput
from inventory.service import InventoryService

from .conftest import dose_body

LOCATION = "clinic-1"
GRAY = "pfizer-gray-12plus"
TODAY = datetime.now(UTC).date()
TOMORROW = TODAY + timedelta(days=1)  # today's doses are in its 7-day window


def give(service, lot: dict, count: int) -> list[str]:
    """Give `count` doses from `lot`, three days ago; their administration ids."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for administration_id in ids:
        service.on_dose_administered(
            dose_body(
                lot,
                administration_id=administration_id,
                administered_at=datetime.now(UTC) - timedelta(days=3),
                correlation_id="corr-supply",
            )
        )
    return ids


def notices(read) -> list[dict]:
    return [
        contracts.parse(body, source="inventory", event_type="stock_low").payload
        for body in read.events("stock_low")
    ]


def test_stock_lasting_fewer_days_than_the_threshold_is_announced(service, receive, read):
    lot = receive(30)
    give(service, lot, 14)  # 2 a day over 7 days; 16 left: 8 days

    assert service.run_stock_low(TOMORROW) == 0
    service.set_stock_threshold(LOCATION, {"threshold_days": 9})
    assert service.run_stock_low(TOMORROW) == 1

    [notice] = notices(read)
    assert notice == {
        "location_id": LOCATION,
        "product_id": GRAY,
        "doses_on_hand": 16,
        "average_daily_use": 2.0,
        "days_of_supply": 8.0,
        "threshold_days": 9,
    }


def test_the_default_threshold_is_seven_days(service, receive, read):
    lot = receive(20)
    give(service, lot, 14)  # 6 left at 2 a day: 3 days

    assert service.run_stock_low(TOMORROW) == 1
    assert notices(read)[0]["threshold_days"] == 7


def test_a_location_and_product_is_announced_once_a_day(service, receive, read):
    lot = receive(20)
    give(service, lot, 14)

    service.run_stock_low(TOMORROW)
    assert service.run_stock_low(TOMORROW) == 0
    assert service.run_stock_low(TOMORROW + timedelta(days=1)) == 1

    assert len(notices(read)) == 2


def test_nothing_used_is_not_stock_running_low(service, receive, read):
    receive(1)

    assert service.run_stock_low(TOMORROW) == 0


def test_quarantined_and_expired_doses_are_not_supply(service, receive, read):
    lot = receive(20, storage_unit="fridge-1")
    give(service, lot, 7)  # 1 a day
    receive(100, storage_unit="freezer-Q")
    receive(100, expiration_date=(TOMORROW - timedelta(days=1)).isoformat())
    service.report_excursion(
        LOCATION, "freezer-Q", {"observed_at": datetime.now(UTC).isoformat(), "max_c": 9}
    )
    service.set_stock_threshold(LOCATION, {"threshold_days": 14})

    assert service.run_stock_low(TOMORROW) == 1
    assert notices(read)[0]["doses_on_hand"] == 13


def test_voided_doses_do_not_count_as_use(service, receive, read):
    lot = receive(20)
    [given, *_] = give(service, lot, 7)
    service.on_administration_voided(
        to_wire(
            new_event(
                "administration_voided",
                {
                    "administration_id": given,
                    "recipient_id": str(uuid.uuid4()),
                    "location_id": LOCATION,
                    "lot_id": lot["id"],
                    "product_id": GRAY,
                    "reason": "Entered twice.",
                    "voided_by": "clinic.manager",
                    "voided_at": datetime.now(UTC),
                },
                correlation_id="corr-void",
            )
        )
    )

    supply = service.stock_supply(LOCATION)

    assert supply["threshold_days"] == 7
    [product] = supply["products"]
    assert product["doses_on_hand"] == 14
    # The window of stock_supply ends today: the doses given today are not in it yet.
    assert service.run_stock_low(TOMORROW) == 0  # 14 on hand / (6 / 7) a day = 16.3 days


def test_each_location_has_its_own_threshold(service, receive, read):
    give(service, receive(20), 14)
    give(service, receive(20, location="clinic-2"), 14)
    service.set_stock_threshold("clinic-2", {"threshold_days": 2})

    service.run_stock_low(TOMORROW)

    assert [n["location_id"] for n in notices(read)] == [LOCATION]


@pytest.mark.parametrize("days", [0, 366, "7", None, 7.5])
def test_a_bad_threshold_is_invalid_input(service, days):
    with pytest.raises(InvalidInput) as raised:
        service.set_stock_threshold(LOCATION, {"threshold_days": days})

    assert "threshold_days" in raised.value.errors


def test_the_timer_runs_hourly_for_the_real_today(service, monkeypatch):
    [timer] = [
        e for e in InventoryService.announce_stock_low.nameko_entrypoints if isinstance(e, Timer)
    ]
    assert timer.interval == 3600
    seen = []
    monkeypatch.setattr(service, "run_stock_low", lambda today: seen.append(today) or 0)

    service.announce_stock_low()

    assert seen == [datetime.now(UTC).date()]
