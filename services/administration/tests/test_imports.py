"""Offline imports: each CSV row registers or matches its recipient and records its dose by the
API's rules, in chunks; importing the same rows again records nothing twice."""

from datetime import UTC, datetime, timedelta

import pytest

from administration.models import Administration, Recipient
from cvms_platform import contracts
from cvms_platform.errors import InvalidInput, NotFound


def row(record_id: str, **values) -> dict:
    given = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    return {
        "record_id": record_id,
        "given_name": "Grace",
        "family_name": "Hopper",
        "birth_date": "1956-12-09",
        "phone": "217-555-0177",
        "administered_at": given.isoformat(),
        "lot_number": "FK5127",
        "site": "LD",
        "route": "IM",
        "dose_volume_ml": "0.3",
        "contact_sms": "x",
        **values,
    }


@pytest.fixture
def stocked(service, lot):
    """Inventory's answer to location_inventory: the lot at clinic-1."""
    service.inventory.location_inventory.return_value = [lot]
    return lot


def test_rows_register_their_recipient_and_record_the_dose(service, stocked, read):
    report = service.import_administrations("clinic-1", [row("A-1")], "clerk")

    assert (report["accepted"], report["duplicate"], report["rejected"]) == (1, 0, 0)
    [outcome] = report["rows"]
    assert (outcome["row"], outcome["record_id"], outcome["status"]) == (2, "A-1", "accepted")
    dose = service.get_administration(outcome["administration_id"])
    assert (dose["lot_id"], dose["site"], dose["route"], dose["dose_volume_ml"]) == (
        stocked["id"],
        "LD",
        "IM",
        0.3,
    )
    assert (dose["recorded_by"], dose["dose_number"]) == ("clerk", 1)
    recipient = service.get_recipient(outcome["recipient_id"])
    assert (recipient["family_name"], recipient["contact_preferences"]["sms"]) == ("Hopper", True)
    # An imported chunk's doses travel as one event, not as dose_administered each.
    assert read.events("dose_administered") == []
    [body] = read.events("administrations_imported")
    event = contracts.parse(body, source="administration", event_type="administrations_imported")
    assert str(event.payload["import_id"]) == report["import_id"]
    [given] = event.payload["doses"]
    assert str(given["administration_id"]) == outcome["administration_id"]
    assert (str(given["lot_id"]), given["dose_number"]) == (stocked["id"], 1)
    assert len(read.events("recipient_registered")) == 1


def test_importing_the_same_rows_again_records_nothing_twice(service, stocked, read):
    rows = [row("A-1"), row("A-2", given_name="Ada", phone="217-555-0100")]
    first = service.import_administrations("clinic-1", rows, "clerk")
    again = service.import_administrations("clinic-1", rows, "clerk")  # a new import of the file

    assert (first["accepted"], again["duplicate"]) == (2, 2)
    assert [r["administration_id"] for r in again["rows"]] == [
        r["administration_id"] for r in first["rows"]
    ]
    assert read.count(Administration) == 2
    assert read.count(Recipient) == 2
    [body] = read.events("administrations_imported")  # the second import sent no doses
    assert len(body["payload"]["doses"]) == 2


def test_a_retried_chunk_of_an_import_keeps_its_report(service, stocked):
    first = service.import_administrations("clinic-1", [row("A-1")], "clerk")
    retried = service.import_administrations("clinic-1", [row("A-1")], "clerk", first["import_id"])
    assert retried["rows"] == first["rows"]
    assert retried["rows"][0]["status"] == "accepted"
    report = service.import_report("clinic-1", first["import_id"])
    assert report["rows"] == first["rows"]


def test_an_existing_recipient_is_matched_and_the_series_continues(service, stocked, make_dose):
    existing = service.register_recipient(
        {
            "given_name": "Grace",
            "family_name": "Hopper",
            "birth_date": "1956-12-09",
            "phone": "(217) 555-0177",
        }
    )["recipient"]
    service.record_administration(make_dose(existing, stocked, days_ago=60), "nurse-1")

    report = service.import_administrations("clinic-1", [row("A-1", family_name=" HOPPER ")], "c")

    [outcome] = report["rows"]
    assert outcome["recipient_id"] == existing["id"]
    assert service.get_administration(outcome["administration_id"])["dose_number"] == 2


def test_two_rows_of_one_new_person_share_one_recipient(service, stocked):
    later = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    report = service.import_administrations(
        "clinic-1", [row("A-1"), row("A-2", administered_at=later)], "clerk"
    )
    first, second = report["rows"]
    assert first["recipient_id"] == second["recipient_id"]
    assert service.get_administration(second["administration_id"])["dose_number"] == 2


