"""Sending in batches: one transaction locks a batch of due messages, their bookers' addresses
are asked of scheduling in one call, and the e-mails go over several SMTP connections at once;
still each message exactly once, with the Message-ID of its delivery row, and once more with
the same Message-ID after a crash between the server's acceptance and the commit."""

import collections
import email
import email.policy
import uuid

import eventlet
import pytest
from nameko.exceptions import MethodNotFound
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from cvms_platform.db import DatabaseAccess
from notifications import delivery as delivery_module
from notifications import render, smtp
from notifications.models import Delivery
from notifications.service import NotificationsService

from .conftest import APPOINTMENT, LOCATION, booked


def book_many(service, owners, count: int) -> list[str]:
    """`count` bookings by different people, each owed one e-mail; their appointment ids."""
    ids = []
    for n in range(count):
        appointment = str(uuid.uuid4())
        owners.bookings[appointment] = {
            "given_name": f"Person {n}",
            "email": f"person.{n}@example.org",
            "phone": None,
            "language": "en" if n % 2 else "es",
            "location": LOCATION,
        }
        service.on_appointment_booked(
            booked(appointment_id=uuid.UUID(appointment), confirmation_code=f"CODE{n:06d}")
        )
        ids.append(appointment)
    return ids


def message_ids(mailbox) -> collections.Counter:
    """How many times each delivery id was the Message-ID of an accepted e-mail."""
    return collections.Counter(
        mail["Message-ID"].strip("<>").partition("@")[0] for mail in mailbox.messages()
    )


@pytest.fixture
def opened(monkeypatch) -> list[int]:
    """Counts the SMTP connections opened (one entry per connection)."""
    opened: list[int] = []
    open_connection = smtp.Connection._open

    def counting(self):
        if self._smtp is None:
            opened.append(1)
        return open_connection(self)

    monkeypatch.setattr(smtp.Connection, "_open", counting)
    return opened


def test_a_batch_asks_scheduling_once_for_all_its_bookers(service, mailbox, owners, read):
    booked_ids = book_many(service, owners, 30)
    owners.asked.clear()

    assert service.send_due() == 30

    [(call, kind, asked)] = owners.asked
    assert (call, kind, sorted(asked)) == ("booking_contacts", "appointment", sorted(booked_ids))
    assert len(mailbox.messages()) == 30
    assert set(read.all(select(Delivery.state))) == {"sent"}


def test_a_scheduling_without_the_batch_call_is_asked_one_at_a_time(
    service, mailbox, owners, read, monkeypatch
):
    def not_yet(kind, booking_ids):
        raise MethodNotFound("booking_contacts")

    monkeypatch.setattr(owners, "booking_contacts", not_yet)
    book_many(service, owners, 3)

    assert service.send_due() == 3

    assert [call for call, _, _ in owners.asked] == ["booking_contact"] * 3
    assert len(mailbox.messages()) == 3
    assert read.all(select(Delivery.state)) == ["sent"] * 3


def test_many_messages_over_several_connections_each_go_exactly_once(
    service, mailbox, owners, read, opened, monkeypatch
):
    monkeypatch.setenv("CVMS_NOTIFY_SMTP_CONNECTIONS", "4")
    monkeypatch.setenv("CVMS_NOTIFY_BATCH", "9")  # several batches in one run
    book_many(service, owners, 40)

    assert service.send_due() == 40

    rows = read.all(select(Delivery))
    assert message_ids(mailbox) == collections.Counter(row.id for row in rows)
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}
    assert 1 < len(opened) <= 4  # sent concurrently, over at most the connections allowed
    assert service.send_due() == 0


def test_two_senders_at_once_send_each_message_once(service, db, mailbox, owners, clock, read):
    book_many(service, owners, 25)
    other_db = DatabaseAccess(db.engine, sessionmaker(bind=db.engine, expire_on_commit=False))
    other = worker_factory(NotificationsService, db=other_db, scheduling=owners, identity=owners)
    other.now = clock

    senders = [eventlet.spawn(service.send_due), eventlet.spawn(other.send_due)]
    tried = [sender.wait() for sender in senders]
    other_db.close()

    assert sum(tried) == 25
    rows = read.all(select(Delivery))
    assert message_ids(mailbox) == collections.Counter(row.id for row in rows)
    assert {row.state for row in rows} == {"sent"}


def test_a_crash_between_sending_and_the_commit_sends_again_with_the_same_message_id(
    service, mailbox, owners, read, monkeypatch
):
    book_many(service, owners, 5)

    record = delivery_module._recorded

    def crash(*args):
        raise RuntimeError("the process died before its commit")

    monkeypatch.setattr(delivery_module, "_recorded", crash)
    with pytest.raises(RuntimeError):
        service.send_due()
    assert len(mailbox.messages()) == 5  # accepted by the server, not recorded
    assert set(read.all(select(Delivery.state))) == {"queued"}

    monkeypatch.setattr(delivery_module, "_recorded", record)  # the process starts again
    assert service.send_due() == 5

    rows = read.all(select(Delivery))
    assert message_ids(mailbox) == collections.Counter({row.id: 2 for row in rows})
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}


