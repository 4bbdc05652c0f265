"""Registration with the paper form's data, and likely duplicates matched instead of added."""

import pytest
from sqlalchemy import select

from administration.models import Recipient
from cvms_platform import contracts
from cvms_platform.errors import InvalidInput

from .conftest import registration_form


def test_every_field_of_the_form_is_stored_and_returned(service):
    answer = service.register_recipient(registration_form())

    assert (answer["created"], answer["matched"]) == (True, False)
    recipient = answer["recipient"]
    assert service.get_recipient(recipient["id"]) == recipient
    assert {key: recipient[key] for key in registration_form()} == registration_form()


def test_optional_fields_default_to_english_and_no_contact(service):
    recipient = service.register_recipient(
        {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10"}
    )["recipient"]

    assert recipient["preferred_language"] == "en"
    assert recipient["contact_preferences"] == {
        "email": False,
        "sms": False,
        "phone": False,
        "mail": False,
    }
    assert recipient["address"] is None
    assert (recipient["sex"], recipient["phone"], recipient["email"]) == (None, None, None)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"sex": "female"}, "sex"),
        ({"race": "White"}, "race"),
        ({"ethnicity": "2135"}, "ethnicity"),
        ({"preferred_language": "fr"}, "preferred_language"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "555-01"}, "phone"),
        ({"phone": "call me maybe"}, "phone"),
        ({"contact_preferences": {"email": "often"}}, "contact_preferences"),
        (
            {"address": {"line1": "1 Main St", "city": "X", "state": "ZZ", "postal_code": "62701"}},
            "address",
        ),
        (
            {"address": {"line1": "1 Main St", "city": "X", "state": "IL", "postal_code": "6270"}},
            "address",
        ),
        ({"address": {"city": "X", "state": "IL", "postal_code": "62701"}}, "address"),
    ],
)
def test_values_outside_the_forms_code_lists_are_invalid(service, read, overrides, field):
    with pytest.raises(InvalidInput) as raised:
        service.register_recipient(registration_form(**overrides))

    assert list(raised.value.errors) == [field]
    assert read.count(Recipient) == 0


def test_a_contact_channel_needs_the_matching_contact_detail(service):
    with pytest.raises(InvalidInput) as raised:
        service.register_recipient(
            registration_form(
                email=None,
                phone=None,
                address=None,
                contact_preferences={"email": True, "sms": True, "phone": False, "mail": True},
            )
        )

    assert raised.value.errors == {
        "contact_preferences": [
            "Contact by email needs the recipient's email.",
            "Contact by mail needs the recipient's address.",
            "Contact by sms needs the recipient's phone.",
        ]
    }


@pytest.mark.parametrize(
    "again",
    [
        {"given_name": "  ada ", "family_name": "LOVELACE", "email": "other@example.org"},
        {"phone": "+1 217 555 0134", "email": None, "contact_preferences": {"sms": True}},
        {"phone": None, "email": "ADA@Example.ORG", "contact_preferences": {"email": True}},
    ],
)
def test_a_likely_duplicate_is_matched_not_created(service, read, again):
    first = service.register_recipient(registration_form())["recipient"]

    answer = service.register_recipient(registration_form(**again))

    assert (answer["created"], answer["matched"]) == (False, True)
    assert answer["recipient"] == first
    assert read.count(Recipient) == 1
    assert len(read.events("recipient_registered")) == 1


@pytest.mark.parametrize(
    "other",
    [
        {"birth_date": "1990-12-11"},
        {"given_name": "Augusta"},
        {"family_name": "Byron"},
        {"phone": "217-555-9999", "email": "someone.else@example.org"},
        {"phone": None, "email": None, "contact_preferences": {}},
    ],
)
def test_a_different_person_is_a_new_recipient(service, read, other):
    first = service.register_recipient(registration_form())["recipient"]

    answer = service.register_recipient(registration_form(**other))

    assert answer["created"] is True
    assert answer["recipient"]["id"] != first["id"]
    assert read.count(Recipient) == 2


def test_a_new_recipient_is_announced_without_personal_data(service, read):
    recipient = service.register_recipient(registration_form())["recipient"]

    [body] = read.events("recipient_registered")
    event = contracts.parse(body, source="administration", event_type="recipient_registered")
    assert event.correlation_id == "corr-test"
    assert body["payload"] == {
        "recipient_id": recipient["id"],
        "preferred_language": "es",
        "contact_channels": ["email", "sms"],
    }
    wire = str(body)
    for personal in ("Lovelace", "1990-12-10", "555", "ada@example.org", "Analytical"):
        assert personal not in wire


def test_a_refused_registration_announces_nothing(service, read):
    with pytest.raises(InvalidInput):
        service.register_recipient(registration_form(sex="?"))

    assert read.events("recipient_registered") == []
    assert read.all(select(Recipient)) == []
