"""Help-desk accounts (issue 15): registered with an e-mail address and a password, inactive
until the address is verified by the one-time link e-mailed to it, then signed in as any user;
the answer never tells whether the address had an account."""

import pytest

from cvms_platform.errors import InvalidInput

PASSWORD = "a long help-desk password"


def register(service, email="Ana@Example.org", password=PASSWORD, language="es"):
    return service.register_requester({"email": email, "password": password, "language": language})


def emailed_token(service, reader) -> str:
    link_id = reader.events("email_verification_requested")[-1]["payload"]["link_id"]
    return service.password_link_for_delivery(link_id)["token"]


def sign_in(service, username="ana@example.org", password=PASSWORD):
    return service.sign_in({"username": username, "password": password})


def test_register_verify_then_sign_in(service, reader):
    assert register(service) is None
    event = reader.events("email_verification_requested")[0]["payload"]
    assert set(event) == {"user_id", "link_id", "expires_at", "language"}
    assert event["language"] == "es"
    assert sign_in(service) is None  # not verified yet

    verified = service.verify_requester(emailed_token(service, reader))
    assert verified["username"] == "ana@example.org"
    session = sign_in(service)
    assert session["user"]["role"] == "requester"
    assert session["user"]["location_ids"] == [] and session["user"]["recipient_id"] is None
    assert service.user_contact(verified["user_id"])["email"] == "ana@example.org"

    with pytest.raises(InvalidInput) as refused:
        service.verify_requester("x" * 43)
    assert "token" in refused.value.errors


def test_a_verification_link_works_once_and_sets_no_password(service, reader):
    register(service)
    token = emailed_token(service, reader)
    with pytest.raises(InvalidInput):
        service.set_password({"token": token, "password": "another long password"})
    service.verify_requester(token)
    with pytest.raises(InvalidInput):
        service.verify_requester(token)


def test_registering_again_before_verifying_sends_a_new_link(service, reader):
    register(service)
    register(service, password="the second long password")
    assert len(reader.events("email_verification_requested")) == 2
    service.verify_requester(emailed_token(service, reader))
    assert sign_in(service) is None
    assert sign_in(service, password="the second long password")


def test_a_taken_address_gets_the_same_answer_and_nothing_else(service, reader):
    register(service)
    service.verify_requester(emailed_token(service, reader))
    assert register(service, password="an attacker's new password") is None
    assert len(reader.events("email_verification_requested")) == 1
    assert sign_in(service)  # the password did not change
    assert sign_in(service, password="an attacker's new password") is None


def test_weak_passwords_and_bad_addresses_are_refused(service, reader):
    with pytest.raises(InvalidInput) as refused:
        register(service, password="short")
    assert set(refused.value.errors) == {"password"}
    with pytest.raises(InvalidInput) as refused:
        register(service, email="not an address")
    assert set(refused.value.errors) == {"email"}
    with pytest.raises(InvalidInput) as refused:
        register(service, password="ana-is-my-password-ok")
    assert "password" in refused.value.errors
    assert reader.events("email_verification_requested") == []


def test_an_expired_link_does_not_verify(service, reader, monkeypatch):
    monkeypatch.setenv("CVMS_EMAIL_VERIFICATION_TTL_SECONDS", "0")
    register(service)
    link_id = reader.events("email_verification_requested")[0]["payload"]["link_id"]
    assert service.password_link_for_delivery(link_id) is None
