"""Clinics and public self-scheduling in a real browser.

A manager publishes the listing and opens a clinic day; a member of the public on a phone finds
the location by ZIP code, books and gets a confirmation code; the manager sees the appointment
and checks the person in. One journey entirely in Spanish. A slot taken meanwhile and a wrong
confirmation code are said plainly."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.conftest import DEMO_LOCATION, MANAGER, STATE_ADMIN
from tests.harness import wait_until

PRODUCT = "pfizer-gray-12plus"
ZIP = "30303"
CLINIC_PAGES = f"/provider/locations/{DEMO_LOCATION}"
CODE = re.compile(r"^[A-Z0-9]{10}$")
# Words that would betray English left in a Spanish page's main content.
ENGLISH = re.compile(
    r"\b(the|and|your|you|of|Choose|Book|Cancel|Find|appointment|Appointment|free|left|Back|"
    r"Status|When|Where|Search|Results|Details|Continue|time|times)\b"
)


def local_day(days_ahead: int) -> date:
    return datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=days_ahead)


def full(day: date, locale: str = "en") -> str:
    return format_date(day, "full", locale=locale)


def open_day(client, location: str, day: date, opens="09:00", closes="10:00", capacity=2):
    response = client.post(
        f"/locations/{location}/clinic-days",
        json={
            "dates": [day.isoformat()],
            "product_id": PRODUCT,
            "opens": opens,
            "closes": closes,
            "every_minutes": 30,
            "capacity": capacity,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()[0]


def public_slots(client, location: str, day: date) -> list[dict]:
    response = client.get(
        f"/public/locations/{location}/slots",
        params={"date_from": day.isoformat(), "days": 1, "product_id": PRODUCT},
    )
    assert response.status_code == 200, response.text
    return response.json()


def main_text(person) -> str:
    return person.page.locator("main").inner_text()


# -- 1. the journey -------------------------------------------------------------------------------
def test_a_manager_opens_a_day_a_person_books_on_a_phone_and_is_checked_in(person, phone, manager):
    page = person.page
    day = local_day(9)
    family = f"Rivera{uuid.uuid4().hex[:6]}"
    birth = "1985-04-12"
    # The person is registered already (e.g. an earlier dose elsewhere): check-in finds them.
    registered = manager.post(
        "/recipients", json={"given_name": "Lucia", "family_name": family, "birth_date": birth}
    )
    assert registered.status_code == 201, registered.text

    # The manager publishes the listing, with its preview.
    person.sign_in(*MANAGER)
    person.goto(f"{CLINIC_PAGES}/listing")
    assert page.get_by_role("heading", level=1).inner_text() == "Vaccines.gov listing"
    page.get_by_label("Published on the locator and Vaccines.gov").check()
    page.get_by_label("Accepting appointments").check()
    page.get_by_label("Monday opens").fill("08:30")
    page.get_by_role("button", name="Save listing").click()
    expect(page.locator("main")).to_contain_text("Listing saved.")
    assert page.get_by_label("Monday opens").input_value() == "08:30"
    preview = page.locator("section", has=page.get_by_role("heading", name="Preview"))
    assert "Demo Community Vaccine Clinic" in preview.inner_text()
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in preview.inner_text()
    assert preview.inner_text().count("Gray Cap") == 1  # the cap colour named once
    person.check_accessibility()
    person.shot("clinics-listing")

    # ... and opens a clinic day: 09:00-10:00, a slot every 30 minutes, 2 people each.
    page.get_by_role("link", name="Clinic days").click()
    page.get_by_label("First date").fill(day.isoformat())
    page.get_by_label("Vaccine", exact=True).select_option(PRODUCT)
    page.get_by_label("Opens at").fill("09:00")
    page.get_by_label("Closes at").fill("10:00")
    page.get_by_label("A slot every (minutes)").fill("30")
    page.get_by_label("People per slot").fill("2")
    page.get_by_role("button", name="Open these days").click()
    expect(page.locator("main")).to_contain_text("1 clinic days ready, 2 slots added.")
    person.check_accessibility()
    page.get_by_role("link", name=full(day)).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Clinic day: {full(day)}"
    person.check_accessibility()

    # The clinic has the vaccine (a shipment received): the locator says so once scheduling
    # has learnt it from inventory's event.
    manager.receive_lot(DEMO_LOCATION, doses=20, product_id=PRODUCT)

    def stock_status() -> str | None:
        answer = manager.get("/public/locations/feed")
        assert answer.status_code == 200, answer.text
        feed = answer.json()
        mine = next((loc for loc in feed if loc["location_id"] == DEMO_LOCATION), {})
        products = {p["product_id"]: p for p in mine.get("products", [])}
        return products.get(PRODUCT, {}).get("stock_status")

    wait_until(lambda: stock_status() == "in_stock", what="in stock on the locator")

    # A member of the public, on a phone, finds the clinic by ZIP code.
    ph = phone.page
    phone.goto("/find")
    ph.get_by_label("ZIP code").fill(ZIP)
    ph.get_by_label("Distance").select_option("10")
    ph.get_by_role("button", name="Search").click()
    phone.check_accessibility()
    card = ph.locator("li.usa-card", has_text="Demo Community Vaccine Clinic")
    product = card.locator("li", has_text="Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)")
    assert "In stock" in product.first.text_content()
    assert re.search(r"\d+ appointments free in the next 7 days", card.inner_text())
    phone.shot("public-locator")
    card.get_by_role("link", name="See times at Demo Community Vaccine Clinic").click()
    phone.check_accessibility()
    ph.get_by_role("link", name=f"Choose a time on {full(day)}").first.click()
    assert ph.get_by_role("heading", level=1).inner_text() == "Choose a time"
    phone.check_accessibility()
    ph.locator("label", has_text="9:00").first.click()
    ph.get_by_role("button", name="Continue").click()
    assert ph.get_by_role("heading", level=1).inner_text() == "Book your appointment"
    phone.check_accessibility()
    ph.get_by_label("First name").fill("Lucia")
    ph.get_by_label("Last name").fill(family)
    ph.get_by_label("Date of birth").fill(birth)
    ph.get_by_label("Phone number").fill("404-555-0142")
    # Both channels are offered, ticked; a channel without its address is simply not used.
    assert ph.get_by_label("Send me text messages about this appointment").is_checked()
    assert ph.get_by_label("Send me e-mails about this appointment").is_checked()
    phone.shot("public-book")
    ph.get_by_role("button", name="Book this time").click()

    expect(ph.get_by_role("heading", name="You are booked")).to_be_visible()
    code = ph.locator("#confirmation-code").inner_text().strip()
    assert CODE.match(code), code
    assert code not in ph.url  # the code never travels in a URL
    assert "A photo ID if you have one" in main_text(phone)
    assert full(day) in main_text(phone) and "9:00" in main_text(phone)
    phone.check_accessibility()
    phone.shot("public-booking-confirmed")

    # The manager sees the appointment in the day's list and checks the person in.
    person.goto(f"{CLINIC_PAGES}/appointments?date={day.isoformat()}")
    row = page.locator("#appointments tr", has_text=family)
    assert "Booked" in row.text_content()
    row.get_by_role("link", name=f"Check in Lucia {family}").click()
    person.check_accessibility()
    check_in = page.locator("form", has=page.get_by_role("button", name="Check in"))
    assert check_in.get_by_label(re.compile(f"Lucia {family}, born")).is_checked()
    check_in.get_by_role("button", name="Check in").click()
    expect(page.locator("main")).to_contain_text("Checked in.")
    assert page.locator("dd .usa-tag").first.text_content().strip() == "Checked in"
    expect(page.get_by_role("link", name="Record their dose")).to_be_visible()
    history = page.locator("table", has_text="What happened to this appointment")
    assert "Checked in" in history.text_content() and "clinic.manager" in history.text_content()
    person.check_accessibility()

    # The day's page counts the booking.
    person.goto(f"{CLINIC_PAGES}/clinic-days")
    page.get_by_role("link", name=full(day)).click()
    assert "1 / 4" in main_text(person)
    person.shot("clinics-day")


# -- 2. one journey entirely in Spanish -----------------------------------------------------------
@pytest.fixture
def spanish_clinic(api, location):
    """A published location of its own (no English notes of the demo clinic's), one day open."""
    admin = api.as_user(*STATE_ADMIN)
    saved = admin.request(
        "PUT",
        f"/locations/{location}/public-settings",
        json={
            "name": f"Clínica Sur {location[-4:]}",
            "address": {"line1": "10 Calle Mayor", "city": "Atlanta", "state": "GA", "zip": ZIP},
            "products": [PRODUCT],
            "walk_ins_accepted": False,
            "accepting_appointments": True,
            "published": True,
        },
    )
    assert saved.status_code == 200, saved.text
    day = local_day(10)
    open_day(admin, location, day)
    return saved.json()["name"], day


def test_a_spanish_speaker_finds_books_sees_and_cancels_in_spanish(make_person, spanish_clinic):
    name, day = spanish_clinic
    es = make_person(viewport=PHONE, locale="es-ES", is_mobile=True, has_touch=True)
    page = es.page

    def spanish_page(heading: str) -> None:
        assert page.get_by_role("heading", level=1).inner_text() == heading
        leftovers = ENGLISH.findall(main_text(es))
        assert not leftovers, f"English on {page.url}: {leftovers}"
        es.check_accessibility()

    es.goto("/find")
    spanish_page("Encuentre una vacuna contra el COVID-19 cerca de usted")
    page.get_by_label("Código postal").fill(ZIP)
    page.get_by_role("button", name="Buscar").click()
    spanish_page("Encuentre una vacuna contra el COVID-19 cerca de usted")
    page.get_by_role("link", name=f"Ver horarios en {name}").click()
    spanish_page(name)
    page.get_by_role("link", name=f"Elegir una hora el {full(day, 'es')}").click()
    spanish_page("Elija una hora")
    page.locator("label", has_text="9:00").first.click()
    page.get_by_role("button", name="Continuar").click()
    spanish_page("Reserve su cita")
    page.get_by_label("Nombre", exact=True).fill("Marta")
    page.get_by_label("Apellido").fill(f"Lopez{uuid.uuid4().hex[:6]}")
    page.get_by_label("Fecha de nacimiento").fill("1970-08-20")
    page.get_by_label("Correo electrónico").fill("marta@example.org")
    page.get_by_role("button", name="Reservar esta hora").click()
    spanish_page("Su cita")
    expect(page.get_by_role("heading", name="Su cita está reservada")).to_be_visible()
    code = page.locator("#confirmation-code").inner_text().strip()
    assert CODE.match(code)
    assert full(day, "es") in main_text(es)

    # Later, on the same phone: find the booking with its code, then cancel it.
    page.get_by_role("button", name=re.compile("dejar de mostrar esta cita")).click()
    spanish_page("Encuentre su cita")
    page.get_by_label("Código de confirmación").fill(code.lower())
    page.get_by_role("button", name="Buscar mi cita").click()
    spanish_page("Su cita")
    page.get_by_role("link", name="Cancelar la cita").click()
    spanish_page("Cancelar su cita")
    page.get_by_role("button", name="Sí, cancelar mi cita").click()
    spanish_page("Su cita")
    expect(page.locator("main")).to_contain_text("Su cita está cancelada.")
    assert page.locator("dd .usa-tag").first.text_content().strip() == "Cancelada"


# -- 3. a slot taken meanwhile, a wrong code ------------------------------------------------------
def test_a_full_slot_and_a_wrong_code_are_said_plainly(person, api, manager):
    page = person.page
    day = local_day(11)
    open_day(manager, DEMO_LOCATION, day, opens="11:00", closes="12:00", capacity=1)
    first, second = public_slots(manager, DEMO_LOCATION, day)[:2]

    person.goto(f"/find?zip={ZIP}&radius=25")
    expect(page.locator("main")).to_contain_text("Demo Community Vaccine Clinic")
    person.shot("public-locator")
    person.goto(f"/find/locations/{DEMO_LOCATION}/times?date={day.isoformat()}&product={PRODUCT}")
    page.locator("label", has_text="11:00").first.click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("First name").fill("Sam")
    page.get_by_label("Last name").fill(f"Late{uuid.uuid4().hex[:6]}")
    page.get_by_label("Date of birth").fill("1990-01-02")
    page.get_by_label("E-mail address").fill("sam@example.org")
    # Someone else takes the last place meanwhile.
    taken = api.http.post(
        f"{api.base}/public/appointments",
        json={
            "slot_id": first["id"],
            "given_name": "Other",
            "family_name": f"Person{uuid.uuid4().hex[:6]}",
            "birth_date": "1980-01-01",
            "phone": "404-555-0199",
        },
    )
    assert taken.status_code == 201, taken.text
    page.get_by_role("button", name="Book this time").click()
    summary = page.locator("#error-summary")
    assert "Sorry, that time was just taken" in summary.inner_text()
    assert page.get_by_role("button", name="Book this time").count() == 0
    person.check_accessibility()

    page.get_by_role("link", name="Choose another time").first.click()
    page.locator("label", has_text="11:30").first.click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("First name").fill("Sam")
    page.get_by_label("Last name").fill(f"Late{uuid.uuid4().hex[:6]}")
    page.get_by_label("Date of birth").fill("1990-01-02")
    page.get_by_label("E-mail address").fill("sam@example.org")
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    assert second["id"]  # the second slot was the one left
    person.check_accessibility()
    person.shot("public-booking-confirmed")

    # A day now full offers its waitlist.
    person.goto(f"/find/locations/{DEMO_LOCATION}?product={PRODUCT}")
    expect(page.get_by_role("link", name=f"Join the waitlist for {full(day)}")).to_be_visible()

    person.goto("/appointments")
    page.get_by_label("Confirmation code").fill("ABCDEFGHJK")
    page.get_by_role("button", name="Find my appointment").click()
    assert "We could not find an appointment with that code" in main_text(person)
    assert page.get_by_label("Confirmation code").get_attribute("aria-invalid") == "true"
    person.check_accessibility()
