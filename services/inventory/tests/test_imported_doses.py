"""A chunk of imported doses (`administrations_imported`) is applied to stock in one go, by the
rules of single doses: one ledger entry per dose, never below zero (the doses beyond stock are
`no_stock` discrepancies), once per event, and voids or corrections of imported doses work."""

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cvms_platform import contracts
from cvms_platform.contracts import new_event, to_wire
from inventory.models import Discrepancy, LedgerEntry, Lot, OpenVial

from .conftest import on_hand

LOCATION = "clinic-1"


def imported(doses: list[dict], *, correlation_id: str = "corr-import") -> dict:
    """The wire body administration's relay publishes for one import chunk."""
    return to_wire(
        new_event(
            "administrations_imported",
            {"import_id": str(uuid.uuid4()), "location_id": LOCATION, "doses": doses},
            correlation_id=correlation_id,
        )
    )


def dose(lot: dict, at: datetime | None = None, *, location_id: str = LOCATION) -> dict:
    return {
        "administration_id": str(uuid.uuid4()),
        "recipient_id": str(uuid.uuid4()),
        "location_id": location_id,
        "lot_id": lot["id"],
        "product_id": lot["product_id"],
        "lot_number": lot["lot_number"],
        "dose_number": 1,
        "administered_at": at or datetime.now(UTC) - timedelta(days=30),
    }


def voided(given: dict) -> dict:
    return to_wire(
        new_event(
            "administration_voided",
            {
                **{k: given[k] for k in ("administration_id", "recipient_id", "location_id")},
                "lot_id": given["lot_id"],
                "product_id": given["product_id"],
                "reason": "Typed twice from the paper form.",
                "voided_by": "clinic.manager",
                "voided_at": datetime.now(UTC),
            },
            correlation_id="corr-void",
        )
    )


def administered(read) -> list[LedgerEntry]:
    return read.all(
        select(LedgerEntry)
        .where(LedgerEntry.reason == "administered")
        .order_by(LedgerEntry.balance_after.desc())
    )


def test_each_imported_dose_takes_one_dose_with_its_own_ledger_entry(service, receive, read):
    first, second = receive(10), receive(5)
    chunk = [dose(first), dose(second), dose(first), dose(first)]
    body = imported(chunk)

    service.on_administrations_imported(body)

    assert (on_hand(service, first), on_hand(service, second)) == (7, 4)
    entries = administered(read)
    assert sorted(e.reference_id for e in entries) == sorted(d["administration_id"] for d in chunk)
    assert {(e.delta, e.source_event_id, e.correlation_id) for e in entries} == {
        (-1, body["id"], "corr-import")
    }
    of_first = [e.balance_after for e in entries if e.lot_id == first["id"]]
    assert of_first == [9, 8, 7]  # a running balance, as single doses leave it


def test_a_chunk_announces_each_lot_once_with_its_doses_on_hand(service, receive, read):
    first, second = receive(10), receive(5)
    received = len(read.events("inventory_adjusted"))

    service.on_administrations_imported(imported([dose(first), dose(second), dose(first)]))

    bodies = read.events("inventory_adjusted")[received:]
    adjusted = {
        str(e.payload["lot_id"]): e.payload
        for e in (
            contracts.parse(b, source="inventory", event_type="inventory_adjusted") for b in bodies
        )
    }
    assert {lot: (p["delta"], p["doses_on_hand"]) for lot, p in adjusted.items()} == {
        first["id"]: (-2, 8),
        second["id"]: (-1, 4),
    }
    last_of_first = read.all(
        select(LedgerEntry.id).where(
            LedgerEntry.lot_id == first["id"], LedgerEntry.balance_after == 8
        )
    )
    assert [str(adjusted[first["id"]]["ledger_entry_id"])] == last_of_first


