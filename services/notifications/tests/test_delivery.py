"""Every message once, in the person's language, through a real SMTP server: retried while the
server is away, given up on an address it refuses, and never twice for one event."""

import smtplib
import uuid
from datetime import UTC, datetime

from nameko.exceptions import RpcTimeout
from sqlalchemy import select

from cvms_platform.errors import NotFound
from notifications.models import Delivery, Suppression

from .conftest import APPOINTMENT, booked, event_body


def test_a_booking_in_spanish_gives_one_spanish_email_with_its_code(service, mailbox, read):
    body = booked()
    service.on_appointment_booked(body)
    assert service.send_due() == 1

    [mail] = mailbox.messages()
    assert mail["To"] == "ana@example.org"
    assert mail["Subject"].startswith("Su cita de vacunación: ")
    text = mail.get_body(("plain",)).get_content()
    assert "K7Q2M9XW3P" in text and "Clínica Uno" in text
    assert "lunes, 4 de marzo de 2030, 10:00 EST" in text
    html = mail.get_body(("html",)).get_content()
    assert '<a href="https://vaccinate.example/appointments">' in html
    [delivery] = read.all(select(Delivery))
    assert mail["Message-ID"].startswith(f"<{delivery.id}@")
    assert (delivery.state, delivery.language, delivery.attempts) == ("sent", "es", 1)
    assert delivery.masked_address == "a***@example.org"


def test_the_same_event_delivered_twice_gives_one_email(service, mailbox, read):
    body = booked()
    service.on_appointment_booked(body)
    service.on_appointment_booked(body)
    service.send_due()
    service.send_due()
    assert len(mailbox.messages()) == 1
    assert len(read.all(select(Delivery))) == 1


def test_no_email_for_someone_who_gave_only_a_phone(service, mailbox, read):
    service.on_appointment_booked(booked(contact_channels=["sms"]))
    service.send_due()
    assert mailbox.messages() == []
    assert read.all(select(Delivery.channel)) == ["sms"]  # a text only (tests/test_sms.py)


def test_while_the_smtp_server_is_away_the_message_waits_and_then_goes_once(
    service, mailbox, read, clock
):
    mailbox.stop()
    service.on_appointment_booked(booked())
    service.send_due()
    [waiting] = read.all(select(Delivery))
    assert waiting.state == "deferred" and waiting.attempts == 1
    assert waiting.next_attempt_at > clock.now
    assert "ConnectionRefusedError" in waiting.last_error

    service.send_due()  # not due yet: nothing is tried
    assert read.all(select(Delivery.attempts)) == [1]

    mailbox.start()
    clock.advance(minutes=1)
    service.send_due()
    service.send_due()
    assert len(mailbox.messages()) == 1
    assert read.all(select(Delivery.state)) == ["sent"]


def test_a_message_the_server_refuses_for_good_is_failed_and_the_address_not_used_again(
    service, mailbox, read, monkeypatch
):
    def refuse(self, sender, recipients, data, *options):
        raise smtplib.SMTPRecipientsRefused({recipients[0]: (550, b"5.1.1 no such mailbox")})

    monkeypatch.setattr(smtplib.SMTP, "sendmail", refuse)
    service.on_appointment_booked(booked())
    service.send_due()
    [failed] = read.all(select(Delivery))
    assert failed.state == "failed" and "550" in failed.last_error
    assert [s.reason for s in read.all(select(Suppression))] == ["undeliverable"]

    monkeypatch.undo()
    service.on_appointment_booked(booked(confirmation_code="SECOND0001"))
    service.send_due()
    states = sorted(read.all(select(Delivery.state)))
    assert states == ["failed", "suppressed"]
    assert mailbox.messages() == []


def test_an_owner_that_does_not_answer_defers_the_message(service, mailbox, owners, read):
    owners.down = RpcTimeout("scheduling")
    service.on_appointment_booked(booked())
    service.send_due()
    [waiting] = read.all(select(Delivery))
    assert waiting.state == "deferred" and waiting.attempts == 0
    assert mailbox.messages() == []


