"""Clinical checks when a dose is recorded, overrides of them, and the products projection."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from administration.models import Administration, Product
from cvms_platform.errors import InvalidInput, Unprocessable

REASON = {"reason": "Outbreak protocol approved by the medical director."}


def years_ago(years: int, days: int = 0) -> str:
    today = date.today()
    return (today.replace(year=today.year - years) + timedelta(days=days)).isoformat()


@pytest.fixture
def register(service):
    def make(birth_date: str = "1990-12-10") -> dict:
        return service.register_recipient(
            {"given_name": "Test", "family_name": "Person", "birth_date": birth_date}
        )["recipient"]

    return make


@pytest.fixture
def moderna(service, lot, make_lot):
    """A Moderna lot at clinic-1; inventory's `get_lot` knows it and the Pfizer `lot`."""
    found = make_lot(product_id="moderna-red-18plus", lot_number="MOD-1")
    service.inventory.get_lot.side_effect = {lot["id"]: lot, found["id"]: found}.get
    return found


# -- minimum age ----------------------------------------------------------------------------------
def test_a_recipient_younger_than_the_products_minimum_age_is_refused(
    service, register, lot, make_dose, read
):
    child = register(years_ago(12, days=2))  # twelve in two days

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(child, lot), "nurse-1")

    [message] = raised.value.errors["recipient_id"]
    assert "11 years old" in message and "ages 12 and up" in message
    assert list(raised.value.errors) == ["recipient_id"]
    assert read.count(Administration) == 0
    assert read.events("dose_administered") == []


def test_a_recipient_on_their_birthday_of_the_minimum_age_is_accepted(
    service, register, lot, make_dose
):
    twelve_today = register(years_ago(12))

    # Given now, not an hour ago: just after midnight UTC, an hour ago was still the day before.
    given_now = make_dose(twelve_today, lot, administered_at=datetime.now(UTC).isoformat())
    assert service.record_administration(given_now, "nurse-1")["created"]


def test_age_is_taken_at_the_time_the_dose_was_given(service, register, moderna, make_dose):
    # Eighteen now, seventeen when the backdated dose was given.
    turned_18_ten_days_ago = register(years_ago(18, days=-10))

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(
            make_dose(turned_18_ten_days_ago, moderna, days_ago=20), "nurse-1"
        )

    assert "17 years old" in raised.value.errors["recipient_id"][0]


# -- minimum interval -----------------------------------------------------------------------------
@pytest.mark.parametrize("days_between, accepted", [(16, False), (17, True), (21, True)])
def test_the_interval_since_the_previous_dose_has_a_4_day_grace_period(
    service, register, lot, make_dose, days_between, accepted
):
    adult = register()
    service.record_administration(make_dose(adult, lot, days_ago=days_between), "nurse-1")
    second = make_dose(adult, lot)

    if accepted:
        assert service.record_administration(second, "nurse-1")["created"] is True
    else:
        with pytest.raises(Unprocessable) as raised:
            service.record_administration(second, "nurse-1")
        assert list(raised.value.errors) == ["administered_at"]
        assert "Only 16 days" in raised.value.errors["administered_at"][0]
        assert "21 days" in raised.value.errors["administered_at"][0]


def test_the_interval_counts_a_previous_dose_of_another_product(
    service, register, lot, moderna, make_dose
):
    adult = register()
    service.record_administration(make_dose(adult, moderna, days_ago=18), "nurse-1")

    # 18 days later, Pfizer (21 days - 4 grace) is due; Moderna (28 - 4) would not be.
    assert service.record_administration(make_dose(adult, lot), "nurse-1")["created"] is True
    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(adult, moderna), "nurse-1")
    assert list(raised.value.errors) == ["administered_at"]


# -- dose numbers ---------------------------------------------------------------------------------
def test_a_dose_number_that_skips_the_history_is_refused(service, register, lot, make_dose, read):
    adult = register()

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(adult, lot, dose_number=2), "nurse-1")

    assert raised.value.errors == {
        "dose_number": ["The recipient has 0 doses recorded; this would be dose 1, not 2."]
    }
    assert read.count(Administration) == 0


def test_a_dose_number_repeating_the_history_is_refused(service, register, lot, make_dose):
    adult = register()
    service.record_administration(make_dose(adult, lot, days_ago=30, dose_number=1), "nurse-1")

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(adult, lot, dose_number=1), "nurse-1")

    assert list(raised.value.errors) == ["dose_number"]


def test_a_dose_beyond_the_series_is_recorded_and_flagged(service, register, lot, make_dose):
    adult = register()
    numbers_and_flags = [
        (recorded["dose_number"], recorded["flags"])
        for days_ago in (90, 60, 0)
        for recorded in [
            service.record_administration(make_dose(adult, lot, days_ago=days_ago), "n-1")[
                "administration"
            ]
        ]
    ]

    assert numbers_and_flags == [(1, None), (2, None), (3, ["beyond_series"])]


