"""Text messages through Twilio's REST API (a local stand-in, `fake_twilio.py`, in a process of
its own): one per event and phone, in the person's language, within two segments; never in
quiet hours; retried when Twilio is busy; never to a number that is not a mobile one, or whose
owner replied STOP."""

import base64
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cvms_platform.errors import InvalidInput
from cvms_platform.testing import LocalServer
from notifications import sms, twilio
from notifications.contacts import Contact
from notifications.delivery import address_digest
from notifications.models import Delivery, Suppression
from notifications.phones import mask_phone, normalise_phone

from .conftest import APPOINTMENT, LOCATION, booked, event_body, free_port

PHONE = "+12125550199"
ACCOUNT = "ACtest0123456789"
# Noon in New York (EST, UTC-5): not quiet hours.
DAYTIME = datetime(2030, 3, 1, 17, 0, tzinfo=UTC)


class FakeTwilio(LocalServer):
    """`fake_twilio.py` as a process, and what it was asked: `requests()`; `answer(...)`
    queues its next answers ([status, body] each)."""

    what = "the fake Twilio"

    def command(self) -> list[str]:
        script = Path(__file__).with_name("fake_twilio.py")
        return [sys.executable, str(script), "--port", str(self.port), "--dir", str(self.directory)]

    def answer(self, *answers: tuple[int, dict]) -> None:
        (self.directory / "answers.json").write_text(json.dumps([list(a) for a in answers]))

    def requests(self) -> list[dict]:
        log = self.directory / "requests.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def texts(self) -> list[dict]:
        return [request["form"] for request in self.requests()]


