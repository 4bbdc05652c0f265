"""Doses and recipients in a real browser: the screen a vaccinator uses all day.

Find or register the recipient, record a dose with the first-expiring lot preselected and see
the lot's stock fall, a clinical check's refusal beside its field and an override where the API
allows one, a correction and a void in the dose's history, and the whole journey by keyboard."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_LOCATION, MANAGER, VACCINATOR

PRODUCT = "moderna-red-18plus"
PRODUCT_LABEL = re.compile("Moderna")
LOCATION_PAGES = f"/provider/locations/{DEMO_LOCATION}"


@pytest.fixture(scope="module")
def lots(api):
    """Two lots of one product at the demo clinic: the first to expire is the one to use."""
    manager = api.as_user(*MANAGER)
    received = {}
    for name, days in (("first", 12), ("later", 300)):
        response = manager.post(
            f"/locations/{DEMO_LOCATION}/lots",
            json={
                "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
                "product_id": PRODUCT,
                "lot_number": f"DOSES-{name.upper()}-{uuid.uuid4().hex[:4].upper()}",
                "expiration_date": (date.today() + timedelta(days=days)).isoformat(),
                "doses": 200,
            },
        )
        assert response.status_code == 201, response.text
        received[name] = response.json()
    return received


def next_lot(client) -> str:
    """The lot the API says to use next (first expiring first, an open vial's lot before)."""
    response = client.get(f"/locations/{DEMO_LOCATION}/products/{PRODUCT}/next-lot")
    assert response.status_code == 200, response.text
    return response.json()["lot_id"]


def family_name() -> str:
    return f"Doses{uuid.uuid4().hex[:8]}"


def register(client, family: str, birth_date: str = "1975-03-09") -> dict:
    response = client.post(
        "/recipients",
        json={"given_name": "Grace", "family_name": family, "birth_date": birth_date},
    )
    assert response.status_code == 201, response.text
    return response.json()


def given_an_hour_ago(manager, lot: dict, recipient: dict, **more) -> dict:
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = manager.administer(
        DEMO_LOCATION, lot["id"], recipient["id"], administered_at=at, **more
    )
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_text(person, locator, text: str, timeout: float = 20.0) -> None:
    """Stock is counted a moment after the dose: reload until the page says `text`."""
    deadline = time.monotonic() + timeout
    while True:
        if text in (locator.text_content() or ""):
            return
        assert time.monotonic() < deadline, f"never saw {text!r}: {locator.text_content()!r}"
        person.page.wait_for_timeout(250)
        person.page.reload()


def press(page, button: str) -> None:
    """Click a form's button and wait for the page it leads to (no script: a full page)."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def choose_product(page) -> None:
    page.locator("#field-product_id").select_option(label=_option(page, "#field-product_id"))
    press(page, "Choose lot")


def _option(page, select: str) -> str:
    labels = page.locator(f"{select} option").all_text_contents()
    return next(label for label in labels if PRODUCT_LABEL.search(label))


# -- 1. find or register, record with the FEFO lot, see the stock fall ---------------------------
def test_a_vaccinator_registers_a_recipient_and_records_a_dose_from_the_fefo_lot(
    person, manager, lots
):
    family = family_name()
    person.sign_in(*VACCINATOR)
    page = person.page

    # Nobody by that name yet: the search says so, and offers registration with what was typed.
    person.goto(f"{LOCATION_PAGES}/recipients")
    page.locator("#field-family_name").fill(family)
    page.locator("#field-birth_date").fill("1975-03-09")
    press(page, "Search")
    expect(page.get_by_text("No recipient matches")).to_be_visible()
    person.check_accessibility()
    assert page.locator("#field-new-family_name").input_value() == family
    page.locator("#field-new-given_name").fill("Grace")
    page.locator("#field-new-phone").fill("217-555-0142")
    press(page, "Register and record a dose")

    # The record page: the recipient shown, the product chosen, its first-expiring lot chosen.
    expect(page.get_by_role("heading", name="Record a dose")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Grace {family}")).to_be_visible()
    person.check_accessibility()
    choose_product(page)
    assert page.locator("#field-lot_id").input_value() == next_lot(manager)
    chosen = page.locator("#field-product_id option:checked").text_content()
    assert chosen.count("Red Cap") == 1  # the cap colour in words, once
    page.get_by_label("Site", exact=True).select_option("LD")
    assert page.get_by_label("Route", exact=True).input_value() == "IM"
    person.check_accessibility()
    person.shot("doses-record")
    chosen = page.locator("#field-lot_id").input_value()
    lot_number = lots["first" if chosen == lots["first"]["id"] else "later"]["lot_number"]
    before = manager.doses_on_hand(DEMO_LOCATION, chosen)
    press(page, "Record dose")

    # The dose's page: recorded, and the lot's stock one lower.
    expect(page.get_by_role("heading", name=f"Dose 1 for Grace {family}")).to_be_visible()
    person.check_accessibility()
    wait_for_text(
        person,
        page.locator("#lot-on-hand"),
        f"Lot {lot_number} now has {before - 1} doses on hand.",
    )
    assert page.get_by_role("row", name=re.compile("Site")).get_by_text("Left deltoid").count()

    # Registering the same person again: the API's likely-duplicate match is shown, and picked.
    person.goto(f"{LOCATION_PAGES}/recipients")
    page.locator("#field-new-given_name").fill("Grace")
    page.locator("#field-new-family_name").fill(family)
    page.locator("#field-new-birth_date").fill("1975-03-09")
    page.locator("#field-new-phone").fill("(217) 555-0142")
    press(page, "Register and record a dose")
    duplicate = page.locator("#likely-duplicate")
    expect(duplicate.get_by_text("This person may be registered already")).to_be_visible()
    assert "***-***-0142" in duplicate.text_content()
    person.check_accessibility()

    # Found by the search, with the contact masked; their record lists the dose.
    person.goto(f"{LOCATION_PAGES}/recipients?family_name={family}&birth_date=1975-03-09")
    row = page.get_by_role("row", name=re.compile(family))
    assert "***-***-0142" in row.text_content()
    with page.expect_navigation():
        row.get_by_role("link", name=f"Record of Grace {family}").click()
    expect(page.get_by_role("heading", name=f"Grace {family}", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name=lot_number)).to_be_visible()
    assert "Moderna COVID-19 Vaccine (Red Cap)" in page.get_by_role("table").last.text_content()
    person.check_accessibility()
    person.shot("doses-recipient")


# -- 2. a clinical check beside its field; an override where the API allows it -------------------
def test_a_second_dose_too_soon_is_refused_beside_the_time_and_a_manager_overrides(
    person, make_person, manager, vaccinator, lots
):
    recipient = register(vaccinator, family_name())
    given_an_hour_ago(manager, lots["first"], recipient)
    record = f"{LOCATION_PAGES}/doses/new?recipient_id={recipient['id']}"

    person.sign_in(*VACCINATOR)
    person.goto(record)
    page = person.page
    choose_product(page)
    press(page, "Record dose")
    group = page.locator(".usa-form-group", has=page.locator("#field-administered_at"))
    assert "since the previous dose" in group.locator(".usa-error-message").text_content()
    assert page.locator("#field-administered_at").get_attribute("aria-invalid") == "true"
    person.check_accessibility()

    # A vaccinator may not override: the API says so beside the override.
    page.get_by_text("Record the dose anyway", exact=True).click()  # USWDS: the label shows
    assert page.get_by_label("Record the dose anyway").is_checked()
    page.get_by_label("Reason for the override").fill("Travelling abroad tomorrow.")
    press(page, "Record dose")
    assert "may not override" in page.locator("#field-override-error").text_content()
    person.check_accessibility()

    # A location manager may, with a reason that stays on the record.
    boss = make_person()
    boss.sign_in(*MANAGER)
    boss.goto(record)
    choose_product(boss.page)
    press(boss.page, "Record dose")
    expect(boss.page.locator("#field-administered_at-error")).to_be_visible()
    boss.page.get_by_text("Record the dose anyway", exact=True).click()
    boss.page.get_by_label("Reason for the override").fill("Outbreak protocol, physician's order.")
    press(boss.page, "Record dose")
    expect(boss.page.get_by_role("heading", name=re.compile("^Dose 2 for"))).to_be_visible()
    overridden = boss.page.get_by_role("row", name=re.compile("Clinical checks overridden"))
    assert "Outbreak protocol" in overridden.text_content()
    boss.check_accessibility()


# -- 3. corrections and voids in the history ------------------------------------------------------
def test_a_correction_and_a_void_show_in_the_history(person, manager, lots):
    recipient = register(manager, family_name())
    dose = given_an_hour_ago(manager, lots["first"], recipient, site="LD")

    person.sign_in(*MANAGER)
    person.goto(f"{LOCATION_PAGES}/doses/{dose['id']}")
    page = person.page
    expect(page.get_by_text("No corrections or voids.")).to_be_visible()
    page.get_by_label("Site", exact=True).select_option(label="Right deltoid")
    page.get_by_label("Reason for the correction").fill("Recorded the wrong arm.")
    press(page, "Save the correction")
    expect(page.get_by_text("The dose is corrected")).to_be_visible()
    corrected = page.get_by_role("row", name=re.compile("Corrected"))
    assert "Recorded the wrong arm." in corrected.text_content()
    assert "Site: Left deltoid → Right deltoid" in corrected.text_content()
    person.check_accessibility()

    # Saving with nothing changed is refused beside the form, not silently accepted.
    page.get_by_label("Reason for the correction").fill("Nothing really.")
    press(page, "Save the correction")
    expect(page.locator("#error-summary")).to_be_visible()

    page.get_by_label("Reason for voiding").fill("Entered for the wrong person.")
    press(page, "Void this dose")
    expect(page.get_by_text("The dose is voided")).to_be_visible()
    voided = page.get_by_role("row", name=re.compile("Voided.*Entered for the wrong person"))
    assert voided.count() == 1
    assert page.get_by_role("row", name=re.compile("Corrected")).count() == 1
    expect(
        page.get_by_role("row", name=re.compile("^Status")).get_by_text("Voided")
    ).to_be_visible()
    assert page.get_by_role("button", name="Void this dose").count() == 0
    person.check_accessibility()


# -- 4. the whole journey by keyboard -------------------------------------------------------------
def focused(page) -> dict:
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            return {id: e.id || "", tag: e.tagName.toLowerCase(),
                    text: (e.innerText || e.value || "").trim().slice(0, 80),
                    href: e.getAttribute("href") || ""};
        }"""
    )


