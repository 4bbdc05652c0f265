"""The recipient portal in a real browser, phone-sized: a recipient claims their account with
the details on their vaccination card, sees their dose, downloads the PDF record (its text has
the lot number), and changes how they are contacted; their preferred language is the pages'."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.browser.conftest import DESKTOP
from tests.conftest import DEMO_LOCATION, MANAGER

PASSWORD = "a long recipient password"


@pytest.fixture
def dosed(api):
    """A recipient with one dose recorded through the API: what their card would show."""
    manager = api.as_user(*MANAGER)
    lot = manager.receive_lot(DEMO_LOCATION, 20)
    family = f"Card{uuid.uuid4().hex[:8]}"
    response = manager.post(
        "/recipients",
        json={"given_name": "Lucia", "family_name": family, "birth_date": "1968-07-04"},
    )
    assert response.status_code == 201, response.text
    recipient = response.json()
    given = manager.administer(
        DEMO_LOCATION, lot["id"], recipient["id"], administered_at="2026-01-15T15:30:00Z"
    )
    assert given.status_code == 201, given.text
    return {
        "family_name": family,
        "birth_date": "1968-07-04",
        "lot_number": lot["lot_number"],
        "given_on": "2026-01-15",
        "username": f"lucia.{uuid.uuid4().hex[:6]}",
    }


def claim(browsing, card: dict, lot_number: str | None = None) -> None:
    page = browsing.page
    browsing.goto("/my/claim")
    page.get_by_label("Last name").fill(card["family_name"])
    page.get_by_label("Date of birth").fill(card["birth_date"])
    page.get_by_label("Lot number of one of your doses").fill(lot_number or card["lot_number"])
    page.get_by_label("Date of that dose").fill(card["given_on"])
    page.get_by_label("Choose a username").fill(card["username"])
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("Type the password again").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Create my account").click()
    browsing.check_accessibility()


def tick(page, label: str) -> None:
    """A USWDS checkbox: the person clicks its label (the box itself is drawn by the label)."""
    page.locator("label.usa-checkbox__label", has_text=label).click()
    assert page.get_by_label(label).is_checked()


def pdf_text(download) -> str:
    reader = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_recipient_claims_their_account_downloads_the_record_and_sets_contact(
    phone, make_person, dosed
):
    page = phone.page
    # Wrong details: the one vague answer, whatever the reason.
    claim(phone, dosed, lot_number="NOT-ON-THE-CARD")
    assert page.get_by_role("alert").filter(has_text="do not match a vaccination record").count()

    claim(phone, dosed)
    assert "/sign-in" in page.url
    page.get_by_label("Username").fill(dosed["username"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.rstrip("/").endswith("/my")
    phone.check_accessibility()
    card = page.locator(".usa-card").filter(has_text=dosed["lot_number"])
    assert card.count() == 1
    assert "January 15, 2026" in card.inner_text()
    assert "(Gray Cap)" in card.inner_text()  # the cap colour in words, once
    phone.shot("recipient-home")

    for link, words in (
        ("Download my record in English (PDF)", "Lot"),
        ("Download my record in Spanish (PDF)", "Lote"),
    ):
        with page.expect_download() as info:
            page.get_by_role("link", name=link).click()
        download = info.value
        assert download.suggested_filename.endswith(".pdf")
        text = pdf_text(download)
        assert dosed["lot_number"] in text
        assert words in text

    page.get_by_role("link", name="Change my contact details").click()
    phone.check_accessibility()
    page.get_by_label("E-mail", exact=True).fill("lucia@example.org")
    page.get_by_label("Phone", exact=True).fill("404-555-0142")
    tick(page, "By e-mail")
    tick(page, "By text message (SMS)")
    page.get_by_label("Preferred language").select_option("es")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my contact details").click()
    phone.check_accessibility()
    preferences = page.locator("#contact-preferences").inner_text()
    assert "By e-mail" in preferences and "By text message (SMS)" in preferences
    assert "By postal mail" not in preferences
    assert "lucia@example.org" in page.locator("main").inner_text()

    # Signing in afresh (no language chosen in that browser): the pages are in Spanish.
    desktop = make_person(viewport=DESKTOP)
    desktop.sign_in(dosed["username"], PASSWORD)
    assert desktop.page.get_by_role("heading", level=1).inner_text() == "Mi registro de vacunación"
    assert desktop.page.locator("html").get_attribute("lang") == "es"
    desktop.check_accessibility()
    desktop.shot("recipient-home")


def test_a_contact_channel_without_its_detail_is_refused_beside_the_field(phone, dosed):
    claim(phone, dosed)
    phone.sign_in(dosed["username"], PASSWORD)
    page = phone.page
    phone.goto("/my/contact")
    tick(page, "By postal mail")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my contact details").click()
    phone.check_accessibility()
    assert page.locator("#error-summary").is_visible()


def test_the_demo_recipient_signs_in_and_sees_their_dose(person):
    """`make run` seeds a claimed demo recipient, so someone can click through this role."""
    person.sign_in("demo.recipient", "demo-recipient-password")
    assert person.page.url.rstrip("/").endswith("/my")
    card = person.page.locator(".usa-card").filter(has_text="DEMO-FK5127")
    assert "January 15, 2026" in card.inner_text()
