"""Refresh tokens (stored hashed, rotated on use, reuse ends every session) and logout (the
access token stops working at once; the refresh token given is revoked)."""

import hashlib
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cvms_platform.db import make_engine
from cvms_platform.timeutil import utcnow
from gateway.security import read_token
from gateway.sessions import Denylist
from identity.models import RefreshToken, User

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
DEAD_REDIS = "redis://127.0.0.1:1/0"
PASSWORDS = {"state.admin": "demo-state-admin", "clinic.manager": "demo-clinic-manager"}


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def products(rpc):
    rpc.answer("inventory.list_products", [])


def sign_in(client, username="clinic.manager") -> dict:
    response = client.post(TOKEN, json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}


def refresh(client, token: str):
    return client.post(REFRESH, json={"refresh_token": token})


def rows(db, user_id=None) -> list[RefreshToken]:
    with Session(db) as session:
        query = select(RefreshToken).order_by(RefreshToken.created_at)
        if user_id:
            query = query.where(RefreshToken.user_id == user_id)
        return list(session.scalars(query))


def user_id(db, username: str) -> str:
    with Session(db) as session:
        return session.scalar(select(User.id).where(User.username == username))


# -- signing in -----------------------------------------------------------------------------------
def test_sign_in_returns_a_refresh_token_stored_only_as_its_digest(client, db):
    session = sign_in(client)
    token = session["refresh_token"]
    assert len(token) >= 40
    assert session["refresh_expires_in"] == pytest.approx(14 * 24 * 3600, abs=5)

    (row,) = rows(db)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.user_id == user_id(db, "clinic.manager")
    assert row.revoked_at is None
    assert token not in {row.id, row.token_hash}
    assert row.expires_at - row.created_at == pytest.approx(
        timedelta(days=14), abs=timedelta(seconds=5)
    )


def test_each_sign_in_gets_its_own_refresh_token(client, db):
    assert sign_in(client)["refresh_token"] != sign_in(client)["refresh_token"]
    assert len(rows(db)) == 2


# -- refreshing -----------------------------------------------------------------------------------
def test_refresh_rotates_the_token_and_gives_a_working_access_token(client, app, db, products):
    first = sign_in(client)
    response = refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.get_json()
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (second["token_type"], second["expires_in"]) == ("Bearer", 900)
    assert (second["role"], second["locations"]) == ("location_manager", ["demo-clinic"])
    principal = read_token(second["access_token"], app.config["CVMS"].jwt_secret)
    assert principal.username == "clinic.manager"
    assert client.get("/api/v1/products", headers=bearer(second)).status_code == 200

    old, new = rows(db)
    assert old.revoked_at is not None and new.revoked_at is None
    assert refresh(client, second["refresh_token"]).status_code == 200  # the successor works


def test_refreshing_never_extends_the_session(client, db):
    first = sign_in(client)
    second = refresh(client, first["refresh_token"]).get_json()
    third = refresh(client, second["refresh_token"]).get_json()
    expiries = {row.expires_at for row in rows(db)}
    assert len(expiries) == 1
    assert third["refresh_expires_in"] <= first["refresh_expires_in"]


def test_a_refreshed_access_token_carries_the_users_current_locations(client, app, db):
    first = sign_in(client)
    with db.begin() as connection:
        connection.execute(
            update(User)
            .where(User.username == "clinic.manager")
            .values(location_ids=["demo-clinic", "second-clinic"])
        )
    second = refresh(client, first["refresh_token"]).get_json()
    assert second["locations"] == ["demo-clinic", "second-clinic"]
    principal = read_token(second["access_token"], app.config["CVMS"].jwt_secret)
    assert principal.location_ids == {"demo-clinic", "second-clinic"}


def test_reusing_a_rotated_refresh_token_ends_every_session_of_that_user(client, db):
    manager_a, manager_b = sign_in(client), sign_in(client)
    admin = sign_in(client, "state.admin")
    rotated = refresh(client, manager_a["refresh_token"]).get_json()

    reused = refresh(client, manager_a["refresh_token"])  # a thief, or a replay

    assert reused.status_code == 401
    assert reused.get_json()["error"] == "invalid_refresh_token"
    assert all(row.revoked_at is not None for row in rows(db, user_id(db, "clinic.manager")))
    assert refresh(client, rotated["refresh_token"]).status_code == 401
    assert refresh(client, manager_b["refresh_token"]).status_code == 401
    assert refresh(client, admin["refresh_token"]).status_code == 200  # other users keep theirs


