import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from administration import records
from administration.models import Administration, KnownLot
from cvms_platform import contracts
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable


def test_record_administration_records_the_dose_against_the_lot(service, recipient, lot, make_dose):
    given = make_dose(recipient, lot)

    result = service.record_administration(given, "nurse-1")

    assert result["created"] is True
    recorded = result["administration"]
    assert recorded["id"] == given["id"]
    assert recorded["recipient_id"] == recipient["id"]
    assert recorded["location_id"] == "clinic-1"
    assert recorded["lot_id"] == lot["id"]
    assert recorded["product_id"] == "pfizer-gray-12plus"
    assert recorded["lot_number"] == "FK5127"
    assert recorded["dose_number"] == 1
    assert recorded["recorded_by"] == "nurse-1"
    assert datetime.fromisoformat(recorded["administered_at"]) == datetime.fromisoformat(
        given["administered_at"]
    )
    assert service.get_administration(given["id"]) == recorded


def test_record_administration_puts_a_dose_administered_event_in_the_outbox(
    service, recipient, lot, make_dose, read
):
    given = make_dose(recipient, lot)
    service.record_administration(given, "nurse-1")

    [body] = read.events("dose_administered")
    event = contracts.parse(body, source="administration", event_type="dose_administered")
    assert event.correlation_id == "corr-test"
    payload = {key: str(value) for key, value in event.payload.items()}
    assert payload == {
        "administration_id": given["id"],
        "recipient_id": recipient["id"],
        "location_id": "clinic-1",
        "lot_id": lot["id"],
        "product_id": "pfizer-gray-12plus",
        "lot_number": "FK5127",
        "dose_number": "1",
        "administered_at": str(datetime.fromisoformat(given["administered_at"])),
    }


def test_the_same_record_id_is_recorded_once(service, recipient, lot, make_dose, read):
    given = make_dose(recipient, lot)
    first = service.record_administration(given, "nurse-1")

    again = service.record_administration(given, "nurse-2")

    assert again["created"] is False
    assert again["administration"] == first["administration"]
    assert again["administration"]["recorded_by"] == "nurse-1"
    assert read.count(Administration) == 1
    assert len(read.events("dose_administered")) == 1


def test_a_concurrent_duplicate_that_committed_first_stands(
    service, db, recipient, lot, make_dose, read, monkeypatch
):
    given = make_dose(recipient, lot)
    record_dose = records.record_dose

    def lose_the_race(session, dose, **kwargs):
        monkeypatch.setattr(records, "record_dose", record_dose)
        with Session(db.engine) as other_worker, other_worker.begin():
            record_dose(
                other_worker,
                dose,
                recorded_by="nurse-2",
                correlation_id="corr-other",
                lookup_lot=lambda _: lot,
            )
        raise IntegrityError("INSERT INTO administrations ...", {}, Exception("UNIQUE"))

    monkeypatch.setattr(records, "record_dose", lose_the_race)

    result = service.record_administration(given, "nurse-1")

    assert result["created"] is False
    assert result["administration"]["recorded_by"] == "nurse-2"
    assert read.count(Administration) == 1
    assert [body["correlation_id"] for body in read.events("dose_administered")] == ["corr-other"]


def test_the_same_record_id_for_another_recipient_is_a_conflict(
    service, recipient, lot, make_dose, read
):
    given = make_dose(recipient, lot)
    service.record_administration(given, "nurse-1")
    someone_else = service.register_recipient(
        {"given_name": "Alan", "family_name": "Turing", "birth_date": "1992-06-23"}
    )["recipient"]

    with pytest.raises(Conflict):
        service.record_administration({**given, "recipient_id": someone_else["id"]}, "nurse-1")

    assert [a.recipient_id for a in read.all(select(Administration))] == [recipient["id"]]
    assert len(read.events("dose_administered")) == 1


def test_the_same_record_id_from_another_lot_is_a_conflict(
    service, recipient, lot, make_dose, make_lot, read
):
    given = make_dose(recipient, lot)
    service.record_administration(given, "nurse-1")
    other_lot = make_lot()
    service.inventory.get_lot.return_value = other_lot

    with pytest.raises(Conflict):
        service.record_administration({**given, "lot_id": other_lot["id"]}, "nurse-1")

    assert len(read.events("dose_administered")) == 1


def test_a_dose_for_an_unknown_recipient_is_unprocessable(service, lot, make_dose, read):
    stranger = {"id": str(uuid.uuid4())}

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(stranger, lot), "nurse-1")

    assert list(raised.value.errors) == ["recipient_id"]
    assert read.count(Administration) == 0
    assert read.events("dose_administered") == []


def test_a_dose_from_a_lot_inventory_does_not_know_is_unprocessable(
    service, recipient, make_lot, make_dose, read
):
    unknown = make_lot()
    service.inventory.get_lot.side_effect = NotFound(f"lot {unknown['id']} not found")

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(recipient, unknown), "nurse-1")

    assert raised.value.errors == {"lot_id": ["Unknown lot."]}
    service.inventory.get_lot.assert_called_once_with(unknown["id"])
    assert read.count(Administration) == 0
    assert read.count(KnownLot) == 0
    assert read.events("dose_administered") == []


def test_a_dose_from_a_lot_held_at_another_location_is_unprocessable(
    service, recipient, lot, make_dose, read
):
    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(recipient, lot, location_id="clinic-2"), "n-1")

    assert raised.value.errors == {"lot_id": ["This lot is not held at that location."]}
    assert read.count(Administration) == 0
    assert read.events("dose_administered") == []


