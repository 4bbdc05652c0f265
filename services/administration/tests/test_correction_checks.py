"""A corrected dose is checked as a dose being recorded is: its lot, and the clinical rules its
changed fields bear on (minimum age, interval with the grace period, dose number), against the
recipient's other doses; a broken rule needs an override by a caller allowed to."""

from datetime import UTC, datetime, timedelta

import pytest

from cvms_platform.errors import Unprocessable

REASON = "Entered from the wrong line of the paper log."
OVERRIDE = {"override": {"reason": "Physician's order on file."}}


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days, hours=1)).isoformat()


@pytest.fixture
def teenager(service) -> dict:
    """Fifteen years old: old enough for Pfizer (12+), not for Moderna (18+)."""
    born = datetime.now(UTC).date() - timedelta(days=365 * 15 + 60)
    return service.register_recipient(
        {"given_name": "Tim", "family_name": "Young", "birth_date": born.isoformat()}
    )["recipient"]


def give(service, recipient, lot, make_dose, days_ago: int, **extra) -> dict:
    dose = make_dose(recipient, lot, days_ago=days_ago, **extra)
    return service.record_administration(dose, "nurse-1", True)["administration"]


def refused(service, dose: dict, correction: dict, may_override: bool = False) -> dict:
    with pytest.raises(Unprocessable) as error:
        correct(service, dose, correction, may_override)
    return error.value.errors


def correct(service, dose: dict, correction: dict, may_override: bool = False) -> dict:
    return service.correct_administration(
        dose["id"], {"reason": REASON, **correction}, "mgr", None, may_override
    )["administration"]


