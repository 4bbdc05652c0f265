"""Inventory, the inventory levels report and offline operations in a real browser.

A manager receives a shipment and sees it on the dashboard with its expiry warning, records
wastage and sees on-hand fall, meets the API's refusal beside the field; the report draws stock
over time and downloads its CSV; the offline page downloads the paper forms and an uploaded CSV
shows its per-row report (with the script's progress bar, and as a plain form post without
it); state admins see the state; a location the manager does not act for is refused."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import DEMO_LOCATION, MANAGER, STATE_ADMIN

PRODUCT = "pfizer-gray-12plus"
PAGES = f"/provider/locations/{DEMO_LOCATION}"


def lot_number(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}"


@pytest.fixture(scope="module")
def stocked(api) -> dict:
    """A lot at the demo clinic, received through the API, so the report has a line to draw."""
    manager = api.as_user(*MANAGER)
    response = manager.post(
        f"/locations/{DEMO_LOCATION}/lots",
        json={
            "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
            "product_id": PRODUCT,
            "lot_number": lot_number("REPORT"),
            "expiration_date": (date.today() + timedelta(days=200)).isoformat(),
            "doses": 120,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def press(page, button: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def reload_until(person, locator, text: str, timeout: float = 20.0) -> None:
    """Stock is cached for a second by the gateway: reload until the page says `text`."""
    deadline = time.monotonic() + timeout
    while text not in (locator.text_content() or ""):
        assert time.monotonic() < deadline, f"never saw {text!r}: {locator.text_content()!r}"
        person.page.wait_for_timeout(250)
        person.page.reload()


def test_a_manager_receives_a_shipment_records_wastage_and_meets_a_refusal(person):
    page = person.page
    person.sign_in(*MANAGER)
    person.goto(f"{PAGES}/inventory")
    page.get_by_role("link", name="Receive a shipment").click()
    page.wait_for_load_state()
    person.check_accessibility()

    # A lot number the API refuses: its message beside the field, the rest kept.
    page.get_by_label("Product").select_option(PRODUCT)
    page.get_by_label("Lot number").fill("BAD LOT!")
    expires = date.today() + timedelta(days=20)
    page.get_by_label("Expiration date").fill(expires.isoformat())
    page.get_by_label("Doses received").fill("30")
    press(page, "Receive shipment")
    person.check_accessibility()
    error = page.locator("#field-lot_number-error")
    assert "Letters, digits and '-' only." in error.text_content()
    assert page.get_by_label("Doses received").input_value() == "30"
    assert page.get_by_role("heading", name="There is a problem").is_visible()

    number = lot_number("INV")
    page.get_by_label("Lot number").fill(number)
    press(page, "Receive shipment")
    assert page.url.endswith(f"{PAGES}/inventory")
    assert f"Lot {number} received: 30 doses." in page.locator("main").text_content()
    row = page.locator("tr", has=page.get_by_role("rowheader", name=number, exact=True))
    reload_until(person, row, "30")
    assert "Expires in 20 days" in row.text_content()
    product = page.locator("section", has=row).get_by_role("heading", level=2)
    assert product.text_content().count("Gray Cap") == 1  # the lot's product, cap colour once
    assert page.get_by_role("heading", name="Open vials").is_visible()
    person.check_accessibility()
    person.shot("inventory-dashboard")

    # Wastage with its reason lowers on-hand.
    row.get_by_role("link", name=f"Ledger, wastage and transfers of lot {number}").click()
    page.wait_for_load_state()
    person.check_accessibility()
    page.get_by_label("Doses wasted").fill("2")
    page.get_by_label("Reason").select_option("broken_vial")
    press(page, "Record wastage")
    assert "Wastage recorded." in page.locator("main").text_content()
    reload_until(person, page.locator("#lot-on-hand"), "28")
    ledger = page.get_by_role("table", name="Every change of the lot's stock, newest first")
    assert "Wasted: Broken vial" in ledger.text_content()

    # Other with no note: the API's reason beside the note.
    page.get_by_label("Doses wasted").fill("1")
    page.get_by_label("Reason").select_option("other")
    press(page, "Record wastage")
    person.check_accessibility()
    assert "Say what happened" in page.locator("#field-wastage-note-error").text_content()

    person.goto(f"{PAGES}/inventory")
    row = page.locator("tr", has=page.get_by_role("rowheader", name=number, exact=True))
    reload_until(person, row, "28")


def test_the_report_draws_stock_over_time_and_downloads_its_csv(person, stocked, tmp_path):
    page = person.page
    person.sign_in(*MANAGER)
    person.goto(f"{PAGES}/reports/levels")
    chart = page.locator("svg.cvms-chart[role=img]")
    assert chart.is_visible()
    assert "Doses on hand at the end of each day" in chart.locator("title").text_content()
    assert "Pfizer" in chart.locator("desc").text_content()
    assert chart.locator("polyline").count() >= 1
    levels = page.get_by_role("table", name="Inventory levels per product")
    assert "Pfizer" in levels.text_content()
    person.shot("reports-levels")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert re.fullmatch(r"inventory-levels-demo-clinic-[\d-]+\.csv", download.suggested_filename)
    path = tmp_path / "levels.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    gray = next(r for r in rows if r["product_id"] == PRODUCT)
    assert int(gray["received"]) >= stocked["doses_received"]

    # A range the API refuses: its message beside the field.
    page.get_by_label("From", exact=True).fill((date.today() + timedelta(days=5)).isoformat())
    page.get_by_label("To", exact=True).fill(date.today().isoformat())
    press(page, "Show report")
    person.check_accessibility()
    assert "ends before it starts" in page.locator("#field-to-error").text_content()


def administrations_csv(lot: str) -> bytes:
    family = f"Offline{uuid.uuid4().hex[:6]}"
    given = (datetime.now(UTC) - timedelta(seconds=5)).isoformat(timespec="seconds")
    rows = [
        ["record_id", "given_name", "family_name", "birth_date", "administered_at", "lot_number"],
        [f"OFF-{uuid.uuid4().hex[:10]}", "Ana", family, "1980-03-04", given, lot],
        [f"OFF-{uuid.uuid4().hex[:10]}", "Eva", family, "2030-01-01", given, lot],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_offline_forms_download_and_an_upload_shows_its_report(person, stocked, tmp_path):
    page = person.page
    person.sign_in(*MANAGER)
    person.goto(f"{PAGES}/offline")
    person.shot("offline")

    for name, kind in (
        ("Recipient registration form (English, PDF)", b"%PDF"),
        ("Recipient registration form (Spanish, PDF)", b"%PDF"),
        ("Vaccine administration form (English, PDF)", b"%PDF"),
        ("Inventory levels form of this location (PDF)", b"%PDF"),
        ("Administration import template (CSV)", b"record_id,"),
        ("Inventory levels form of this location (CSV to fill in)", b"row_id,"),
    ):
        with page.expect_download() as info:
            page.get_by_role("link", name=name, exact=True).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        assert path.read_bytes().startswith(kind), name

    # With the script: the upload goes by XMLHttpRequest, with a progress bar, then the report.
    page.get_by_label("Filled administration CSV").set_input_files(
        files=[
            {
                "name": "filled.csv",
                "mimeType": "text/csv",
                "buffer": administrations_csv(stocked["lot_number"]),
            }
        ]
    )
    with page.expect_navigation(url=re.compile(r"/administration-imports/[0-9a-f-]+$")):
        page.get_by_role("button", name="Upload doses").click()
    person.check_accessibility()
    table = page.get_by_role("table", name="Every row of the file")
    lines = table.locator("tbody tr")
    assert lines.count() == 2
    assert "Accepted" in lines.nth(0).text_content()
    assert "Rejected" in lines.nth(1).text_content()
    assert "birth_date" in lines.nth(1).text_content()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = tmp_path / "report.csv"
    info.value.save_as(report)
    statuses = [r["status"] for r in csv.DictReader(io.StringIO(report.read_text()))]
    assert statuses == ["accepted", "rejected"]

    # A file that is not the template: the API's reason beside the file input.
    person.goto(f"{PAGES}/offline")
    page.get_by_label("Filled administration CSV").set_input_files(
        files=[{"name": "wrong.csv", "mimeType": "text/csv", "buffer": b"colour,size\nred,3\n"}]
    )
    page.get_by_role("button", name="Upload doses").click()
    error = page.locator("#field-administrations_file-error")
    error.wait_for()
    assert "Unknown columns" in error.text_content()


def test_the_inventory_form_uploads_without_its_script(person, api):
    """Without offline.js (blocked here: axe itself needs JavaScript) the form posts as a plain
    form and the report page follows."""
    page = person.page
    page.route("**/static/offline.js", lambda route: route.abort())
    manager = api.as_user(*MANAGER)
    template = manager.get(f"/locations/{DEMO_LOCATION}/inventory-levels/form.csv")
    assert template.status_code == 200, template.text
    rows = list(csv.DictReader(io.StringIO(template.text)))
    blank = next(r for r in rows if not r["lot_id"])
    blank.update(
        product_id=PRODUCT,
        lot_number=lot_number("FORM"),
        expiration_date=(date.today() + timedelta(days=90)).isoformat(),
        receive_doses="12",
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()))
    writer.writeheader()
    writer.writerows(rows)

    person.sign_in(*MANAGER)
    person.goto(f"{PAGES}/offline")
    page.get_by_label("Filled inventory levels CSV").set_input_files(
        files=[{"name": "levels.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()}]
    )
    press(page, "Upload inventory form")
    assert "/offline/levels-imports/" in page.url
    person.check_accessibility()
    table = page.get_by_role("table", name="Every row of the form")
    recorded = table.locator("tr", has=page.get_by_role("rowheader", name=blank["row_id"]))
    assert "Recorded" in recorded.text_content()
    assert "Form imported: 1 recorded" in page.locator("main").text_content()


def test_another_locations_dashboard_is_refused(person, location):
    person.sign_in(*MANAGER)
    response = person.goto(f"/provider/locations/{location}/inventory")
    assert response.status == 403
    assert person.page.get_by_role(
        "heading", name="You do not have access to this page"
    ).is_visible()


def test_a_state_admin_sees_the_state(person, stocked):
    person.sign_in(*STATE_ADMIN)
    person.goto(f"{PAGES}/reports/levels")
    person.page.get_by_role("link", name="The whole state's report").click()
    person.page.wait_for_load_state()
    person.check_accessibility()
    page = person.page
    assert page.get_by_role("heading", name="Inventory report: the state", level=1).is_visible()
    assert page.locator("svg.cvms-chart[role=img] polyline").count() >= 1
    levels = page.get_by_role("table", name="Inventory levels per product")
    assert DEMO_LOCATION in levels.text_content()
    assert "State total" in levels.text_content()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    assert info.value.suggested_filename.startswith("inventory-levels-all-")


def test_an_excursion_quarantines_a_lot_until_released_and_doses_are_transferred(
    person, api, location
):
    manager = api.as_user(*MANAGER)
    unit = f"FRIDGE-{uuid.uuid4().hex[:4].upper()}"
    number = lot_number("COLD")
    response = manager.post(
        f"/locations/{DEMO_LOCATION}/lots",
        json={
            "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
            "product_id": PRODUCT,
            "lot_number": number,
            "expiration_date": (date.today() + timedelta(days=120)).isoformat(),
            "doses": 40,
            "storage_unit": unit,
        },
    )
    assert response.status_code == 201, response.text
    page = person.page
    person.sign_in(*MANAGER)
    person.goto(f"{PAGES}/inventory")
    page.get_by_role("link", name="Report a temperature excursion").click()
    page.wait_for_load_state()
    person.check_accessibility()
    page.get_by_label("Storage unit").fill(unit)
    press(page, "Report excursion")  # no reading: the API's reason beside the field
    person.check_accessibility()
    assert "Give the temperature read" in page.locator("#field-temperature_c-error").text_content()
    page.get_by_label("Temperature (°C)").fill("14.5")
    press(page, "Report excursion")
    assert (
        f"Excursion recorded in {unit}: 1 lots quarantined" in page.locator("main").text_content()
    )
    row = page.locator("tr", has=page.get_by_role("rowheader", name=number, exact=True))
    reload_until(person, row, "Quarantined")

    row.get_by_role("link", name=f"Ledger, wastage and transfers of lot {number}").click()
    page.wait_for_load_state()
    page.get_by_label("Why the lot is fit for use again").fill("Manufacturer: stable at 14.5 °C.")
    press(page, "Release lot")
    assert "The lot is released" in page.locator("main").text_content()

    page.get_by_label("Destination location ID").fill(location)
    page.get_by_label("Doses to transfer").fill("5")
    press(page, "Transfer doses")
    assert f"5 doses transferred to {location}." in page.locator("main").text_content()
    reload_until(person, page.locator("#lot-on-hand"), "35")

    person.goto(f"{PAGES}/inventory/threshold")
    page.get_by_label("Days of supply").fill("0")
    press(page, "Save threshold")
    person.check_accessibility()
    assert page.locator("#field-threshold_days-error").is_visible()
    page.get_by_label("Days of supply").fill("10")
    press(page, "Save threshold")
    assert "Stock is now low under 10 days of supply." in page.locator("main").text_content()

    person.goto(f"{PAGES}/inventory/discrepancies")
    assert page.get_by_role("heading", name="Discrepancies", level=1).is_visible()
