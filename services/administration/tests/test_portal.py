"""The recipient portal's service side: claiming an account with the card's details, the
recipient's own vaccinations, and changing their contact details."""

from datetime import UTC, datetime, timedelta

import pytest

from cvms_platform.errors import InvalidInput, NotFound


def claim_of(recipient: dict, lot: dict, given: dict, **overrides) -> dict:
    return {
        "family_name": recipient["family_name"],
        "date_of_birth": recipient["birth_date"],
        "lot_number": lot["lot_number"],
        "administered_on": datetime.fromisoformat(given["administered_at"]).date().isoformat(),
        **overrides,
    }


@pytest.fixture
def given(service, recipient, lot, make_dose) -> dict:
    dose = make_dose(recipient, lot, days_ago=3)
    service.record_administration(dose, "nurse-1")
    return dose


def test_the_cards_details_identify_exactly_one_recipient(service, recipient, lot, given):
    assert service.verify_recipient_claim(claim_of(recipient, lot, given)) == recipient["id"]
    # Case and spaces of the name and the lot number do not matter.
    loose = claim_of(
        recipient, lot, given, family_name=" LOVELACE ", lot_number=lot["lot_number"].lower()
    )
    assert service.verify_recipient_claim(loose) == recipient["id"]


@pytest.mark.parametrize(
    "wrong",
    [
        {"family_name": "Byron"},
        {"date_of_birth": "1990-12-11"},
        {"lot_number": "OTHER1"},
        {"administered_on": "2020-01-01"},
    ],
)
def test_any_wrong_detail_identifies_nobody(service, recipient, lot, given, wrong):
    assert service.verify_recipient_claim(claim_of(recipient, lot, given, **wrong)) is None


def test_two_recipients_matching_the_same_details_identify_nobody(
    service, recipient, lot, given, make_dose
):
    twin = service.register_recipient(
        {"given_name": "Augusta", "family_name": "Lovelace", "birth_date": "1990-12-10"}
    )["recipient"]
    service.record_administration(make_dose(twin, lot, days_ago=3), "nurse-1")
    assert service.verify_recipient_claim(claim_of(recipient, lot, given)) is None


def test_a_voided_dose_proves_nothing(service, recipient, lot, given):
    service.void_administration(given["id"], {"reason": "Wrong person."}, "mgr")
    assert service.verify_recipient_claim(claim_of(recipient, lot, given)) is None


def test_a_claim_with_missing_details_is_invalid(service):
    with pytest.raises(InvalidInput) as refused:
        service.verify_recipient_claim({"family_name": "Lovelace"})
    assert set(refused.value.errors) == {"date_of_birth", "lot_number", "administered_on"}


def test_vaccinations_show_product_lot_and_location_but_not_voided_doses(
    service, recipient, lot, given, make_dose
):
    voided = make_dose(recipient, lot, days_ago=1)
    override = {"reason": "Entered by mistake (test)."}
    service.record_administration({**voided, "override": override}, "nurse-1", True)
    service.void_administration(voided["id"], {"reason": "Entered twice."}, "mgr")

    [dose] = service.recipient_vaccinations(recipient["id"])

    assert dose["id"] == given["id"]
    assert dose["product_name"] == "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"
    assert (dose["lot_number"], dose["location_id"], dose["dose_number"]) == (
        "FK5127",
        "clinic-1",
        1,
    )
    with pytest.raises(NotFound):
        service.recipient_vaccinations("no-such-recipient")


def test_contact_details_change_only_where_given(service, recipient):
    changed = service.update_recipient_contact(
        recipient["id"],
        {
            "phone": "217-555-0100",
            "preferred_language": "es",
            "contact_preferences": {"sms": True},
        },
    )
    assert (changed["phone"], changed["preferred_language"]) == ("217-555-0100", "es")
    assert changed["contact_preferences"] == {
        "email": False,
        "sms": True,
        "phone": False,
        "mail": False,
    }
    assert changed["given_name"] == "Ada"
    again = service.update_recipient_contact(recipient["id"], {"email": "ada@example.org"})
    assert (again["phone"], again["email"]) == ("217-555-0100", "ada@example.org")


def test_a_channel_without_its_detail_is_refused_and_nothing_changes(service, recipient):
    with pytest.raises(InvalidInput) as refused:
        service.update_recipient_contact(
            recipient["id"], {"preferred_language": "es", "contact_preferences": {"email": True}}
        )
    assert refused.value.errors == {
        "contact_preferences": ["Contact by email needs the recipient's email."]
    }
    assert service.get_recipient(recipient["id"])["preferred_language"] == "en"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"preferred_language": "fr"}, "preferred_language"),
        ({"address": {"line1": "1 Main St"}}, "address"),
        ({"given_name": "Eve"}, "given_name"),
    ],
)
def test_invalid_contact_changes_are_refused_per_field(service, recipient, change, field):
    with pytest.raises(InvalidInput) as refused:
        service.update_recipient_contact(recipient["id"], change)
    assert field in refused.value.errors


def test_a_claim_window_spans_the_card_day_in_us_time(service, recipient, lot, make_dose):
    # 02:00 UTC on the 11th is the evening of the 10th in the US: the card says the 10th.
    late = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=5)
    service.record_administration(make_dose(recipient, lot, administered_at=late.isoformat()), "n")
    card_day = (late - timedelta(days=1)).date().isoformat()
    claim = {
        "family_name": "Lovelace",
        "date_of_birth": "1990-12-10",
        "lot_number": "FK5127",
        "administered_on": card_day,
    }
    assert service.verify_recipient_claim(claim) == recipient["id"]
