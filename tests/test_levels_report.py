"""The inventory levels report through the whole system: receive, administer, waste, and the
report (JSON and CSV, one location and every location) says exactly that."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.conftest import receive_lot
from tests.harness import wait_until

GRAY = "pfizer-gray-12plus"


def test_the_report_counts_what_was_received_administered_and_wasted(admin, location):
    today = datetime.now(UTC).date()
    # A range around today, so the test holds across midnight UTC.
    query = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    lasting = admin.receive_lot(location, doses=10)
    receive_lot(admin, location, 5, expiration_date=(today + timedelta(days=20)).isoformat())
    for _ in range(2):
        recipient = admin.register_recipient()
        response = admin.administer(location, lasting["id"], recipient["id"])
        assert response.status_code == 201, response.text
    wasted = admin.post(
        f"/locations/{location}/lots/{lasting['id']}/wastage",
        json={"doses": 1, "reason": "broken_vial", "note": "Dropped."},
    )
    assert wasted.status_code == 201, wasted.text

    def report_with_both_doses():
        response = admin.get(f"/locations/{location}/inventory-levels?{query}")
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        return rows if rows and rows[0]["administered"] == 2 else None

    [row] = wait_until(report_with_both_doses, what="both doses in the report")

    assert (row["location_id"], row["product_id"]) == (location, GRAY)
    assert (row["on_hand_start"], row["received"], row["administered"]) == (0, 15, 2)
    assert (row["wasted"], row["wasted_broken_vial"], row["corrections"]) == (1, 1, 0)
    assert (row["transferred_in"], row["transferred_out"]) == (0, 0)
    assert row["on_hand_end"] == 12 == admin.doses_on_hand(location, lasting["id"]) + 5
    assert row["expiring_within_30_days"] == 5

    as_csv = admin.get(
        f"/locations/{location}/inventory-levels?{query}", headers={"Accept": "text/csv"}
    )
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.headers["Content-Disposition"].startswith("attachment;")
    [csv_row] = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert csv_row == {column: str(value) for column, value in row.items()}

    # Every location: the location's row is on one of the pages, and the totals add up.
    found, page = None, 1
    while found is None:
        response = admin.get(f"/inventory-levels?{query}&limit=200&page={page}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["rows"], "the location is on no page"
        found = next((r for r in body["rows"] if r["location_id"] == location), None)
        page += 1
    assert found == row
    for column, value in body["grand_total"].items():
        if column not in ("location_id", "product_id"):
            assert value == sum(total[column] for total in body["totals"])