def tab_until(page, matches, *, backwards: bool = False, limit: int = 80) -> list[dict]:
    """Press Tab (or Shift+Tab) until the focused element matches; what got focus on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        if not seen or seen[-1] != now:
            seen.append(now)
        if matches(now):
            return seen
    raise AssertionError(f"focus never reached it; went through {seen}")


def navigate_by(page, key: str) -> None:
    """Press a key that follows a link or submits a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def by_id(name: str):
    return lambda element: element["id"] == name


def by_text(text: str):
    return lambda element: element["text"] == text


def arrow_to(page, select_id: str, pattern: re.Pattern, limit: int = 40) -> None:
    """Arrow keys on a focused select until its chosen option reads like `pattern`."""
    for key in ("ArrowDown", "ArrowUp"):
        for _ in range(limit):
            chosen = page.locator(f"#{select_id} option:checked").text_content() or ""
            if pattern.search(chosen):
                return
            page.keyboard.press(key)
    raise AssertionError(f"no option of {select_id} reads like {pattern.pattern}")


RECORD_FIELDS = [
    "field-product_id",
    "choose-lot",
    "field-lot_id",
    "field-dose_number",
    "field-site",
    "field-route",
    "field-dose_volume_ml",
    "field-performer_name",
    "field-administered_at",
    "record-dose",
]