@pytest.mark.parametrize("token", ["not-a-token", "x" * 200])
def test_an_unknown_refresh_token_is_401(client, token):
    response = refresh(client, token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_refresh_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cvms"'


def test_an_expired_refresh_token_is_401(client, db):
    session = sign_in(client)
    with db.begin() as connection:
        connection.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = refresh(client, session["refresh_token"])
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_refresh_token"


def test_a_deactivated_user_cannot_refresh(client, directory_db):
    session = sign_in(client)
    directory_db.set_active("clinic.manager", False)
    assert refresh(client, session["refresh_token"]).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": 42}, {"refresh_token": "a", "user": "x"}],
)
def test_a_bad_refresh_body_is_400(client, body):
    response = client.post(REFRESH, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_input"


def test_the_access_token_of_a_refresh_is_not_a_refresh_token(client):
    session = sign_in(client)
    assert refresh(client, session["access_token"][:200]).status_code == 401


# -- logout ---------------------------------------------------------------------------------------
def test_logout_revokes_the_access_token_at_once_and_the_refresh_token(
    client, redis_client, redis_prefix, products
):
    session = sign_in(client)
    other = sign_in(client)  # the same user on another device
    assert client.get("/api/v1/products", headers=bearer(session)).status_code == 200

    response = client.post(
        LOGOUT, json={"refresh_token": session["refresh_token"]}, headers=bearer(session)
    )

    assert response.status_code == 204
    assert response.get_data() == b""
    refused = client.get("/api/v1/products", headers=bearer(session))
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "token_revoked"
    assert refresh(client, session["refresh_token"]).status_code == 401
    # the other device is still signed in
    assert client.get("/api/v1/products", headers=bearer(other)).status_code == 200
    assert refresh(client, other["refresh_token"]).status_code == 200
    # the denylist entry lives only as long as the token would have
    (key,) = redis_client.keys(f"{redis_prefix}:revoked-token:*")
    assert 0 < redis_client.ttl(key) <= 900


def test_logout_without_a_refresh_token_ends_only_the_access_token(client, redis_client, products):
    session = sign_in(client)
    assert client.post(LOGOUT, json={}, headers=bearer(session)).status_code == 204
    assert client.get("/api/v1/products", headers=bearer(session)).status_code == 401
    assert refresh(client, session["refresh_token"]).status_code == 200


def test_logout_leaves_another_users_refresh_token_alone(client, redis_client):
    manager, admin = sign_in(client), sign_in(client, "state.admin")
    response = client.post(
        LOGOUT, json={"refresh_token": admin["refresh_token"]}, headers=bearer(manager)
    )
    assert response.status_code == 204
    assert refresh(client, admin["refresh_token"]).status_code == 200


def test_logout_needs_a_valid_token(client, redis_client):
    assert client.post(LOGOUT, json={}).status_code == 401
    session = sign_in(client)
    assert client.post(LOGOUT, json={}, headers=bearer(session)).status_code == 204
    again = client.post(LOGOUT, json={}, headers=bearer(session))
    assert again.status_code == 401
    assert again.get_json()["error"] == "token_revoked"


def test_logout_when_redis_is_down_says_so(make_app, caplog):
    client = make_app(redis_url=DEAD_REDIS).test_client()
    session = sign_in(client)
    with caplog.at_level(logging.WARNING):
        response = client.post(
            LOGOUT, json={"refresh_token": session["refresh_token"]}, headers=bearer(session)
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "could not revoke" in caplog.text
    # the refresh token was revoked all the same
    assert refresh(client, session["refresh_token"]).status_code == 401


def test_without_redis_tokens_are_accepted_and_a_warning_is_logged(make_app, caplog):
    """Fail open: a Redis outage does not take the API down (see `authenticate`)."""
    app = make_app(redis_url=DEAD_REDIS)
    app.extensions["cvms_rpc"].cluster.answer("inventory.list_products", [])
    client = app.test_client()
    session = sign_in(client)
    with caplog.at_level(logging.WARNING):
        assert client.get("/api/v1/products", headers=bearer(session)).status_code == 200
    assert "cannot check revoked tokens" in caplog.text


# -- the denylist itself --------------------------------------------------------------------------
def test_the_denylist_keeps_an_id_until_the_token_expires(redis_client, redis_prefix, poll):
    denylist = Denylist(redis_client, redis_prefix)
    now = time.time()
    denylist.revoke("jti-1", int(now) + 1, now)
    assert denylist.is_revoked("jti-1") is True
    assert denylist.is_revoked("jti-2") is False
    poll(lambda: not denylist.is_revoked("jti-1"), timeout=5)


def test_an_already_expired_token_is_still_denied_briefly(redis_client, redis_prefix):
    denylist = Denylist(redis_client, redis_prefix)
    now = time.time()
    denylist.revoke("jti-old", int(now) - 10, now)
    assert denylist.is_revoked("jti-old") is True
    assert redis_client.ttl(f"{redis_prefix}:revoked-token:jti-old") == 1


def test_a_refresh_token_ended_by_logout_is_refused_without_ending_other_sessions(
    client, redis_client
):
    session, other = sign_in(client), sign_in(client)
    client.post(LOGOUT, json={"refresh_token": session["refresh_token"]}, headers=bearer(session))
    assert refresh(client, session["refresh_token"]).status_code == 401
    assert refresh(client, session["refresh_token"]).status_code == 401
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_a_rotated_token_records_its_successor(client, db):
    first = sign_in(client)
    refresh(client, first["refresh_token"])
    old, new = rows(db)
    assert old.replaced_by == new.id
    assert new.replaced_by is None
