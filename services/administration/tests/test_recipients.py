import uuid
from datetime import date, timedelta

import pytest

from administration.models import Recipient
from cvms_platform.errors import InvalidInput, NotFound


def test_register_recipient_returns_the_stored_recipient(service):
    answer = service.register_recipient(
        {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}
    )

    assert (answer["created"], answer["matched"]) == (True, False)
    registered = answer["recipient"]
    assert uuid.UUID(registered["id"])
    assert registered["given_name"] == "Ada"
    assert registered["family_name"] == "Lovelace"
    assert registered["birth_date"] == "1990-12-10"
    assert service.get_recipient(registered["id"]) == registered


def test_a_registration_without_phone_or_email_is_never_matched(service, read):
    person = {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}

    first = service.register_recipient(person)["recipient"]
    second = service.register_recipient(person)["recipient"]

    assert first["id"] != second["id"]
    assert read.count(Recipient) == 2


def test_a_birth_date_in_the_future_is_invalid(service, read):
    tomorrow = date.today() + timedelta(days=1)

    with pytest.raises(InvalidInput) as raised:
        service.register_recipient(
            {"given_name": "Ada", "family_name": "Lovelace", "birth_date": tomorrow.isoformat()}
        )

    assert list(raised.value.errors) == ["birth_date"]
    assert read.count(Recipient) == 0


def test_a_baby_born_today_can_be_registered(service):
    registered = service.register_recipient(
        {"given_name": "Ada", "family_name": "Lovelace", "birth_date": date.today().isoformat()}
    )["recipient"]

    assert registered["birth_date"] == date.today().isoformat()


def test_register_recipient_reports_every_missing_field(service, read):
    with pytest.raises(InvalidInput) as raised:
        service.register_recipient({})

    assert set(raised.value.errors) == {"given_name", "family_name", "birth_date"}
    assert read.count(Recipient) == 0


@pytest.mark.parametrize(
    "names",
    [
        {"given_name": "", "family_name": "Lovelace"},
        {"given_name": "Ada", "family_name": "L" * 101},
        {"given_name": None, "family_name": "Lovelace"},
        {"given_name": "Ada", "family_name": 7},
        {"given_name": "   ", "family_name": "Lovelace"},
        {"given_name": "Ada", "family_name": "\t "},
    ],
)
def test_names_must_be_non_empty_text_of_at_most_100_characters(service, names):
    with pytest.raises(InvalidInput) as raised:
        service.register_recipient({**names, "birth_date": "1990-12-10"})

    bad = "given_name" if names["given_name"] != "Ada" else "family_name"
    assert list(raised.value.errors) == [bad]


@pytest.mark.parametrize("birth_date", ["10/12/1990", "1990-13-01", "", None])
def test_a_malformed_birth_date_is_invalid(service, birth_date):
    with pytest.raises(InvalidInput) as raised:
        service.register_recipient(
            {"given_name": "Ada", "family_name": "Lovelace", "birth_date": birth_date}
        )

    assert list(raised.value.errors) == ["birth_date"]


def test_a_recipient_that_is_not_an_object_is_invalid(service):
    with pytest.raises(InvalidInput):
        service.register_recipient("Ada Lovelace")


@pytest.mark.parametrize("recipient_id", [str(uuid.uuid4()), "not-an-id"])
def test_get_recipient_of_an_unknown_id_is_not_found(service, recipient, recipient_id):
    with pytest.raises(NotFound):
        service.get_recipient(recipient_id)
