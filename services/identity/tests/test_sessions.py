"""Signing in and refresh tokens, as the service answers the gateway: claims for the access
token, a refresh token kept as its digest, rotation, and the end of every session on reuse.
(The same through the gateway's HTTP API: gateway/tests/test_refresh_logout.py.)"""

from datetime import timedelta

from sqlalchemy import select

from identity import refresh_tokens
from identity.models import RefreshToken, User

from .conftest import DEMO_PASSWORDS


def sign_in(service, username="clinic.manager", password=None):
    return service.sign_in({"username": username, "password": password or DEMO_PASSWORDS[username]})


def test_the_refresh_session_lasts_as_configured(monkeypatch):
    monkeypatch.delenv("CVMS_REFRESH_TTL_SECONDS", raising=False)
    assert refresh_tokens.time_to_live() == timedelta(days=14)
    monkeypatch.setenv("CVMS_REFRESH_TTL_SECONDS", "3600")
    assert refresh_tokens.time_to_live() == timedelta(seconds=3600)


def test_a_sign_in_answers_the_claims_and_a_refresh_token_kept_as_its_digest(service, reader):
    signed_in = sign_in(service)
    assert signed_in["user"]["username"] == "clinic.manager"
    assert signed_in["user"]["role"] == "location_manager"
    assert signed_in["user"]["location_ids"] == ["demo-clinic"]
    assert signed_in["user"]["organization_id"] == "demo-org"
    stored = reader.all(select(RefreshToken.token_hash))
    assert len(stored) == 1 and signed_in["refresh_token"] not in stored


def test_an_org_admin_acts_for_the_organizations_locations(service):
    assert sign_in(service, "org.admin")["user"]["location_ids"] == ["demo-clinic"]


def test_a_wrong_password_an_unknown_user_and_a_bad_request_are_told_apart(service):
    assert sign_in(service, "clinic.manager", "wrong password") is None
    assert service.sign_in({"username": "nobody", "password": "whatever it is"}) is None
    try:
        service.sign_in({"username": ""})
    except Exception as error:  # noqa: BLE001 - the platform's InvalidInput
        assert type(error).__name__ == "InvalidInput"
        assert set(error.errors) == {"username", "password"}
    else:
        raise AssertionError("an incomplete sign-in was accepted")


def test_a_rotated_token_used_again_ends_every_session_of_its_user(service, reader):
    first = sign_in(service)
    other = sign_in(service)
    rotated = service.refresh(first["refresh_token"])
    assert rotated is not None and rotated["refresh_token"] != first["refresh_token"]

    assert service.refresh(first["refresh_token"]) is None  # reuse: it leaked
    assert service.refresh(rotated["refresh_token"]) is None
    assert service.refresh(other["refresh_token"]) is None
    revoked = reader.all(select(RefreshToken.revoked_at))
    assert all(when is not None for when in revoked)


def test_a_deactivated_user_cannot_sign_in_or_refresh(service, db):
    signed_in = sign_in(service)
    with db.transaction() as session:
        session.scalar(select(User).where(User.username == "clinic.manager")).active = False
    assert sign_in(service) is None
    assert service.refresh(signed_in["refresh_token"]) is None