@pytest.fixture
def fake_twilio(tmp_path, monkeypatch, smtp_port):
    port = free_port()
    monkeypatch.setenv("CVMS_TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("CVMS_TWILIO_AUTH_TOKEN", "token-xyz")
    monkeypatch.setenv("CVMS_TWILIO_FROM", "+15005550006")
    monkeypatch.setenv("CVMS_TWILIO_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CVMS_TWILIO_TIMEOUT_SECONDS", "2")
    server = FakeTwilio(tmp_path / "twilio", port)
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def texting(owners, clock):
    """Ana gave a phone too, and it is noon in New York."""
    owners.bookings[APPOINTMENT]["phone"] = "(212) 555-0199"
    clock.now = DAYTIME
    return owners


def by_text(**overrides) -> dict:
    return booked(contact_channels=["email", "sms"], **overrides)


def sms_deliveries(read) -> list[Delivery]:
    return read.all(select(Delivery).where(Delivery.channel == "sms"))


# -- sending ---------------------------------------------------------------------------------------
def test_a_booking_by_email_and_sms_gives_one_email_and_one_spanish_text(
    service, mailbox, fake_twilio, texting, read
):
    service.on_appointment_booked(by_text())
    assert service.send_due() == 2

    assert len(mailbox.messages()) == 1
    [request] = fake_twilio.requests()
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    credentials = base64.b64encode(f"{ACCOUNT}:token-xyz".encode()).decode()
    assert request["authorization"] == f"Basic {credentials}"
    text = request["form"]
    assert (text["To"], text["From"]) == (PHONE, "+15005550006")
    assert "K7Q2M9XW3P" in text["Body"] and "Clínica Uno" in text["Body"]
    assert "lun 4 mar, 10:00" in text["Body"] and "Código" in text["Body"]
    assert sms.segments(text["Body"]) <= 2
    [delivery] = sms_deliveries(read)
    assert (delivery.state, delivery.attempts, delivery.language) == ("sent", 1, "es")
    assert delivery.masked_address == "***-***-0199"
    assert delivery.sent_at == DAYTIME


def test_a_messaging_service_is_used_instead_of_a_number_when_set(
    service, fake_twilio, texting, monkeypatch
):
    monkeypatch.delenv("CVMS_TWILIO_FROM")
    monkeypatch.setenv("CVMS_TWILIO_MESSAGING_SERVICE_SID", "MG0123")
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [text] = fake_twilio.texts()
    assert text["MessagingServiceSid"] == "MG0123" and "From" not in text


def test_the_same_event_twice_gives_one_text(service, fake_twilio, texting, read):
    body = booked(contact_channels=["sms"])
    service.on_appointment_booked(body)
    service.on_appointment_booked(body)
    service.send_due()
    service.send_due()
    assert len(fake_twilio.texts()) == 1
    assert len(read.all(select(Delivery))) == 1


def test_a_waitlist_offer_goes_by_text_in_english(service, fake_twilio, owners, clock, read):
    clock.now = DAYTIME
    entry = str(uuid.uuid4())
    owners.bookings[entry] = {
        "given_name": "Sam",
        "email": None,
        "phone": "212-555-0142",
        "language": "en",
        "location": LOCATION,
    }
    payload = {
        "waitlist_entry_id": uuid.UUID(entry),
        "waitlist_code": "WL4K2Q9M",
        "location_id": "clinic-1",
        "clinic_day_id": uuid.uuid4(),
        "product_id": "pfizer-gray-12plus",
        "kind": "leftover_doses",
        "expires_at": datetime(2030, 3, 1, 21, 30, tzinfo=UTC),
        "preferred_language": "en",
        "contact_channels": ["sms"],
    }
    service.on_waitlist_offer_made(event_body("waitlist_offer_made", payload))
    service.send_due()
    [text] = fake_twilio.texts()
    assert text["To"] == "+12125550142"
    assert "WL4K2Q9M" in text["Body"] and "4:30 PM" in text["Body"]
    assert "https://vaccinate.example/waitlist" in text["Body"]
    assert [d.channel for d in read.all(select(Delivery))] == ["sms"]


def test_no_phone_number_suppresses_the_text(service, fake_twilio, owners, clock, read):
    clock.now = DAYTIME
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [delivery] = sms_deliveries(read)
    assert (delivery.state, delivery.last_error) == ("suppressed", "no phone number to text")
    assert fake_twilio.texts() == []


def test_no_text_to_a_booker_who_chose_email_only(service, fake_twilio, texting, read):
    """A reminder names no channels: the booking's choice, asked at send time, decides."""
    texting.bookings[APPOINTMENT]["channels"] = ["email"]
    service.on_appointment_booked(by_text())
    service.send_due()
    [delivery] = sms_deliveries(read)
    assert delivery.state == "suppressed"
    assert delivery.last_error == "sms was not chosen when booking"
    assert fake_twilio.texts() == []


# -- quiet hours -----------------------------------------------------------------------------------
def test_a_text_due_at_11_pm_waits_until_8_am_there_and_counts_no_attempt(
    service, fake_twilio, texting, clock, read
):
    clock.now = datetime(2030, 3, 2, 4, 0, tzinfo=UTC)  # 23:00 on 1 March in New York
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [waiting] = sms_deliveries(read)
    assert (waiting.state, waiting.attempts) == ("deferred", 0)
    assert waiting.next_attempt_at == datetime(2030, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert "quiet hours" in waiting.last_error
    assert fake_twilio.texts() == []

    clock.now = datetime(2030, 3, 2, 12, 59, tzinfo=UTC)  # 07:59 there: still waiting
    assert service.send_due() == 0
    assert fake_twilio.texts() == []

    clock.now = datetime(2030, 3, 2, 13, 0, tzinfo=UTC)
    assert service.send_due() == 1
    assert len(fake_twilio.texts()) == 1
    [sent] = sms_deliveries(read)
    assert (sent.state, sent.attempts, sent.sent_at) == ("sent", 1, clock.now)


def test_quiet_hours_are_the_locations_own():
    new_york = Contact("+1", "en", None, {"time_zone": "America/New_York"})
    los_angeles = Contact("+1", "en", None, {"time_zone": "America/Los_Angeles"})
    at = datetime(2030, 7, 2, 3, 30, tzinfo=UTC)  # 23:30 in New York (EDT), 20:30 in LA
    assert sms.quiet_until(at, new_york) == datetime(2030, 7, 2, 12, 0, tzinfo=UTC)
    assert sms.quiet_until(at, los_angeles) is None
    after_midnight = datetime(2030, 7, 2, 7, 15, tzinfo=UTC)  # 00:15 in LA: 08:00 that day
    assert sms.quiet_until(after_midnight, los_angeles) == datetime(2030, 7, 2, 15, 0, tzinfo=UTC)
    assert sms.quiet_until(datetime(2030, 7, 2, 12, 0, tzinfo=UTC), new_york) is None  # 8:00
    assert sms.quiet_until(datetime(2030, 7, 3, 1, 0, tzinfo=UTC), new_york) is not None  # 21:00


def test_an_email_is_not_held_by_quiet_hours(service, mailbox, fake_twilio, texting, clock, read):
    clock.now = datetime(2030, 3, 2, 4, 0, tzinfo=UTC)
    service.on_appointment_booked(by_text())
    service.send_due()
    assert len(mailbox.messages()) == 1
    states = {d.channel: d.state for d in read.all(select(Delivery))}
    assert states == {"email": "sent", "sms": "deferred"}


# -- Twilio's answers ------------------------------------------------------------------------------
def test_twilio_busy_defers_the_text_and_it_goes_later(service, fake_twilio, texting, clock, read):
    fake_twilio.answer(
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
        (503, {"code": 20503, "message": "Service unavailable", "status": 503}),
    )
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [waiting] = sms_deliveries(read)
    assert (waiting.state, waiting.attempts) == ("deferred", 1)
    assert waiting.last_error.startswith("Twilio 429 error 20429")

    clock.advance(minutes=1)
    service.send_due()
    assert read.all(select(Delivery.last_error))[0].startswith("Twilio 503")
    clock.advance(minutes=5)
    service.send_due()
    [sent] = sms_deliveries(read)
    assert (sent.state, sent.attempts) == ("sent", 3)
    assert len(fake_twilio.texts()) == 3


def test_no_answer_from_twilio_defers_the_text(service, fake_twilio, texting, clock, read):
    fake_twilio.stop()
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [waiting] = sms_deliveries(read)
    assert (waiting.state, waiting.attempts) == ("deferred", 1)
    assert "no answer from Twilio" in waiting.last_error

    fake_twilio.start()
    clock.advance(minutes=1)
    service.send_due()
    assert [d.state for d in sms_deliveries(read)] == ["sent"]


def test_without_twilio_settings_texts_wait(service, texting, read, monkeypatch):
    for name in ("CVMS_TWILIO_ACCOUNT_SID", "CVMS_TWILIO_AUTH_TOKEN", "CVMS_TWILIO_FROM"):
        monkeypatch.delenv(name, raising=False)
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [waiting] = sms_deliveries(read)
    assert waiting.state == "deferred" and "no SMS provider" in waiting.last_error


def test_a_number_that_is_not_a_mobile_is_failed_and_not_texted_again(
    service, fake_twilio, texting, read
):
    fake_twilio.answer(
        (
            400,
            {
                "code": 21614,
                "message": "'To' number +12125550199 is not a valid mobile number",
                "more_info": "https://www.twilio.com/docs/errors/21614",
                "status": 400,
            },
        )
    )
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [failed] = sms_deliveries(read)
    assert failed.state == "failed" and "21614" in failed.last_error
    assert "5550199" not in failed.last_error  # no phone number in what staff see
    assert [s.reason for s in read.all(select(Suppression))] == ["undeliverable"]

    service.on_appointment_booked(booked(contact_channels=["sms"], confirmation_code="SECOND0001"))
    service.send_due()
    assert sorted(d.state for d in sms_deliveries(read)) == ["failed", "suppressed"]
    assert len(fake_twilio.texts()) == 1


def test_a_permanent_refusal_is_failed_without_suppressing_the_number(
    service, fake_twilio, texting, read
):
    fake_twilio.answer((400, {"code": 21602, "message": "Message body is required."}))
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    [failed] = sms_deliveries(read)
    assert failed.state == "failed" and failed.attempts == 1
    assert read.all(select(Suppression)) == []


def test_twilio_saying_the_owner_replied_stop_keeps_an_opt_out(service, fake_twilio, texting, read):
    fake_twilio.answer(
        (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    )
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    assert [s.reason for s in read.all(select(Suppression))] == ["opted_out"]
    assert [(s.channel, s.state) for s in sms_deliveries(read)] == [("sms", "failed")]


# -- STOP and START --------------------------------------------------------------------------------
def test_an_opted_out_phone_gets_no_text_not_even_a_confirmation(
    service, mailbox, fake_twilio, texting, read
):
    service.sms_opt_out("+1 (212) 555-0199")
    [kept] = read.all(select(Suppression))
    assert (kept.channel, kept.reason) == ("sms", "opted_out")
    assert PHONE not in kept.address_digest

    service.on_appointment_booked(by_text())  # a confirmation: transactional
    service.send_due()
    assert fake_twilio.texts() == []
    assert len(mailbox.messages()) == 1  # e-mail is another channel: it still goes
    [suppressed] = sms_deliveries(read)
    assert (suppressed.state, suppressed.last_error) == ("suppressed", "the address is opted_out")

    service.sms_opt_in(PHONE)
    assert read.all(select(Suppression)) == []
    service.on_appointment_booked(by_text(confirmation_code="SECOND0001"))
    service.send_due()
    assert len(fake_twilio.texts()) == 1


def test_opting_out_twice_keeps_one_suppression_and_start_does_not_lift_undeliverable(
    service, db, read, clock
):
    service.sms_opt_out(PHONE)
    service.sms_opt_out("2125550199")
    assert len(read.all(select(Suppression))) == 1
    service.sms_opt_in(PHONE)
    service.sms_opt_in(PHONE)  # nothing left to lift
    assert read.all(select(Suppression)) == []

    landline = "+12125550100"
    with db.transaction() as session:
        session.add(
            Suppression(
                channel="sms",
                address_digest=address_digest(landline),
                reason="undeliverable",
                created_at=clock.now,
            )
        )
    service.sms_opt_in(landline)
    service.sms_opt_out(landline)
    assert [s.reason for s in read.all(select(Suppression))] == ["undeliverable"]


@pytest.mark.parametrize("phone", [None, "", "12", "not a phone", "+0123456789", 2125550199])
def test_opt_out_refuses_what_is_not_a_phone_number(service, phone):
    with pytest.raises(InvalidInput) as refused:
        service.sms_opt_out(phone)
    assert "phone" in refused.value.errors


# -- phone numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "e164"),
    [
        ("(212) 555-0199", PHONE),
        ("212.555.0199", PHONE),
        ("1-212-555-0199", PHONE),
        ("+1 212 555 0199", PHONE),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-0199", None),
        ("+0044", None),
        (None, None),
    ],
)
def test_phone_numbers_in_e164(given, e164):
    assert normalise_phone(given) == e164


def test_a_masked_phone_shows_its_last_four_digits():
    assert mask_phone(PHONE) == "***-***-0199"


def test_twilio_error_messages_lose_the_number():
    class Answer:
        status_code, reason = 400, "Bad Request"

        def json(self):
            return {"code": 21211, "message": "The 'To' number +1 212-555-0199 is not valid."}

    outcome = twilio._outcome(Answer())
    assert outcome.undeliverable and "555" not in outcome.error
