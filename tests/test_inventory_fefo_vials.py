"""First expired, first out and open multi-dose vials, through the whole system: doses recorded
at the gateway, taken by inventory from the lot's open vial, the next lot chosen, quarantined
lots left out, and what is left in a vial past its beyond-use time wasted by inventory's timer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.conftest import receive_lot
from tests.harness import wait_until

GRAY = "pfizer-gray-12plus"  # 6 doses a vial, 12 hours beyond use


def now_iso(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def receive(user, location: str, doses: int, expires: str, unit: str = "freezer-1") -> dict:
    return receive_lot(user, location, doses, expiration_date=expires, storage_unit=unit)


def give_now(user, location: str, lot_id: str, **at) -> dict:
    recipient = user.register_recipient()
    response = user.administer(location, lot_id, recipient["id"], administered_at=now_iso(**at))
    assert response.status_code == 201, response.text
    return response.json()


def open_vials(user, location: str) -> list[dict]:
    response = user.get(f"/locations/{location}/open-vials")
    assert response.status_code == 200, response.text
    return response.json()


def next_lot(user, location: str, product_id: str = GRAY):
    return user.get(f"/locations/{location}/products/{product_id}/next-lot")


def test_never_negative_under_50_concurrent_doses_on_one_lot(admin, location, inventory_db):
    lot = admin.receive_lot(location, doses=30)
    recipients = [admin.register_recipient() for _ in range(50)]
    at = now_iso()
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(
            pool.map(
                lambda r: admin.administer(location, lot["id"], r["id"], administered_at=at),
                recipients,
            )
        )
    assert [r.status_code for r in responses] == [201] * 50

    def discrepancies():
        return admin.get(f"/locations/{location}/discrepancies").json()

    wait_until(lambda: len(discrepancies()) == 20, timeout=60, what="20 doses without stock")
    assert admin.doses_on_hand(location, lot["id"]) == 0
    with inventory_db.connect() as db:
        entries = db.execute(
            text(
                "SELECT delta, balance_after, vial_id FROM ledger_entries "
                "WHERE lot_id = :lot AND reason = 'administered'"
            ),
            {"lot": lot["id"]},
        ).all()
        vials = db.execute(
            text(
                "SELECT doses_in_vial, doses_left, closed_reason FROM open_vials "
                "WHERE lot_id = :lot"
            ),
            {"lot": lot["id"]},
        ).all()
    assert len(entries) == 30
    assert sorted(e.balance_after for e in entries) == list(range(30))
    # 30 doses are five full vials, each emptied: no vial was opened twice over.
    assert sorted(tuple(v) for v in vials) == [(6, 0, "emptied")] * 5
    assert len({e.vial_id for e in entries}) == 5
    assert {d["reason"] for d in discrepancies()} == {"no_stock"}
    assert open_vials(admin, location) == []


def test_fefo_chooses_the_lot_expiring_first_then_the_one_with_an_open_vial(admin, location):
    late = receive(admin, location, 12, "2031-06-30")
    soon = receive(admin, location, 12, "2030-01-31")
    receive(admin, location, 12, "2030-12-31")

    first = next_lot(admin, location)
    assert first.status_code == 200, first.text
    assert (first.json()["lot_id"], first.json()["open_vial_id"]) == (soon["id"], None)

    give_now(admin, location, late["id"])  # a vial of the late lot is opened

    [vial] = wait_until(lambda: open_vials(admin, location), what="the vial opened")
    assert (vial["lot_id"], vial["lot_number"], vial["doses_left"]) == (
        late["id"],
        late["lot_number"],
        5,
    )
    assert 11 * 3600 < vial["seconds_left"] <= 12 * 3600
    chosen = next_lot(admin, location).json()
    assert (chosen["lot_id"], chosen["open_vial_id"]) == (late["id"], vial["vial_id"])
    assert chosen["expiration_date"] == "2031-06-30"


def test_quarantined_lots_are_not_chosen(admin, location):
    unit = f"freezer-{uuid.uuid4().hex[:6]}"
    receive(admin, location, 10, "2030-01-31", unit=unit)
    fridge = receive(admin, location, 10, "2031-01-31", unit="fridge-1")
    excursion = admin.post(
        f"/locations/{location}/storage-units/{unit}/excursions",
        json={"observed_at": now_iso(), "max_c": 15},
    )
    assert excursion.status_code == 201, excursion.text

    assert next_lot(admin, location).json()["lot_id"] == fridge["id"]

    admin.post(
        f"/locations/{location}/storage-units/fridge-1/excursions",
        json={"observed_at": now_iso(), "max_c": 15},
    )
    refused = next_lot(admin, location)

    assert refused.status_code == 422, refused.text
    assert list(refused.json()["fields"]) == ["product_id"]


def test_an_open_vial_past_its_beyond_use_time_is_wasted_by_the_timer(admin, location):
    lot = receive(admin, location, 12, "2031-01-31")
    # Opened almost 12 hours ago: its beyond-use time is moments away; the minute timer of
    # inventory then wastes the 5 doses left (polled with a deadline, not waited for).
    give_now(admin, location, lot["id"], hours=-12, seconds=20)
    wait_until(lambda: admin.doses_on_hand(location, lot["id"]) == 11, what="the dose taken")

    wait_until(
        lambda: admin.doses_on_hand(location, lot["id"]) == 6,
        timeout=120,
        interval=1,
        what="the open vial's leftover doses wasted",
    )
    ledger = admin.get(f"/locations/{location}/lots/{lot['id']}/ledger").json()["entries"]
    wasted = [e for e in ledger if e["reason"] == "wasted"]
    assert [(e["delta"], e["wastage_reason"]) for e in wasted] == [(-5, "open_vial_time_limit")]
    assert open_vials(admin, location) == []
