"""A set-password link's token for the notifications service to e-mail: it sets the password as
the shown one does, a new delivery replaces the one before, and a used link gives none."""

import pytest

from cvms_platform.errors import InvalidInput

ADMIN = {"user_id": "a-1", "role": "state_admin"}
PASSWORD = "a long new password 42"


@pytest.fixture(autouse=True)
def links_handed_out(monkeypatch):
    """These tests compare the token answered to the admin with the one delivered."""
    monkeypatch.setenv("CVMS_HAND_OUT_PASSWORD_LINKS", "1")


def invited(service) -> dict:
    new_user = {
        "name": "Nia Nurse",
        "email": "nia@clinic.example",
        "role": "vaccinator",
        "location_ids": ["demo-clinic"],
    }
    return service.create_location_user(ADMIN, "demo-org", new_user)["set_password"]


def test_the_delivered_token_sets_the_password_and_ends_the_link(service):
    link = invited(service)
    delivered = service.password_link_for_delivery(link["link_id"])
    assert delivered["purpose"] == "invitation" and delivered["user_id"] == link["user_id"]
    assert delivered["token"] != link["token"]

    assert service.set_password({"token": delivered["token"], "password": PASSWORD})
    assert service.password_link_for_delivery(link["link_id"]) is None  # used
    with pytest.raises(InvalidInput):
        service.set_password({"token": link["token"], "password": PASSWORD})


def test_a_new_delivery_replaces_the_token_delivered_before(service):
    link = invited(service)
    first = service.password_link_for_delivery(link["link_id"])
    second = service.password_link_for_delivery(link["link_id"])
    with pytest.raises(InvalidInput):
        service.set_password({"token": first["token"], "password": PASSWORD})
    assert service.set_password({"token": second["token"], "password": PASSWORD})


def test_an_unknown_link_gives_nothing(service):
    assert service.password_link_for_delivery("00000000-0000-4000-8000-000000000000") is None


def test_by_default_the_answer_has_no_token_and_says_it_was_emailed(service, monkeypatch):
    monkeypatch.delenv("CVMS_HAND_OUT_PASSWORD_LINKS")
    link = invited(service)
    assert "token" not in link and link["sent_by_email"] is True
    delivered = service.password_link_for_delivery(link["link_id"])
    assert service.set_password({"token": delivered["token"], "password": PASSWORD})