def test_an_unreachable_server_is_tried_once_per_connection_not_once_per_message(
    service, mailbox, owners, read, opened, clock, monkeypatch
):
    monkeypatch.setenv("CVMS_NOTIFY_SMTP_CONNECTIONS", "3")
    mailbox.stop()
    book_many(service, owners, 20)

    assert service.send_due() == 20

    assert len(opened) <= 3
    rows = read.all(select(Delivery))
    assert {(row.state, row.attempts) for row in rows} == {("deferred", 1)}
    assert all("ConnectionRefusedError" in row.last_error for row in rows)
    # Backoff with jitter: the messages deferred together do not all come back together.
    assert len({row.next_attempt_at for row in rows}) > 1

    mailbox.start()
    clock.advance(minutes=1)
    assert service.send_due() == 20
    assert message_ids(mailbox) == collections.Counter(row.id for row in rows)


def test_a_message_that_cannot_be_written_waits_and_the_rest_of_its_batch_goes(
    service, mailbox, owners, read, monkeypatch
):
    booked_ids = book_many(service, owners, 6)
    broken = booked_ids[2]
    write = render.render

    def render_or_fail(found, contact):
        if found.person_id == broken:
            raise KeyError("a fact its template names")
        return write(found, contact)

    monkeypatch.setattr(render, "render", render_or_fail)
    assert service.send_due() == 6

    states = {row.person_id: (row.state, row.last_error) for row in read.all(select(Delivery))}
    assert states.pop(broken) == ("deferred", "could not be written: KeyError")
    assert set(states.values()) == {("sent", None)}
    assert len(mailbox.messages()) == 5


def test_the_written_out_email_reads_as_the_email_package_writes_it():
    settings = smtp.SmtpSettings(
        host="127.0.0.1",
        port=25,
        starttls=False,
        username=None,
        password=None,
        sender="CVMS <no-reply@cvms.example>",
    )
    rendered = render.Rendered(
        subject="Su cita de vacunación: lunes, 4 de marzo de 2030, 10:00 EST " + "x" * 80,
        text="Hola Ana,\n\nSu código: K7Q2M9XW3P.\n.\nUna línea larga " + "y" * 120 + " \n",
        html='<p>Hola <a href="https://vaccinate.example/appointments">Ana</a> ¿sí?</p>',
        unsubscribe_url="https://vaccinate.example/unsubscribe?m=abc",
    )
    message_id = str(uuid.uuid4())

    prepared = smtp.prepare(settings, "ana@example.org", rendered, message_id, "cvms.example")
    expected = smtp.message(settings, "ana@example.org", rendered, message_id, "cvms.example")

    assert isinstance(prepared, smtp.Prepared)
    assert (prepared.sender, prepared.to) == ("no-reply@cvms.example", "ana@example.org")
    assert prepared.data.isascii() and b"\r\n" in prepared.data
    assert all(len(line) <= 998 for line in prepared.data.split(b"\r\n"))
    assert b"\n" not in prepared.data.replace(b"\r\n", b"")
    mail = email.message_from_bytes(prepared.data, policy=email.policy.default)
    for header in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe"):
        assert mail[header] == expected[header], header
    for kind in ("plain", "html"):
        # As read from the wire (CRLF line ends) and as the package keeps it in memory (LF).
        got = mail.get_body((kind,)).get_content().replace("\r\n", "\n")
        want = expected.get_body((kind,)).get_content()
        assert got.rstrip("\n") == want.rstrip("\n"), kind
    # An address the fast path does not write goes through the email package.
    international = smtp.prepare(settings, "josé@example.org", rendered, message_id, "x")
    assert not isinstance(international, smtp.Prepared)


def test_a_batch_of_booking_events_queues_one_message_each_once(service, mailbox, owners, read):
    second = str(uuid.uuid4())
    owners.bookings[second] = {**owners.bookings[APPOINTMENT], "email": "bea@example.org"}
    first_event = booked()
    second_event = booked(appointment_id=uuid.UUID(second), confirmation_code="SECOND0001")

    # What the batch consumer hands over: the queue's messages, one redelivered within it.
    service.on_appointment_booked([first_event, second_event, first_event])
    service.on_appointment_booked([second_event])  # and one redelivered later

    rows = read.all(select(Delivery))
    assert sorted(row.person_id for row in rows) == sorted([APPOINTMENT, second])
    assert service.send_due() == 2
    assert sorted(mail["To"] for mail in mailbox.messages()) == [
        "ana@example.org",
        "bea@example.org",
    ]
