"""Staff finding a recipient: by family name and birth date or by phone, a short list with the
contact details masked, never a browse of every recipient."""

import pytest

from cvms_platform.errors import InvalidInput


def register(service, **details) -> dict:
    form = {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-12-10", **details}
    return service.register_recipient(form)["recipient"]


def test_family_name_and_birth_date_find_the_recipient_ignoring_case_and_spaces(service):
    ada = register(service, phone="(217) 555-0134", email="ada@example.org")
    register(service, given_name="Ada", birth_date="1991-01-01")  # another birth date
    register(service, family_name="Byron")  # another family

    answer = service.find_recipients({"family_name": "  lovelace ", "birth_date": "1990-12-10"})

    assert answer == {
        "recipients": [
            {
                "id": ada["id"],
                "given_name": "Ada",
                "family_name": "Lovelace",
                "birth_date": "1990-12-10",
                "phone": "***-***-0134",
                "email": "a***@example.org",
            }
        ],
        "more": False,
    }


def test_the_given_name_narrows_as_a_prefix(service):
    ada = register(service)
    register(service, given_name="Augusta")

    found = service.find_recipients(
        {"family_name": "Lovelace", "birth_date": "1990-12-10", "given_name": "ad"}
    )["recipients"]

    assert [r["id"] for r in found] == [ada["id"]]


def test_a_phone_finds_the_recipient_however_it_was_written(service):
    ada = register(service, phone="+1 (217) 555-0134")
    register(service, given_name="Other", phone="217-555-9999")

    for phone in ("2175550134", "217.555.0134", "1-217-555-0134"):
        found = service.find_recipients({"phone": phone})["recipients"]
        assert [r["id"] for r in found] == [ada["id"]], phone


def test_at_most_the_limit_is_answered_and_more_is_said(service):
    for n in range(4):
        register(service, given_name=f"Ada{n}")

    answer = service.find_recipients(
        {"family_name": "Lovelace", "birth_date": "1990-12-10", "limit": 3}
    )

    assert len(answer["recipients"]) == 3 and answer["more"] is True


@pytest.mark.parametrize(
    "query, field",
    [
        ({}, "_schema"),
        ({"family_name": "Lovelace"}, "_schema"),
        ({"birth_date": "1990-12-10"}, "_schema"),
        ({"given_name": "Ada"}, "_schema"),
        ({"family_name": "  ", "birth_date": "1990-12-10"}, "_schema"),
        ({"phone": "555"}, "phone"),
        ({"phone": "12345678"}, "phone"),
        ({"family_name": "Lovelace", "birth_date": "1990-12-10", "limit": 21}, "limit"),
    ],
)
def test_a_search_too_broad_is_refused(service, query, field):
    register(service)

    with pytest.raises(InvalidInput) as refused:
        service.find_recipients(query)

    assert field in refused.value.errors
