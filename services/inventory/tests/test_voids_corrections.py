"""Voided and corrected administrations put stock right: a void puts the dose back to its lot
(or settles the discrepancy if it never left stock), a correction to another lot moves it. The
events of one dose may arrive in any order, and each is applied once."""

import copy
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cvms_platform.contracts import new_event, to_wire
from inventory.models import Discrepancy, LedgerEntry, OpenVial

from .conftest import on_hand

LOCATION = "clinic-1"


class Dose:
    """One administration's events, as administration's relay publishes them."""

    def __init__(self, lot: dict, at: datetime | None = None):
        self.id = str(uuid.uuid4())
        self.recipient_id = str(uuid.uuid4())
        self.lot = lot
        self.at = at or datetime.now(UTC)

    def given(self) -> dict:
        return self._wire(
            "dose_administered",
            {
                "lot_id": self.lot["id"],
                "product_id": self.lot["product_id"],
                "lot_number": self.lot["lot_number"],
                "dose_number": 1,
                "administered_at": self.at,
            },
        )

    def voided(self, lot: dict | None = None) -> dict:
        lot = lot or self.lot
        return self._wire(
            "administration_voided",
            {
                "lot_id": lot["id"],
                "product_id": lot["product_id"],
                "reason": "Entered for the wrong recipient.",
                "voided_by": "clinic.manager",
                "voided_at": datetime.now(UTC),
            },
        )

    def corrected(self, previous: dict, lot: dict, corrected_at: datetime | None = None) -> dict:
        return self._wire(
            "administration_corrected",
            {
                "previous_lot_id": previous["id"],
                "lot_id": lot["id"],
                "previous_product_id": previous["product_id"],
                "product_id": lot["product_id"],
                "dose_number": 1,
                "administered_at": self.at,
                "changed": ["lot_id"],
                "reason": "Wrong lot scanned.",
                "corrected_by": "clinic.manager",
                "corrected_at": corrected_at or datetime.now(UTC),
            },
        )

    def _wire(self, event_type: str, fields: dict) -> dict:
        payload = {
            "administration_id": self.id,
            "recipient_id": self.recipient_id,
            "location_id": self.lot["location_id"],
            **fields,
        }
        return to_wire(new_event(event_type, payload, correlation_id=f"corr-{event_type}"))


def given(service, lot: dict) -> Dose:
    """A dose of the lot that inventory has taken (its dose_administered consumed)."""
    dose = Dose(lot)
    service.on_dose_administered(dose.given())
    return dose


def entries(read, reason: str) -> list[LedgerEntry]:
    return read.all(select(LedgerEntry).where(LedgerEntry.reason == reason))


def test_a_void_puts_the_dose_back_to_its_lot(service, receive, read):
    lot = receive()
    dose = given(service, lot)
    void = dose.voided()

    service.on_administration_voided(void)

    assert on_hand(service, lot) == 10
    [entry] = entries(read, "administration_voided")
    assert (entry.lot_id, entry.delta, entry.balance_after) == (lot["id"], 1, 10)
    assert (entry.reference_id, entry.source_event_id) == (dose.id, void["id"])
    assert "wrong recipient" in entry.note
    adjusted = read.events("inventory_adjusted")[-1]["payload"]
    assert (adjusted["reason"], adjusted["delta"], adjusted["doses_on_hand"]) == (
        "administration_voided",
        1,
        10,
    )


def test_a_void_delivered_twice_puts_one_dose_back(service, receive, read):
    lot = receive()
    dose = given(service, lot)
    void = dose.voided()

    service.on_administration_voided(void)
    service.on_administration_voided(copy.deepcopy(void))
    service.on_administration_voided(dose.voided())  # another void of the same dose

    assert on_hand(service, lot) == 10
    assert len(entries(read, "administration_voided")) == 1


def test_a_voided_dose_goes_back_into_its_open_vial(service, receive, read):
    lot = receive()
    dose = given(service, lot)

    service.on_administration_voided(dose.voided())

    [vial] = read.all(select(OpenVial))
    assert (vial.doses_in_vial, vial.doses_left) == (6, 6)


def test_a_void_of_a_dose_that_never_left_stock_settles_its_discrepancy(service, receive, read):
    lot = receive(doses=1)
    service.on_dose_administered(Dose(lot).given())
    dose = Dose(lot)
    service.on_dose_administered(dose.given())  # no stock: a discrepancy
    [open_one] = service.list_discrepancies(LOCATION)
    assert open_one["administration_id"] == dose.id

    service.on_administration_voided(dose.voided())

    assert on_hand(service, lot) == 0
    assert entries(read, "administration_voided") == []
    assert service.list_discrepancies(LOCATION) == []
    [settled] = service.list_discrepancies(LOCATION, include_resolved=True)
    assert "voided" in settled["resolution"]


def test_a_void_applied_before_its_dose_leaves_the_stock_alone(service, receive, read):
    lot = receive()
    dose = Dose(lot)

    service.on_administration_voided(dose.voided())
    service.on_dose_administered(dose.given())

    assert on_hand(service, lot) == 10
    assert entries(read, "administered") == []
    assert read.count(Discrepancy) == 0


