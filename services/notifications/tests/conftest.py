"""Notifications unit-test fixtures: a freshly migrated SQLite database per test, the service
built with nameko's `worker_factory` on it, scheduling, identity and the help desk answered in
process, a clock the test moves, and a real SMTP server (the development mail catcher) on a
port of the test's own, keeping what it is given in the test's folder."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
import email
import email.policy
import socket
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory

from cvms_platform.contracts import new_event, to_wire
from cvms_platform.db import DatabaseAccess
from cvms_platform.testing import Clock, LocalServer, Reader, service_database
from notifications.service import NotificationsService

BIN = Path(sys.executable).parent
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
APPOINTMENT = str(uuid.uuid4())
LOCATION = {
    "id": "clinic-1",
    "name": "Clínica Uno",
    "address": "1 Main St, New York, NY 10001",
    "phone": "212-555-0100",
    "time_zone": "America/New_York",
}


class Owners:
    """Scheduling's and identity's answers, as the test sets them; `down` makes them fail as
    an RPC to a service that is not running does."""

    def __init__(self):
        self.bookings: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        self.links: dict[str, dict | None] = {}
        self.down: BaseException | None = None
        # What scheduling was asked: (call, kind, booking ids), in order.
        self.asked: list[tuple[str, str, list[str]]] = []

    def booking_contact(self, kind: str, booking_id: str) -> dict:
        self.asked.append(("booking_contact", kind, [booking_id]))
        if self.down:
            raise self.down
        return self.bookings[booking_id]

    def booking_contacts(self, kind: str, booking_ids: list[str]) -> dict:
        self.asked.append(("booking_contacts", kind, list(booking_ids)))
        if self.down:
            raise self.down
        return {i: self.bookings[i] for i in booking_ids if i in self.bookings}

    def user_contact(self, user_id: str) -> dict:
        return self.users[user_id]

    def password_link_for_delivery(self, link_id: str) -> dict | None:
        return self.links[link_id]

    def location_staff(self, location_id: str, roles: list[str]) -> list[str]:
        assert roles == ["location_manager"]
        return [
            user for user, details in self.users.items() if details.get("manages") == location_id
        ]


class HelpDesk:
    """The help desk's answers: the texts it hands out for delivery, by entry id."""

    def __init__(self):
        self.messages: dict[str, dict | None] = {}
        self.asked: list[tuple[str, str]] = []

    def message_for_delivery(self, case_id: str, entry_id: str) -> dict | None:
        self.asked.append((case_id, entry_id))
        return self.messages.get(entry_id)


class Mailbox(LocalServer):
    """The development mail catcher (`cvms-mailcatcher`), run as a process of its own as `make
    run` runs it, and its folder: the messages it accepted, oldest first."""

    what = "the mail catcher"

    def command(self) -> list[str]:
        return [
            str(BIN / "cvms-mailcatcher"),
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
        ]

    def messages(self) -> list[Message]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port(monkeypatch) -> int:
    port = free_port()
    monkeypatch.setenv("CVMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CVMS_SMTP_PORT", str(port))
    monkeypatch.setenv("CVMS_SMTP_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("CVMS_PORTAL_PUBLIC_URL", "https://vaccinate.example")
    return port


@pytest.fixture
def mailbox(tmp_path, smtp_port) -> Iterator[Mailbox]:
    box = Mailbox(tmp_path / "mail", smtp_port)
    box.start()
    yield box
    box.stop()


@pytest.fixture
def db(tmp_path) -> Iterator[DatabaseAccess]:
    with service_database("notifications", tmp_path) as database:
        yield database.access


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def owners() -> Owners:
    owners = Owners()
    owners.bookings[APPOINTMENT] = {
        "given_name": "Ana",
        "email": "ana@example.org",
        "phone": None,
        "language": "es",
        "location": LOCATION,
    }
    return owners


@pytest.fixture
def helpdesk() -> HelpDesk:
    return HelpDesk()


@pytest.fixture
def service(db, clock, owners, helpdesk) -> NotificationsService:
    service = worker_factory(
        NotificationsService, db=db, scheduling=owners, identity=owners, helpdesk=helpdesk
    )
    service.now = clock
    return service


@pytest.fixture
def read(db) -> Reader:
    return Reader(db)


def event_body(event_type: str, payload: dict) -> dict:
    return to_wire(new_event(event_type, payload, correlation_id="corr-event"))


def booked(**overrides) -> dict:
    """An appointment_booked event's body (3 March 2030, 15:00 UTC: 10:00 in New York)."""
    payload = {
        "appointment_id": uuid.UUID(APPOINTMENT),
        "confirmation_code": "K7Q2M9XW3P",
        "location_id": "clinic-1",
        "product_id": "pfizer-gray-12plus",
        "dose_number": 1,
        "slot_id": uuid.uuid4(),
        "starts_at": datetime(2030, 3, 4, 15, 0, tzinfo=UTC),
        "preferred_language": "es",
        "contact_channels": ["email"],
        **overrides,
    }
    return event_body("appointment_booked", payload)