def quarantined_lot(service, make_lot, days_ago: int) -> dict:
    """Lot EW0199, quarantined `days_ago` days ago: what inventory's `get_lot` now answers."""
    quarantined = make_lot(
        lot_number="EW0199",
        status="quarantined",
        quarantined_at=(datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
    )
    service.inventory.get_lot.return_value = quarantined
    return quarantined


# -- minimum age ----------------------------------------------------------------------------------
def test_a_lot_of_a_product_the_recipient_is_too_young_for_is_refused(
    service, teenager, lot, make_lot, make_dose
):
    dose = give(service, teenager, lot, make_dose, days_ago=1)
    moderna = make_lot(product_id="moderna-red-18plus", lot_number="EW0182")
    service.inventory.get_lot.return_value = moderna

    errors = refused(service, dose, {"lot_id": moderna["id"]})

    assert list(errors) == ["recipient_id"]
    assert "is for ages 18 and up" in errors["recipient_id"][0]


def test_a_time_before_the_recipient_was_old_enough_is_refused(service, teenager, lot, make_dose):
    dose = give(service, teenager, lot, make_dose, days_ago=1)

    errors = refused(service, dose, {"administered_at": ago(365 * 4)})

    assert "is for ages 12 and up" in errors["recipient_id"][0]


def test_an_allowed_override_corrects_the_dose_and_keeps_the_rule_and_reason(
    service, teenager, lot, make_lot, make_dose
):
    dose = give(service, teenager, lot, make_dose, days_ago=1)
    moderna = make_lot(product_id="moderna-red-18plus", lot_number="EW0182")
    service.inventory.get_lot.return_value = moderna

    corrected = correct(service, dose, {"lot_id": moderna["id"], **OVERRIDE}, may_override=True)

    assert corrected["lot_number"] == "EW0182"
    assert corrected["overridden_rules"] == ["min_age"]
    assert corrected["override_reason"] == "Physician's order on file."
    [change] = corrected["history"]
    assert (change["before"]["overridden_rules"], change["after"]["overridden_rules"]) == (
        None,
        ["min_age"],
    )


def test_an_override_from_a_caller_not_allowed_is_refused(
    service, teenager, lot, make_lot, make_dose
):
    dose = give(service, teenager, lot, make_dose, days_ago=1)
    moderna = make_lot(product_id="moderna-red-18plus")
    service.inventory.get_lot.return_value = moderna

    errors = refused(service, dose, {"lot_id": moderna["id"], **OVERRIDE}, may_override=False)

    assert set(errors) == {"recipient_id", "override"}


# -- minimum interval -----------------------------------------------------------------------------
def test_a_time_too_soon_after_the_previous_dose_is_refused(service, recipient, lot, make_dose):
    give(service, recipient, lot, make_dose, days_ago=40)
    second = give(service, recipient, lot, make_dose, days_ago=1)

    # 10 days after the first: Pfizer needs 21, at least 17 with the grace period.
    errors = refused(service, second, {"administered_at": ago(30)})

    assert list(errors) == ["administered_at"]
    assert errors["administered_at"][0].startswith("Only 10 days since the previous dose")


def test_a_time_within_the_grace_period_is_accepted(service, recipient, lot, make_dose):
    give(service, recipient, lot, make_dose, days_ago=40)
    second = give(service, recipient, lot, make_dose, days_ago=1)

    corrected = correct(service, second, {"administered_at": ago(23)})  # 17 days after

    assert corrected["overridden_rules"] is None


def test_a_time_too_close_before_the_next_dose_is_refused(service, recipient, lot, make_dose):
    first = give(service, recipient, lot, make_dose, days_ago=40)
    give(service, recipient, lot, make_dose, days_ago=10)  # 30 days after the first

    # Moved to 5 days before the second: still dose 1, but Pfizer needs 21 days (17) before 2.
    errors = refused(service, first, {"administered_at": ago(15)})

    assert list(errors) == ["administered_at"]
    assert errors["administered_at"][0].startswith("Only 5 days before the next dose")


def test_moving_a_first_dose_within_the_interval_it_leaves_is_accepted(
    service, recipient, lot, make_dose
):
    first = give(service, recipient, lot, make_dose, days_ago=40)
    give(service, recipient, lot, make_dose, days_ago=10)

    corrected = correct(service, first, {"administered_at": ago(27)})  # 17 days before

    assert corrected["overridden_rules"] is None


def test_the_next_doses_product_sets_the_interval_it_needs(
    service, recipient, lot, make_lot, make_dose
):
    first = give(service, recipient, lot, make_dose, days_ago=40)  # Pfizer: 21 days (17)
    moderna = make_lot(product_id="moderna-red-18plus", lot_number="EW0182")
    service.inventory.get_lot.return_value = moderna
    give(service, recipient, moderna, make_dose, days_ago=10)  # Moderna: 28 days (24)

    # 20 days before the Moderna dose: enough for Pfizer's interval, not for Moderna's.
    errors = refused(service, first, {"administered_at": ago(30)})

    assert errors["administered_at"][0].startswith("Only 20 days before the next dose")
    assert "needs 28 days" in errors["administered_at"][0]


def test_a_lot_of_a_product_with_a_longer_interval_is_refused(
    service, recipient, lot, make_lot, make_dose
):
    give(service, recipient, lot, make_dose, days_ago=23)
    second = give(service, recipient, lot, make_dose, days_ago=1)  # 22 days: fine for Pfizer
    moderna = make_lot(product_id="moderna-red-18plus")
    service.inventory.get_lot.return_value = moderna

    errors = refused(service, second, {"lot_id": moderna["id"]})  # Moderna: 28, 24 with grace

    assert errors["administered_at"][0].startswith("Only 22 days since the previous dose")


def test_the_dose_itself_and_voided_doses_do_not_count_as_previous(
    service, recipient, lot, make_dose
):
    voided = give(service, recipient, lot, make_dose, days_ago=12)
    service.void_administration(voided["id"], {"reason": REASON}, "mgr")
    dose = give(service, recipient, lot, make_dose, days_ago=2, dose_number=1)

    corrected = correct(service, dose, {"administered_at": ago(10)})

    assert corrected["administered_at"].startswith(ago(10)[:10])
    assert corrected["overridden_rules"] is None


# -- dose number ----------------------------------------------------------------------------------
def test_a_dose_number_the_history_does_not_bear_out_is_refused(service, recipient, lot, make_dose):
    give(service, recipient, lot, make_dose, days_ago=40)
    second = give(service, recipient, lot, make_dose, days_ago=1)

    errors = refused(service, second, {"dose_number": 3})

    assert errors == {
        "dose_number": [
            "The recipient has 1 doses recorded; this would be dose 2, not 3.",
        ]
    }


def test_moving_a_dose_before_another_makes_its_number_wrong(service, recipient, lot, make_dose):
    first = give(service, recipient, lot, make_dose, days_ago=60)
    give(service, recipient, lot, make_dose, days_ago=30)

    errors = refused(service, first, {"administered_at": ago(1)})

    assert "dose_number" in errors


def test_a_dose_number_that_follows_the_history_is_accepted_and_flagged_past_the_series(
    service, recipient, lot, make_dose
):
    give(service, recipient, lot, make_dose, days_ago=90)
    second = give(service, recipient, lot, make_dose, days_ago=60, dose_number=3, **OVERRIDE)

    corrected = correct(service, second, {"dose_number": 2})

    assert (corrected["dose_number"], corrected["flags"]) == (2, None)
    [change] = corrected["history"]
    assert (change["before"]["flags"], change["after"]["flags"]) == (["beyond_series"], None)


def test_an_override_recorded_before_stands_when_other_fields_are_corrected(
    service, recipient, lot, make_dose
):
    give(service, recipient, lot, make_dose, days_ago=10)
    soon = give(service, recipient, lot, make_dose, days_ago=1, **OVERRIDE)
    assert soon["overridden_rules"] == ["min_interval"]

    corrected = correct(service, soon, {"site": "RD"})

    assert (corrected["site"], corrected["overridden_rules"]) == ("RD", ["min_interval"])


# -- the lot --------------------------------------------------------------------------------------
def test_a_lot_inventory_does_not_know_is_refused(service, recipient, lot, make_dose):
    dose = give(service, recipient, lot, make_dose, days_ago=1)
    service.inventory.get_lot.return_value = None

    errors = refused(service, dose, {"lot_id": "0f4b5a44-1c1b-4d5e-9a53-2f8e0c1d7b61"})

    assert errors == {"lot_id": ["Unknown lot."]}


def test_a_time_after_the_lot_expired_is_refused(service, recipient, make_lot, make_dose):
    expires = datetime.now(UTC).date() - timedelta(days=5)
    lot = make_lot(expiration_date=expires.isoformat())
    service.inventory.get_lot.return_value = lot
    dose = give(service, recipient, lot, make_dose, days_ago=10)

    errors = refused(service, dose, {"administered_at": ago(2)})

    assert errors == {"administered_at": [f"This lot expired on {expires.isoformat()}."]}


def test_a_lot_quarantined_when_the_dose_was_given_needs_an_override(
    service, recipient, lot, make_lot, make_dose
):
    dose = give(service, recipient, lot, make_dose, days_ago=1)
    quarantined = quarantined_lot(service, make_lot, days_ago=3)

    errors = refused(service, dose, {"lot_id": quarantined["id"]})
    corrected = correct(service, dose, {"lot_id": quarantined["id"], **OVERRIDE}, True)

    assert list(errors) == ["lot_id"]
    assert "quarantined since" in errors["lot_id"][0]
    assert corrected["overridden_rules"] == ["quarantined_lot"]


def test_a_lot_quarantined_after_the_dose_was_given_is_accepted(
    service, recipient, lot, make_lot, make_dose
):
    dose = give(service, recipient, lot, make_dose, days_ago=5)
    quarantined = quarantined_lot(service, make_lot, days_ago=1)

    corrected = correct(service, dose, {"lot_id": quarantined["id"]})

    assert (corrected["lot_number"], corrected["overridden_rules"]) == ("EW0199", None)