def test_doses_beyond_the_lots_stock_become_no_stock_discrepancies(service, receive, read):
    lot = receive(2)
    chunk = [dose(lot) for _ in range(5)]

    service.on_administrations_imported(imported(chunk))

    assert on_hand(service, lot) == 0
    assert [e.reference_id for e in administered(read)] == [
        d["administration_id"] for d in chunk[:2]
    ]
    missing = read.all(select(Discrepancy).where(Discrepancy.reason == "no_stock"))
    assert sorted(d.administration_id for d in missing) == sorted(
        d["administration_id"] for d in chunk[2:]
    )
    assert {d.lot_id for d in missing} == {lot["id"]}
    assert len(read.events("inventory_discrepancy_recorded")) == 3


def test_a_dose_of_a_lot_at_another_location_or_unknown_is_a_discrepancy(service, receive, read):
    lot = receive(5)
    elsewhere = dose(lot, location_id="clinic-2")
    unknown = dose({**lot, "id": str(uuid.uuid4())})

    service.on_administrations_imported(imported([elsewhere, unknown, dose(lot)]))

    assert on_hand(service, lot) == 4
    found = read.all(select(Discrepancy).where(Discrepancy.reason == "unknown_lot"))
    assert sorted(d.administration_id for d in found) == sorted(
        [elsewhere["administration_id"], unknown["administration_id"]]
    )


def test_a_dose_from_a_quarantined_lot_leaves_stock_and_is_kept_for_review(
    service, receive, read, db
):
    lot = receive(5)
    with db.transaction() as session:
        session.get(Lot, lot["id"]).status = "quarantined"

    service.on_administrations_imported(imported([dose(lot), dose(lot)]))

    assert on_hand(service, lot) == 3
    count = read.all(
        select(func.count()).where(Discrepancy.reason == "quarantined_lot").select_from(Discrepancy)
    )
    assert count == [2]


def test_a_chunk_delivered_twice_is_applied_once(service, receive, read):
    lot = receive(10)
    body = imported([dose(lot), dose(lot), dose(lot)])

    service.on_administrations_imported(body)
    service.on_administrations_imported(copy.deepcopy(body))

    assert on_hand(service, lot) == 7
    assert len(administered(read)) == 3


def test_a_void_of_an_imported_dose_puts_it_back(service, receive, read):
    lot = receive(10)
    given = dose(lot)
    service.on_administrations_imported(imported([given, dose(lot)]))

    service.on_administration_voided(voided(given))

    assert on_hand(service, lot) == 9
    [back] = read.all(select(LedgerEntry).where(LedgerEntry.reason == "administration_voided"))
    assert (back.reference_id, back.delta, back.balance_after) == (given["administration_id"], 1, 9)


def test_a_void_of_an_imported_dose_that_found_no_stock_settles_its_discrepancy(
    service, receive, read
):
    lot = receive(1)
    given, short = dose(lot), dose(lot)
    service.on_administrations_imported(imported([given, short]))

    service.on_administration_voided(voided(short))

    assert on_hand(service, lot) == 0
    [missing] = read.all(select(Discrepancy).where(Discrepancy.reason == "no_stock"))
    assert missing.resolved_at is not None


def test_a_void_applied_before_its_chunk_stands(service, receive, read):
    lot = receive(10)
    given, other = dose(lot), dose(lot)
    service.on_administration_voided(voided(given))  # travelled on another queue, came first

    service.on_administrations_imported(imported([given, other]))

    assert on_hand(service, lot) == 9
    assert [e.reference_id for e in administered(read)] == [other["administration_id"]]


def test_doses_given_now_are_drawn_from_open_vials_as_single_doses_are(service, receive, read):
    lot = receive(10)  # the gray cap: 6 doses a vial
    now = datetime.now(UTC)

    service.on_administrations_imported(imported([dose(lot, now) for _ in range(7)]))

    vials = read.all(select(OpenVial).order_by(OpenVial.doses_in_vial.desc()))
    assert [(v.doses_in_vial, v.doses_left) for v in vials] == [(6, 0), (4, 3)]
    taken_from = {e.vial_id for e in administered(read)}
    assert taken_from == {v.id for v in vials}
    assert len(read.events("vial_opened")) == 2


def test_an_event_holds_at_most_its_contracts_number_of_doses(receive):
    lot = receive(1)
    with pytest.raises(ValueError, match="doses"):
        imported([dose(lot) for _ in range(contracts.MAX_IMPORTED_DOSES + 1)])
