"""Help-desk messages (issue 15): a help-desk account's verification link in the language it
registered in; an agent's public reply and a resolution with its notes, e-mailed to the
requester once each, with the text asked of the help desk at send time (nothing else)."""

import uuid
from datetime import UTC, datetime

import pytest

from .conftest import event_body

REQUESTER = str(uuid.uuid4())
CASE = uuid.uuid4()


@pytest.fixture
def requester(owners):
    owners.users[REQUESTER] = {"email": "ana@example.org", "active": True, "display_name": None}


def case_event(event_type: str, entry_id: str, language: str = "es") -> dict:
    return event_body(
        event_type,
        {
            "case_id": CASE,
            "requester_id": REQUESTER,
            "entry_id": uuid.UUID(entry_id),
            "language": language,
        },
    )


def message(helpdesk, kind: str, body: str, language: str = "es") -> str:
    entry = str(uuid.uuid4())
    helpdesk.messages[entry] = {
        "case_id": str(CASE),
        "requester_id": REQUESTER,
        "reference": "HD-7K3Q9X2M",
        "summary": "Mi cita <no aparece>",
        "language": language,
        "kind": kind,
        "body": body,
    }
    return entry


def test_the_verification_link_goes_in_the_registered_language(service, owners, mailbox):
    link = str(uuid.uuid4())
    owners.users[REQUESTER] = {"email": "ana@example.org", "active": False}
    owners.links[link] = {"token": "tok-123", "purpose": "verification"}
    service.on_email_verification_requested(
        event_body(
            "email_verification_requested",
            {
                "user_id": uuid.UUID(REQUESTER),
                "link_id": uuid.UUID(link),
                "expires_at": datetime(2030, 3, 2, 12, 0, tzinfo=UTC),
                "language": "es",
            },
        )
    )
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["To"] == "ana@example.org"
    assert mail["Subject"].startswith("Verifique su correo")
    text = mail.get_body(("plain",)).get_content()
    assert "https://vaccinate.example/helpdesk/verify?token=tok-123" in text


def test_a_reply_and_the_resolution_are_emailed_once_each(
    service, helpdesk, requester, mailbox, read
):
    reply = message(helpdesk, "reply", "Envíe el número de lote, por favor.")
    event = case_event("case_replied", reply)
    service.on_case_replied(event)
    service.on_case_replied(event)  # delivered twice by the broker: one message
    notes = message(helpdesk, "resolved", "Lote liberado; puede usarlo.")
    service.on_case_resolved(case_event("case_resolved", notes))
    service.send_due()

    mails = {mail["Subject"]: mail for mail in mailbox.messages()}
    assert len(mails) == 2
    replied = mails["Caso HD-7K3Q9X2M de la Mesa de Ayuda: una respuesta"]
    assert "Envíe el número de lote" in replied.get_body(("plain",)).get_content()
    # The requester's own words are escaped in the HTML part.
    assert "&lt;no aparece&gt;" in replied.get_body(("html",)).get_content()
    resolved = mails["El caso HD-7K3Q9X2M de la Mesa de Ayuda está resuelto"]
    body = resolved.get_body(("plain",)).get_content()
    assert "Lote liberado; puede usarlo." in body
    assert f"https://vaccinate.example/helpdesk/cases/{CASE}" in body
    assert sorted(asked[1] for asked in helpdesk.asked) == sorted([reply, notes])
    # What staff see: the messages about the case, a masked address only.
    states = {(m["message_type"], m["state"]) for m in service.messages_about(str(CASE))}
    assert states == {("case_replied", "sent"), ("case_resolved", "sent")}


def test_nothing_goes_when_the_help_desk_hands_out_no_text(service, helpdesk, requester, mailbox):
    service.on_case_replied(case_event("case_replied", str(uuid.uuid4())))
    service.send_due()
    assert mailbox.messages() == []
    [seen] = service.messages_about(str(CASE))
    assert seen["state"] == "suppressed"


def test_english_when_the_case_is_in_english(service, helpdesk, requester, mailbox):
    notes = message(helpdesk, "resolved", "Your account is unlocked.", language="en")
    service.on_case_resolved(case_event("case_resolved", notes, language="en"))
    service.send_due()
    [mail] = mailbox.messages()
    assert mail["Subject"] == "Help Desk case HD-7K3Q9X2M is resolved"
    assert "Your account is unlocked." in mail.get_body(("plain",)).get_content()
