"""The marketplace's claims and transfers (issue 14): each manager of the location that must act
or needs to know is e-mailed once per event, about that location."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from notifications import render
from notifications.contacts import Contact
from notifications.models import Delivery

from .conftest import event_body

OFFERING, CLAIMING = "clinic-1", "clinic-2"


def claim(event_type: str, **extra) -> dict:
    return event_body(
        event_type,
        {
            "claim_id": "claim-7",
            "offer_id": "offer-3",
            "offering_location_id": OFFERING,
            "claiming_location_id": CLAIMING,
            "product_id": "pfizer-gray-12plus",
            **extra,
        },
    )


WHEN = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
EVENTS = {
    "claim_requested": lambda: claim("claim_requested", doses=30, expires_at=WHEN),
    "claim_accepted": lambda: claim("claim_accepted", doses_requested=30, doses_accepted=20),
    "claim_declined": lambda: claim("claim_declined", doses=30, reason="Kept for a clinic day."),
    "claim_expired": lambda: claim("claim_expired", doses=30, expired_at=WHEN),
    "transfer_shipped": lambda: claim(
        "transfer_shipped", lot_number="FK1234", doses=20, shipped_at=WHEN
    ),
    "transfer_received": lambda: claim(
        "transfer_received",
        lot_number="FK1234",
        doses_shipped=20,
        doses_received=20,
        to_lot_id=uuid.uuid4(),
        arrival_temperature_c=4.5,
        data_logger_id="DL-9",
        received_at=WHEN,
    ),
    "transfer_problem_reported": lambda: claim(
        "transfer_problem_reported",
        problem="cold_chain_failure",
        doses_affected=20,
        arrival_temperature_c=14.0,
        data_logger_id="DL-9",
    ),
}
# Which side's managers hear of each event.
TOLD = {
    "claim_requested": {OFFERING},
    "claim_accepted": {CLAIMING},
    "claim_declined": {CLAIMING},
    "claim_expired": {OFFERING, CLAIMING},
    "transfer_shipped": {CLAIMING},
    "transfer_received": {OFFERING},
    "transfer_problem_reported": {OFFERING},
}
ADDRESS = {OFFERING: "lee@one.example", CLAIMING: "kim@two.example"}


@pytest.fixture
def managers(owners):
    """One manager at each side, a second at the offering one, and one somewhere else."""
    owners.users[str(uuid.uuid4())] = {
        "email": "lee@one.example",
        "display_name": "Lee",
        "active": True,
        "manages": OFFERING,
    }
    owners.users[str(uuid.uuid4())] = {
        "email": "ana@one.example",
        "active": True,
        "manages": OFFERING,
    }
    owners.users[str(uuid.uuid4())] = {
        "email": "kim@two.example",
        "active": True,
        "manages": CLAIMING,
    }
    owners.users[str(uuid.uuid4())] = {"email": "x@else.example", "active": True, "manages": "x"}
    return {OFFERING: ["ana@one.example", "lee@one.example"], CLAIMING: ["kim@two.example"]}


def handler(service, event_type):
    return getattr(service, f"on_{event_type}")


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_each_manager_of_the_side_concerned_is_emailed_once(
    event_type, service, mailbox, managers, read
):
    body = EVENTS[event_type]()
    handler(service, event_type)(body)
    handler(service, event_type)(body)  # redelivered: nothing more
    service.send_due()
    service.send_due()

    expected = sorted(address for side in TOLD[event_type] for address in managers[side])
    mails = mailbox.messages()
    assert sorted(mail["To"] for mail in mails) == expected
    rows = read.all(select(Delivery))
    assert len(rows) == len(expected)
    assert {row.subject_id for row in rows} == TOLD[event_type]
    assert {row.message_type for row in rows} == {event_type}
    for mail in mails:
        side = OFFERING if mail["To"].endswith("@one.example") else CLAIMING
        text = mail.get_body(("plain",)).get_content()
        assert f"/provider/locations/{side}/inventory" in text
        assert "pfizer-gray-12plus" in text or "pfizer-gray-12plus" in mail["Subject"]


def test_a_claim_tells_the_offering_location_who_asks_for_how_many_and_by_when(
    service, mailbox, managers
):
    service.on_claim_requested(EVENTS["claim_requested"]())
    service.send_due()
    mail = next(m for m in mailbox.messages() if m["To"] == "lee@one.example")
    assert mail["Subject"] == "Claim for 30 doses of pfizer-gray-12plus from clinic-2"
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("Hello Lee,")
    assert "clinic-2 asks for 30 doses" in text
    assert "Monday, March 4, 2030" in text


def test_a_declined_claim_gives_the_reason(service, mailbox, managers):
    service.on_claim_declined(EVENTS["claim_declined"]())
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["To"] == "kim@two.example"
    assert "The reason given: Kept for a clinic day." in mail.get_body(("plain",)).get_content()
    assert "Kept for a clinic day." in mail.get_body(("html",)).get_content()


def test_an_expired_claim_is_worded_for_each_side(service, mailbox, managers):
    service.on_claim_expired(EVENTS["claim_expired"]())
    service.send_due()
    texts = {m["To"]: m.get_body(("plain",)).get_content() for m in mailbox.messages()}
    assert "the doses stay offered" in texts["lee@one.example"]
    assert "Your claim claim-7" in texts["kim@two.example"]


def test_a_deactivated_manager_is_not_written_to(service, mailbox, owners, read):
    owners.users[str(uuid.uuid4())] = {
        "email": "kim@two.example",
        "active": False,
        "manages": CLAIMING,
    }
    service.on_transfer_shipped(EVENTS["transfer_shipped"]())
    service.send_due()
    assert mailbox.messages() == []
    assert read.all(select(Delivery.state)) == ["suppressed"]


def test_a_location_without_managers_owes_nothing(service, mailbox, read):
    service.on_claim_accepted(EVENTS["claim_accepted"]())
    assert read.all(select(Delivery)) == []


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_message_is_written_in_english_and_spanish(
    event_type, language, service, managers, read
):
    """Staff accounts have no language yet (identity answers none): they are written to in
    English; the Spanish templates are ready for when they do."""
    handler(service, event_type)(EVENTS[event_type]())
    rows = read.all(select(Delivery))
    assert rows
    for row in rows:
        contact = Contact(address="m@example.org", language=language, name="Lee")
        rendered = render.render(row, contact)
        assert rendered.subject and "{{" not in rendered.subject
        assert rendered.text.startswith("Hola Lee," if language == "es" else "Hello Lee,")
        assert f"/provider/locations/{row.subject_id}/inventory" in rendered.html