def test_every_broken_clinical_rule_is_reported_at_once(service, register, lot, make_dose):
    child = register(years_ago(10))
    service.record_administration(
        make_dose(child, lot, days_ago=3, override=REASON), "manager", True
    )

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(child, lot, dose_number=5), "nurse-1")

    assert set(raised.value.errors) == {"recipient_id", "administered_at", "dose_number"}


# -- overrides ------------------------------------------------------------------------------------
def test_an_allowed_override_records_the_dose_with_the_rules_and_reason(
    service, register, lot, make_dose, read
):
    child = register(years_ago(11))
    given = make_dose(child, lot, override=REASON)

    result = service.record_administration(given, "clinic.manager", True)

    recorded = result["administration"]
    assert result["created"] is True
    assert recorded["overridden_rules"] == ["min_age"]
    assert recorded["override_reason"] == REASON["reason"]
    [stored] = read.all(select(Administration))
    assert (stored.overridden_rules, stored.override_reason) == (["min_age"], REASON["reason"])
    # The event contract is unchanged: the override stays on the record.
    [body] = read.events("dose_administered")
    assert "override" not in str(body["payload"])


def test_an_override_by_a_caller_without_the_right_is_refused(
    service, register, lot, make_dose, read
):
    child = register(years_ago(11))

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(child, lot, override=REASON), "nurse-1", False)

    assert set(raised.value.errors) == {"recipient_id", "override"}
    assert raised.value.errors["override"] == ["Your role may not override clinical checks."]
    assert read.count(Administration) == 0


def test_the_right_to_override_without_an_override_changes_nothing(
    service, register, lot, make_dose
):
    child = register(years_ago(11))

    with pytest.raises(Unprocessable):
        service.record_administration(make_dose(child, lot), "clinic.manager", True)


def test_an_override_nothing_needed_is_not_recorded(service, register, lot, make_dose):
    adult = register()

    recorded = service.record_administration(
        make_dose(adult, lot, override=REASON), "clinic.manager", True
    )["administration"]

    assert (recorded["overridden_rules"], recorded["override_reason"]) == (None, None)


def test_an_override_does_not_cover_rules_that_are_not_clinical(
    service, register, make_lot, make_dose
):
    expired = make_lot(expiration_date="2024-01-10")
    service.inventory.get_lot.return_value = expired
    child = register(years_ago(11))

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(
            make_dose(child, expired, override=REASON), "clinic.manager", True
        )

    assert list(raised.value.errors) == ["lot_id"]


@pytest.mark.parametrize("override", [{}, {"reason": ""}, {"reason": "  "}, "because"])
def test_an_override_needs_a_reason(service, register, lot, make_dose, override):
    with pytest.raises(InvalidInput) as raised:
        service.record_administration(
            make_dose(register(), lot, override=override), "clinic.manager", True
        )

    assert list(raised.value.errors) == ["override"]


# -- the products projection ----------------------------------------------------------------------
def test_product_facts_are_fetched_once_and_kept(service, register, lot, make_dose, read):
    adult = register()
    service.record_administration(make_dose(adult, lot, days_ago=30), "n-1")
    service.record_administration(make_dose(adult, lot), "n-1")

    service.inventory.list_products.assert_called_once_with()
    gray = read.all(select(Product).where(Product.id == "pfizer-gray-12plus"))[0]
    assert (gray.min_age_years, gray.min_interval_days, gray.cvx_code) == (12, 21, "217")


def test_facts_older_than_10_minutes_are_refreshed(service, db, register, lot, make_dose, catalog):
    adult = register()
    service.record_administration(make_dose(adult, lot, days_ago=60), "n-1")
    with db.transaction() as session:
        session.execute(
            update(Product).values(refreshed_at=datetime.now(UTC) - timedelta(minutes=11))
        )
    # The catalog changed meanwhile: the new minimum interval applies.
    catalog[0]["min_interval_days"] = 90
    service.inventory.list_products.return_value = catalog

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(adult, lot), "n-1")

    assert service.inventory.list_products.call_count == 2
    assert "90 days" in raised.value.errors["administered_at"][0]


def test_stale_facts_are_used_when_inventory_does_not_answer(service, db, register, lot, make_dose):
    service.record_administration(make_dose(register(), lot), "n-1")
    with db.transaction() as session:
        session.execute(update(Product).values(refreshed_at=datetime.now(UTC) - timedelta(hours=1)))
    service.inventory.list_products.side_effect = TimeoutError("inventory is down")

    child = register(years_ago(11))
    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(child, lot), "n-1")

    assert list(raised.value.errors) == ["recipient_id"]


def test_a_product_missing_from_the_catalog_is_unprocessable(
    service, register, make_lot, make_dose, read
):
    unknown = make_lot(product_id="unheard-of-vaccine")
    service.inventory.get_lot.return_value = unknown

    with pytest.raises(Unprocessable) as raised:
        service.record_administration(make_dose(register(), unknown), "n-1")

    assert raised.value.errors == {
        "lot_id": ["Product unheard-of-vaccine of this lot is not in the catalog."]
    }
    # Looked up once at the start, and once more for the product not seen.
    assert service.inventory.list_products.call_count == 2
    assert read.count(Administration) == 0