def test_a_person_without_contact_details_is_one_person_across_an_imports_chunks(service, stocked):
    later = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    nobody = {"phone": "", "contact_sms": ""}
    first = service.import_administrations("clinic-1", [row("A-1", **nobody)], "clerk")
    second = service.import_administrations(
        "clinic-1", [row("A-2", administered_at=later, **nobody)], "clerk", first["import_id"]
    )
    elsewhere = service.import_administrations("clinic-1", [row("B-1", **nobody)], "clerk")

    [one], [two], [other] = first["rows"], second["rows"], elsewhere["rows"]
    assert one["recipient_id"] == two["recipient_id"]
    assert service.get_administration(two["administration_id"])["dose_number"] == 2
    # Another import: names and a birth date alone match nobody (registration's rule).
    assert other["recipient_id"] != one["recipient_id"]


def test_every_rejected_row_says_why_by_column(service, stocked, make_lot):
    today = datetime.now(UTC).date()
    service.inventory.location_inventory.return_value = [
        stocked,
        make_lot(lot_number="OLD-1", expiration_date=(today - timedelta(days=60)).isoformat()),
    ]
    rows = [
        row("R-1", birth_date="not a date", site="elbow"),
        row("R-2", lot_number="NO-SUCH-LOT"),
        row("R-3", lot_number="OLD-1"),
        row("R-4", birth_date=(today - timedelta(days=365 * 5)).isoformat()),  # too young
        row("R-5", postal_code="123", address_line1="1 Main St", city="X", state="IL"),
        row("R-6", administered_at="2026-01-15 10:30"),  # no offset
        row("R-7", contact_email="maybe"),
        row("", given_name=""),
        row("R-1", given_name="Other"),  # the first R-1 was rejected: this one stands
        row("R-1", given_name="Again"),  # the same record id twice in one import
    ]

    report = service.import_administrations("clinic-1", rows, "clerk")

    errors = {r["record_id"] + f"@{r['row']}": r["errors"] for r in report["rows"]}
    assert set(errors["R-1@2"]) == {"birth_date", "site"}
    assert errors["R-2@3"] == {"lot_number": ["No lot NO-SUCH-LOT at clinic-1."]}
    assert "expired" in errors["R-3@4"]["lot_number"][0]
    assert "years old" in errors["R-4@5"]["recipient_id"][0]
    assert set(errors["R-5@6"]) == {"postal_code"}
    assert "offset" in errors["R-6@7"]["administered_at"][0]
    assert set(errors["R-7@8"]) == {"contact_email"}
    assert set(errors["@9"]) == {"record_id", "given_name"}
    assert errors["R-1@10"] is None
    assert errors["R-1@11"] == {
        "record_id": ["This record id is on an earlier row of this import."]
    }
    assert (report["accepted"], report["rejected"]) == (1, 9)
    # A rejected new person is not registered.
    assert [r["recipient_id"] for r in report["rows"] if r["status"] == "rejected"][1] is None


def test_a_date_alone_is_midday_utc_and_backdated_doses_are_allowed(service, stocked):
    report = service.import_administrations(
        "clinic-1",
        [row("A-1", administered_at=(datetime.now(UTC).date() - timedelta(days=3)).isoformat())],
        "c",
    )
    dose = service.get_administration(report["rows"][0]["administration_id"])
    assert datetime.fromisoformat(dose["administered_at"]).time().hour == 12


def test_an_unknown_lot_number_asks_inventory_once_per_chunk(service, stocked):
    rows = [row(f"A-{n}", given_name=f"G{n}", phone=f"217-555-01{n:02d}") for n in range(20)]
    service.import_administrations("clinic-1", rows, "clerk")
    assert service.inventory.location_inventory.call_count == 1


def test_a_chunk_is_validated_as_a_whole(service):
    with pytest.raises(InvalidInput) as refused:
        service.import_administrations("clinic-1", [], "clerk")
    assert "rows" in refused.value.errors
    with pytest.raises(NotFound):
        service.import_report("clinic-1", "00000000-0000-0000-0000-000000000000")


def test_an_import_of_another_location_is_not_found(service, stocked):
    report = service.import_administrations("clinic-1", [row("A-1")], "clerk")
    with pytest.raises(NotFound):
        service.import_report("clinic-2", report["import_id"])
    with pytest.raises(NotFound):
        service.import_administrations("clinic-2", [row("B-1")], "clerk", report["import_id"])


def test_a_chunk_of_more_doses_than_one_event_holds_is_announced_in_parts(service, stocked, read):
    rows = [
        row(f"B-{n}", given_name=f"Given{n}", phone=f"217555{n:04d}")
        for n in range(contracts.MAX_IMPORTED_DOSES + 1)
    ]
    report = service.import_administrations("clinic-1", rows, "clerk")

    assert report["accepted"] == len(rows)
    sizes = [len(body["payload"]["doses"]) for body in read.events("administrations_imported")]
    assert sizes == [contracts.MAX_IMPORTED_DOSES, 1]
    announced = [
        d["administration_id"]
        for body in read.events("administrations_imported")
        for d in body["payload"]["doses"]
    ]
    assert announced == [r["administration_id"] for r in report["rows"]]