def test_the_whole_record_a_dose_journey_by_keyboard_alone(person, manager, lots):
    page = person.page
    keys = page.keyboard
    family = family_name()

    # Sign in (typing, Tab, Enter).
    person.goto("/sign-in")
    tab_until(page, by_id("field-username"))
    keys.type(VACCINATOR[0])
    keys.press("Tab")
    keys.type(VACCINATOR[1])
    navigate_by(page, "Enter")
    assert "/provider/" in page.url
    person.check_accessibility()

    # The record-a-dose page, opened as a bookmark: its first stop is the skip link, which
    # lands in the main content; the side navigation leads to the recipients.
    person.goto(f"{LOCATION_PAGES}/doses/new")
    assert "/recipients" in page.url  # no recipient yet: find them first
    keys.press("Tab")
    assert focused(page)["text"] == "Skip to main content"
    keys.press("Enter")
    assert focused(page)["id"] == "main-content"
    tab_until(page, by_text("Recipients"))
    navigate_by(page, "Enter")
    assert page.url.endswith("/recipients")
    tab_until(page, by_id("field-family_name"))
    keys.type(family)
    keys.press("Tab")
    assert focused(page)["id"] == "field-given_name"
    keys.press("Tab")
    assert focused(page)["id"] == "field-birth_date"
    keys.type("03091975")
    tab_until(page, by_text("Search"))
    navigate_by(page, "Enter")
    assert "family_name=" in page.url
    expect(page.get_by_text("No recipient matches")).to_be_visible()

    # Register them: the search's name and birth date are carried over.
    tab_until(page, by_id("field-new-given_name"))
    keys.type("Ada")
    tab_until(page, by_text("Register and record a dose"))
    navigate_by(page, "Enter")
    assert "/doses/new" in page.url
    expect(page.get_by_role("heading", name=f"Ada {family}")).to_be_visible()

    # Every field of the form is reached in order, then the submit.
    tab_until(page, by_id("field-product_id"))
    order = ["field-product_id"]
    for element in tab_until(page, by_id("record-dose")):
        if element["id"] and element["id"] not in order:
            order.append(element["id"])
    assert [name for name in order if name in RECORD_FIELDS] == RECORD_FIELDS
    # ... and back again with Shift+Tab.
    tab_until(page, by_id("field-product_id"), backwards=True)

    # The product by arrow keys, then "Choose lot" with Space: the first-expiring lot is chosen.
    arrow_to(page, "field-product_id", PRODUCT_LABEL)
    keys.press("Tab")
    assert focused(page)["id"] == "choose-lot"
    navigate_by(page, "Space")
    person.check_accessibility()
    assert page.locator("#field-lot_id").input_value() == next_lot(manager)
    tab_until(page, by_id("field-site"))
    arrow_to(page, "field-site", re.compile("Right deltoid"))
    before = manager.doses_on_hand(DEMO_LOCATION, page.locator("#field-lot_id").input_value())
    tab_until(page, by_id("field-performer_name"))
    keys.type("Nurse Keyes")
    navigate_by(page, "Enter")  # Enter in a field records the dose (not "Choose lot")
    assert re.search(r"/doses/[0-9a-f-]{36}", page.url)
    expect(page.get_by_role("heading", name=f"Dose 1 for Ada {family}")).to_be_visible()
    assert page.get_by_role("row", name=re.compile("Site")).get_by_text("Right deltoid").count()
    expect(page.get_by_role("row", name=re.compile("Given by"))).to_contain_text("Nurse Keyes")
    person.check_accessibility()
    wait_for_text(
        person,
        page.locator("#lot-on-hand"),
        f"now has {before - 1} doses on hand.",
    )