def test_retries_end_after_the_retry_window(service, mailbox, read, clock, monkeypatch):
    monkeypatch.setenv("CVMS_NOTIFY_RETRY_FOR_SECONDS", "60")
    mailbox.stop()
    service.on_appointment_booked(booked())
    service.send_due()
    clock.advance(minutes=2)
    service.send_due()
    [given_up] = read.all(select(Delivery))
    assert given_up.state == "failed" and given_up.last_error.startswith("gave up")


def test_a_set_password_email_carries_a_link_that_identity_handed_out(
    service, mailbox, owners, read
):
    user, link = str(uuid.uuid4()), str(uuid.uuid4())
    owners.users[user] = {"user_id": user, "email": "nia@clinic.example", "display_name": "Nia"}
    owners.links[link] = {"user_id": user, "purpose": "invitation", "token": "tok-123"}
    payload = {
        "user_id": uuid.UUID(user),
        "link_id": uuid.UUID(link),
        "organization_id": "org-1",
        "expires_at": datetime(2030, 3, 8, 12, 0, tzinfo=UTC),
    }
    service.on_user_invited(event_body("user_invited", payload))
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Set your CVMS password"
    assert (
        "https://vaccinate.example/password/set?token=tok-123"
        in mail.get_body(("plain",)).get_content()
    )

    owners.links[link] = None  # used meanwhile: a second event's message is not sent
    service.on_password_reset_requested(event_body("password_reset_requested", payload))
    service.send_due()
    assert len(mailbox.messages()) == 1
    assert sorted(read.all(select(Delivery.state))) == ["sent", "suppressed"]


def test_staff_see_an_appointments_messages_with_a_masked_address(service, mailbox):
    service.on_appointment_booked(booked())
    service.send_due()
    [message] = service.messages_about(APPOINTMENT)
    assert message["message_type"] == "appointment_booked"
    assert (message["state"], message["masked_address"]) == ("sent", "a***@example.org")
    assert "ana@" not in str(message)


def test_a_booking_its_owner_no_longer_has_is_not_sent(service, mailbox, owners, read):
    owners.down = NotFound("No appointment of this id.")
    service.on_appointment_booked(booked())
    service.send_due()
    [gone] = read.all(select(Delivery))
    assert gone.state == "suppressed" and "no appointment" in gone.last_error
    assert mailbox.messages() == []


def test_an_smtp_server_refusing_our_credentials_is_tried_again(
    service, mailbox, read, monkeypatch
):
    def refuse(self, sender, recipients, data, *options):
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 authentication failed")

    monkeypatch.setattr(smtplib.SMTP, "sendmail", refuse)
    service.on_appointment_booked(booked())
    service.send_due()
    [waiting] = read.all(select(Delivery))
    assert waiting.state == "deferred" and "535" in waiting.last_error
    assert read.all(select(Suppression)) == []


def test_the_oldest_unsent_age_leaves_out_texts_held_for_quiet_hours(service, read, db, clock):
    from notifications import delivery

    service.on_appointment_booked(booked())
    with db.transaction() as session:
        [held] = session.scalars(select(Delivery)).all()
        held.state, held.last_error = "deferred", delivery.QUIET_HOURS
    clock.advance(hours=5)
    with db.transaction() as session:
        delivery.observe_oldest_unsent(session, clock.now)
    assert delivery.OLDEST_UNSENT._value.get() == 0.0
    with db.transaction() as session:
        session.scalars(select(Delivery)).one().last_error = "SMTP 421: try later"
        delivery.observe_oldest_unsent(session, clock.now)
    assert delivery.OLDEST_UNSENT._value.get() == 5 * 3600


def test_the_oldest_unsent_age_is_read_when_metrics_are_scraped(service, clock):
    from notifications import delivery

    service.on_appointment_booked(booked())
    clock.advance(minutes=3)
    service.observe()
    assert delivery.OLDEST_UNSENT._value.get() == 180
