"""Notifications end to end: real services, broker and databases, and the development mail
catcher as the SMTP server. A booking made in Spanish yields one Spanish confirmation with its
code; a set-password e-mail's link sets the password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import pytest
import requests

from tests.harness import wait_until
from tests.mail import SET_PASSWORD, mail_to
from tests.test_scheduling import Public, appointment_id, book, clinic_day, person, publish


def twilio_signature(token: str, url: str, params: dict) -> str:
    """X-Twilio-Signature as Twilio documents it."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def public(api) -> Public:
    return Public(api)


def test_a_booking_in_spanish_yields_one_spanish_confirmation_with_its_code(
    cluster, admin, public, location
):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=2)
    address = f"ana.{uuid.uuid4().hex[:8]}@example.org"
    who = person(email=address, preferred_language="es", given_name="Ana")
    booked = book(public, day["slots"][0]["id"], who)
    assert booked.status_code == 201, booked.text
    code = booked.json()["confirmation_code"]

    [confirmation] = wait_until(lambda: mail_to(cluster, address), what="the confirmation")
    assert confirmation["Subject"].startswith("Su cita de vacunación")
    text = confirmation.get_body(("plain",)).get_content()
    assert code in text and f"Clinic {location}" in text and "Hola Ana" in text


def test_an_invited_users_email_link_sets_the_password(cluster, api, org_admin):
    address = f"nurse.{uuid.uuid4().hex[:8]}@clinic.example"
    created = org_admin.post(
        "/organizations/demo-org/users",
        json={
            "name": "Nia Nurse",
            "email": address,
            "role": "vaccinator",
            "location_ids": ["demo-clinic"],
        },
    )
    assert created.status_code == 201, created.text

    [invitation] = wait_until(lambda: mail_to(cluster, address), what="the invitation")
    assert invitation["Subject"] == "Set your CVMS password"
    [token] = SET_PASSWORD.findall(invitation.get_body(("plain",)).get_content())
    password = "a long password for Nia 42"
    set_it = api.http.post(
        f"{api.base}/auth/password/set", json={"token": token, "password": password}, timeout=30
    )
    assert set_it.status_code == 204, set_it.text
    assert api.token(address, password)  # signs in


def test_a_booker_who_declines_texts_gets_the_email_and_no_text(cluster, admin, public, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=2)
    address = f"bea.{uuid.uuid4().hex[:8]}@example.org"
    who = {**person(email=address, given_name="Bea"), "contact_preferences": {"sms": False}}
    booked = book(public, day["slots"][0]["id"], who)
    assert booked.status_code == 201, booked.text

    [confirmation] = wait_until(lambda: mail_to(cluster, address), what="the confirmation")
    assert booked.json()["confirmation_code"] in confirmation.get_body(("plain",)).get_content()
    code = booked.json()["confirmation_code"]
    booking = appointment_id(admin, location, code)
    messages = admin.get(f"/locations/{location}/appointments/{booking}/messages").json()
    messages = messages["messages"]
    assert [m["channel"] for m in messages] == ["email"]  # the phone was given, not chosen


def test_a_text_chosen_without_a_phone_is_refused_by_field(public, admin, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=1)
    who = {**person(phone=None, email="x@example.org"), "contact_preferences": {"sms": True}}
    refused = book(public, day["slots"][0]["id"], who)
    assert refused.status_code == 400, refused.text
    assert "contact_preferences" in refused.json()["fields"]


def test_a_stop_sent_while_notifications_is_down_is_kept_and_honoured(
    cluster, admin, public, location
):
    """The gateway takes Twilio's STOP to the broker (no RPC): notifications, away meanwhile,
    applies it when it is back, and the phone then gets no text."""
    token = "twilio-test-token-0123456789"
    webhook = f"{cluster.gateway_url}/api/v1/sms/inbound"
    cluster.stop("gateway")
    cluster.start("gateway", CVMS_TWILIO_AUTH_TOKEN=token, CVMS_TWILIO_WEBHOOK_URL=webhook)
    cluster.wait_http(f"{cluster.gateway_url}/ready", "gateway")
    phone = f"+1212555{uuid.uuid4().int % 10000:04d}"
    reply = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": phone, "Body": "STOP"}
    cluster.stop("notifications")
    try:
        answered = requests.post(
            webhook,
            data=reply,
            headers={"X-Twilio-Signature": twilio_signature(token, webhook, reply)},
            timeout=30,
        )
        assert answered.status_code == 200, answered.text
    finally:
        cluster.start("notifications")
        cluster.wait_http(
            f"http://127.0.0.1:{cluster.ports['notifications']}/ready", "notifications"
        )

    publish(admin, location)
    day = clinic_day(admin, location, capacity=1)
    booked = book(public, day["slots"][0]["id"], person(phone=phone))
    assert booked.status_code == 201, booked.text
    booking = appointment_id(admin, location, booked.json()["confirmation_code"])

    def texted() -> list[dict]:
        found = admin.get(f"/locations/{location}/appointments/{booking}/messages").json()
        return [m for m in found["messages"] if m["channel"] == "sms" and m["state"] != "queued"]

    [text] = wait_until(texted, what="the confirmation text's outcome")
    assert text["state"] == "suppressed", text
