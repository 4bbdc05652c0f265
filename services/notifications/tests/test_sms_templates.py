"""Every text message fits two segments (306 GSM-7 characters, or 134 if any character needs
UCS-2), in both languages, with realistic values: long dates, accented and long location names.
The Spanish texts fit with their accents; English ones may lose an accented place name's."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifications import render, sms
from notifications.contacts import Contact
from notifications.models import Delivery

TEMPLATES = Path(render.__file__).with_name("templates")
TEXTED = (
    "appointment_booked",
    "appointment_cancelled",
    "appointment_reminder_due",
    "appointment_rescheduled",
    "waitlist_offer_made",
)
PLACES = (
    "Clínica Uno",
    "Queens Community Center",
    "Centro de Salud Familiar Señora de Guadalupe del Bronx",  # cut to 40 characters
    "Hospital Metropolitano — Ala Pediátrica",
    "Walgreens #12345",
)
# September: the longest month abbreviation in Spanish ("sept"), a two-digit day, 11:00 AM.
FACTS = {
    "confirmation_code": "K7Q2M9XW3P",
    "location_id": "clinic-1",
    "starts_at": datetime(2030, 9, 24, 15, 0, tzinfo=UTC).isoformat(),
    "previous_starts_at": datetime(2030, 9, 23, 23, 30, tzinfo=UTC).isoformat(),
    "expires_at": datetime(2030, 9, 24, 23, 30, tzinfo=UTC).isoformat(),
    "dose_number": 2,
    "kind": "leftover_doses",
}


@pytest.fixture(autouse=True)
def portal(monkeypatch):
    """A portal's address longer than the tests' others."""
    monkeypatch.setenv("CVMS_PORTAL_PUBLIC_URL", "https://vaccinate.health.example.gov")


def text(message_type: str, language: str, place: str, **facts) -> str:
    facts = {**FACTS, **facts}
    if message_type.startswith("waitlist"):
        facts["waitlist_code"] = facts.pop("confirmation_code")
    delivery = Delivery(id="d", message_type=message_type, channel="sms", facts=facts)
    location = {"name": place, "phone": "212-555-0100", "time_zone": "America/New_York"}
    return sms.text(delivery, Contact("+12125550199", language, "María José", location))


def test_every_booking_and_waitlist_template_has_an_sms_block():
    for message_type in TEXTED:
        for language in render.LANGUAGES:
            source = (TEMPLATES / f"{message_type}.{language}.j2").read_text()
            assert "{% block sms %}" in source, (message_type, language)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("language", render.LANGUAGES)
@pytest.mark.parametrize("message_type", TEXTED)
def test_every_text_fits_two_segments(message_type, language, place):
    for kind in ("leftover_doses", "cancellation"):
        body = text(message_type, language, place, kind=kind)
        assert sms.segments(body) <= sms.MAX_SEGMENTS, (len(body), body)
        assert "{" not in body and "None" not in body
        assert FACTS["confirmation_code"] in body


@pytest.mark.parametrize("message_type", TEXTED)
def test_the_spanish_texts_keep_their_accents_with_an_accented_place(message_type, monkeypatch):
    monkeypatch.setenv("CVMS_PORTAL_PUBLIC_URL", "https://vaccinate.example.gov")
    body = text(message_type, "es", "Clínica Uno")
    assert "Clínica Uno" in body and "ó" in body  # código: UCS-2, so within 134
    assert not sms.is_gsm7(body)
    assert len(body) <= 134


def test_a_first_dose_does_not_say_its_number():
    assert "(dosis" not in text("appointment_booked", "es", "Clínica Uno", dose_number=1)
    assert "(dosis 2)" in text("appointment_booked", "es", "Clínica Uno")


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("ñé¿¡" * 40, 1),  # in GSM-7
        ("á" * 70, 1),
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("a" * 133 + "😀", 3),  # an emoji is two UTF-16 units
    ],
)
def test_segments(body, count):
    assert sms.segments(body) == count


def test_a_text_too_long_for_ucs2_is_written_in_gsm7():
    long = "Vacunación en la Clínica Pediátrica " + "a" * 150
    fitted = sms.fit(long)
    assert fitted.startswith("Vacunacion en la Clinica Pediatrica ")
    assert sms.is_gsm7(fitted) and sms.segments(fitted) == 2
    assert sms.fit("Clínica\u202fUno") == "Clínica Uno"  # short enough: kept, look-alikes plain