def test_a_dose_given_after_the_lot_expired_is_unprocessable(
    service, recipient, make_lot, make_dose, read
):
    expired = make_lot(expiration_date="2024-01-10")
    service.inventory.get_lot.return_value = expired

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(
            make_dose(recipient, expired, administered_at="2024-01-11T09:00:00+00:00"), "n-1"
        )

    assert raised.value.errors == {"lot_id": ["This lot expired on 2024-01-10."]}
    assert read.count(Administration) == 0


def test_a_dose_given_on_the_expiration_date_is_recorded(service, recipient, make_lot, make_dose):
    expiring = make_lot(expiration_date="2024-01-10")
    service.inventory.get_lot.return_value = expiring

    result = service.record_administration(
        make_dose(recipient, expiring, administered_at="2024-01-10T17:00:00+00:00"), "n-1"
    )

    assert result["created"] is True


def test_a_dose_given_in_the_future_is_unprocessable(service, recipient, lot, make_dose, read):
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(recipient, lot, administered_at=later), "n-1")

    assert list(raised.value.errors) == ["administered_at"]
    assert read.count(Administration) == 0


def test_a_clock_a_minute_ahead_is_tolerated(service, recipient, lot, make_dose):
    slightly_ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()

    result = service.record_administration(
        make_dose(recipient, lot, administered_at=slightly_ahead), "n-1"
    )

    assert result["created"] is True


def test_every_broken_rule_is_reported_at_once(service, make_lot, make_dose):
    service.inventory.get_lot.side_effect = NotFound("no such lot")
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(
            make_dose({"id": str(uuid.uuid4())}, make_lot(), administered_at=later), "n-1"
        )

    assert set(raised.value.errors) == {"recipient_id", "administered_at", "lot_id"}


def test_record_administration_reports_every_missing_field(service, read):
    with pytest.raises(InvalidInput) as raised:
        service.record_administration({}, "nurse-1")

    assert set(raised.value.errors) == {
        "id",
        "recipient_id",
        "location_id",
        "lot_id",
        "administered_at",
    }
    service.inventory.get_lot.assert_not_called()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id": "record-1"}, "id"),
        ({"lot_id": "FK5127"}, "lot_id"),
        ({"administered_at": "2024-01-10T09:00:00"}, "administered_at"),
        ({"dose_number": 0}, "dose_number"),
        ({"dose_number": "2"}, "dose_number"),
        ({"location_id": ""}, "location_id"),
    ],
)
def test_a_malformed_dose_is_invalid(service, recipient, lot, make_dose, overrides, field):
    with pytest.raises(InvalidInput) as raised:
        service.record_administration(make_dose(recipient, lot, **overrides), "nurse-1")

    assert list(raised.value.errors) == [field]


def test_a_lot_learned_from_inventory_is_remembered(service, recipient, lot, make_dose, read):
    service.record_administration(make_dose(recipient, lot, days_ago=30), "nurse-1")

    service.record_administration(make_dose(recipient, lot), "nurse-1")

    service.inventory.get_lot.assert_called_once_with(lot["id"])
    [known] = read.all(select(KnownLot))
    assert known.id == lot["id"]
    assert known.location_id == "clinic-1"
    assert known.product_id == "pfizer-gray-12plus"
    assert known.lot_number == "FK5127"
    assert known.expiration_date == date.fromisoformat(lot["expiration_date"])


def test_dose_numbers_count_the_recipients_previous_doses(service, recipient, lot, make_dose):
    numbers = [
        service.record_administration(make_dose(recipient, lot, days_ago=days_ago), "n-1")[
            "administration"
        ]["dose_number"]
        for days_ago in (60, 30, 0)
    ]

    assert numbers == [1, 2, 3]


def test_dose_numbers_are_counted_per_recipient(service, recipient, lot, make_dose):
    service.record_administration(make_dose(recipient, lot), "n-1")
    other = service.register_recipient(
        {"given_name": "Alan", "family_name": "Turing", "birth_date": "1992-06-23"}
    )["recipient"]

    result = service.record_administration(make_dose(other, lot), "n-1")

    assert result["administration"]["dose_number"] == 1


def test_a_given_dose_number_is_kept(service, recipient, lot, make_dose, read):
    service.record_administration(make_dose(recipient, lot, days_ago=30, dose_number=1), "n-1")

    result = service.record_administration(make_dose(recipient, lot, dose_number=2), "n-1")

    assert result["administration"]["dose_number"] == 2
    assert [body["payload"]["dose_number"] for body in read.events("dose_administered")] == [1, 2]


@pytest.mark.parametrize("administration_id", [str(uuid.uuid4()), "not-an-id"])
def test_get_administration_of_an_unknown_id_is_not_found(
    service, recipient, lot, make_dose, administration_id
):
    service.record_administration(make_dose(recipient, lot), "nurse-1")

    with pytest.raises(NotFound):
        service.get_administration(administration_id)


def test_an_eleventh_dose_without_a_number_is_unprocessable(
    service, recipient, lot, make_dose, read
):
    for number in range(1, 11):
        earlier = make_dose(recipient, lot, days_ago=30 * (11 - number), dose_number=number)
        service.record_administration(earlier, "n-1")

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(recipient, lot), "n-1")

    assert list(raised.value.errors) == ["dose_number"]
    assert read.count(Administration) == 10