def test_a_void_settles_the_review_of_a_dose_from_a_quarantined_lot(service, receive):
    lot = receive(storage_unit="freezer-Q")
    service.report_excursion(
        LOCATION, "freezer-Q", {"observed_at": datetime.now(UTC).isoformat(), "max_c": 9}
    )
    dose = given(service, lot)
    assert [d["reason"] for d in service.list_discrepancies(LOCATION)] == ["quarantined_lot"]

    service.on_administration_voided(dose.voided())

    assert on_hand(service, lot) == 10
    assert service.list_discrepancies(LOCATION) == []


def test_a_correction_to_another_lot_moves_the_dose(service, receive, read):
    wrong, right = receive(lot_number="WRONG"), receive(lot_number="RIGHT")
    dose = Dose(wrong)
    service.on_dose_administered(dose.given())

    service.on_administration_corrected(dose.corrected(wrong, right))

    assert (on_hand(service, wrong), on_hand(service, right)) == (10, 9)
    [back] = entries(read, "administration_voided")
    assert (back.lot_id, back.delta, back.reference_id) == (wrong["id"], 1, dose.id)
    taken = [e for e in entries(read, "administered") if e.lot_id == right["id"]]
    assert [(e.delta, e.reference_id) for e in taken] == [(-1, dose.id)]


def test_a_correction_delivered_twice_moves_the_dose_once(service, receive):
    wrong, right = receive(), receive()
    dose = Dose(wrong)
    service.on_dose_administered(dose.given())
    correction = dose.corrected(wrong, right)

    service.on_administration_corrected(correction)
    service.on_administration_corrected(copy.deepcopy(correction))

    assert (on_hand(service, wrong), on_hand(service, right)) == (10, 9)


def test_a_correction_that_keeps_the_lot_changes_no_stock(service, receive, read):
    lot = receive()
    dose = given(service, lot)

    service.on_administration_corrected(dose.corrected(lot, lot))

    assert on_hand(service, lot) == 9
    assert entries(read, "administration_voided") == []


def test_a_correction_to_a_lot_without_stock_is_a_discrepancy(service, receive):
    wrong, empty = receive(), receive(doses=1)
    service.on_dose_administered(Dose(empty).given())
    dose = Dose(wrong)
    service.on_dose_administered(dose.given())

    service.on_administration_corrected(dose.corrected(wrong, empty))

    assert (on_hand(service, wrong), on_hand(service, empty)) == (10, 0)
    [discrepancy] = service.list_discrepancies(LOCATION)
    assert (discrepancy["reason"], discrepancy["lot_id"]) == ("no_stock", empty["id"])
    assert discrepancy["administration_id"] == dose.id


def test_correcting_a_dose_recorded_against_an_empty_lot_settles_it_and_takes_the_dose(
    service, receive, read
):
    empty, right = receive(doses=1), receive()
    service.on_dose_administered(Dose(empty).given())
    dose = Dose(empty)
    service.on_dose_administered(dose.given())

    service.on_administration_corrected(dose.corrected(empty, right))

    assert (on_hand(service, empty), on_hand(service, right)) == (0, 9)
    assert service.list_discrepancies(LOCATION) == []


def test_a_correction_applied_before_its_dose_takes_the_dose_from_the_corrected_lot(
    service, receive
):
    wrong, right = receive(), receive()
    dose = Dose(wrong)

    service.on_administration_corrected(dose.corrected(wrong, right))
    service.on_dose_administered(dose.given())

    assert (on_hand(service, wrong), on_hand(service, right)) == (10, 9)


def test_an_older_correction_delivered_late_does_not_undo_a_newer_one(service, receive):
    first, second, third = receive(), receive(), receive()
    dose = Dose(first)
    service.on_dose_administered(dose.given())
    older = dose.corrected(first, second, corrected_at=datetime.now(UTC) - timedelta(minutes=5))
    newer = dose.corrected(second, third)

    service.on_administration_corrected(newer)
    service.on_administration_corrected(older)

    assert [on_hand(service, lot) for lot in (first, second, third)] == [10, 10, 9]


def test_a_void_after_a_correction_puts_the_dose_back_to_the_corrected_lot(service, receive):
    wrong, right = receive(), receive()
    dose = Dose(wrong)
    service.on_dose_administered(dose.given())
    service.on_administration_corrected(dose.corrected(wrong, right))

    service.on_administration_voided(dose.voided(right))

    assert (on_hand(service, wrong), on_hand(service, right)) == (10, 10)


def test_a_correction_after_a_void_changes_nothing(service, receive):
    wrong, right = receive(), receive()
    dose = Dose(wrong)
    service.on_dose_administered(dose.given())
    service.on_administration_voided(dose.voided())

    service.on_administration_corrected(dose.corrected(wrong, right))

    assert (on_hand(service, wrong), on_hand(service, right)) == (10, 10)


def test_the_levels_report_counts_voids_and_keeps_its_balance(service, receive):
    lot = receive()
    dose = given(service, lot)
    service.on_administration_voided(dose.voided())
    today = datetime.now(UTC).date().isoformat()

    [row] = service.inventory_levels(LOCATION, today, today)["rows"]

    assert (row["administered"], row["administrations_voided"], row["on_hand_end"]) == (1, 1, 10)
