"""Tokens, principals, the directory and settings, below the HTTP layer (passwords are
identity's: services/identity/tests/test_passwords.py)."""

import os
import stat
from datetime import UTC, datetime

import jwt
import pytest

from gateway import settings as settings_module
from gateway.security import (
    ALGORITHM,
    ISSUER,
    Principal,
    issue_token,
    read_token,
)
from gateway.settings import Settings
from identity.models import User

SECRET = "unit-test-secret-" * 4  # 68 bytes: long enough even for HS512


def make_user(**overrides):
    values = {
        "id": "u-1",
        "username": "someone",
        "password_hash": "not used by tokens",
        "role": "vaccinator",
        "location_ids": ["b-clinic", "a-clinic"],
        "active": True,
    }
    values.update(overrides)
    return User(**values)


# -- tokens ---------------------------------------------------------------------------------------
def test_issue_and_read_a_token():
    token = issue_token(make_user(), SECRET, 600)
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM], issuer=ISSUER)
    assert claims["sub"] == "u-1"
    assert claims["locations"] == ["a-clinic", "b-clinic"]
    assert claims["exp"] - claims["iat"] == 600
    assert claims["jti"]
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 5

    principal = read_token(token, SECRET)
    assert principal == Principal(
        user_id="u-1",
        username="someone",
        role="vaccinator",
        location_ids=frozenset({"a-clinic", "b-clinic"}),
    )


def test_two_tokens_for_one_user_differ():
    user = make_user()
    assert issue_token(user, SECRET, 60) != issue_token(user, SECRET, 60)


def test_a_token_for_a_user_without_locations():
    principal = read_token(issue_token(make_user(location_ids=None), SECRET, 60), SECRET)
    assert principal.location_ids == frozenset()


def test_read_token_refuses_expired_and_foreign_tokens():
    with pytest.raises(jwt.ExpiredSignatureError):
        read_token(issue_token(make_user(), SECRET, -1), SECRET)
    with pytest.raises(jwt.InvalidSignatureError):
        read_token(issue_token(make_user(), SECRET, 60), SECRET + "x")
    other_algorithm = jwt.encode({"sub": "x"}, SECRET, algorithm="HS512")
    with pytest.raises(jwt.InvalidAlgorithmError):
        read_token(other_algorithm, SECRET)


@pytest.mark.parametrize(
    ("role", "locations", "location", "allowed"),
    [
        ("state_admin", [], "anywhere", True),
        ("location_manager", ["a"], "a", True),
        ("location_manager", ["a"], "b", False),
        ("vaccinator", ["a", "b"], "b", True),
        ("vaccinator", [], "a", False),
    ],
)
def test_may_act_for(role, locations, location, allowed):
    principal = Principal("u", "n", role, frozenset(locations))
    assert principal.may_act_for(location) is allowed


# -- the directory --------------------------------------------------------------------------------
def test_the_directory_remembers_known_locations_and_asks_again_after_a_miss(app, directory_db):
    directory = app.extensions["cvms_directory"]
    with app.test_request_context():
        assert directory.exists("demo-clinic") is True
        assert directory.exists("later-clinic") is False  # a miss is not remembered
        directory_db.add_location("later-clinic")
        assert directory.exists("later-clinic") is True


# -- settings -------------------------------------------------------------------------------------
def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://u:p@rabbit:5672/")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("CVMS_JWT_SECRET", "from-the-environment")
    monkeypatch.setenv("CVMS_TOKEN_TTL_SECONDS", "900")
    monkeypatch.setenv("CVMS_RPC_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("CVMS_RPC_POOL_SIZE", "8")
    assert Settings.from_env() == Settings(
        amqp_uri="amqp://u:p@rabbit:5672/",
        redis_url="redis://cache:6379/2",
        jwt_secret="from-the-environment",
        token_ttl_seconds=900,
        rpc_timeout_seconds=2.5,
        rpc_pool_size=8,
    )


def test_without_a_configured_secret_one_is_generated_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("CVMS_JWT_SECRET", raising=False)
    monkeypatch.setenv("CVMS_DATA_DIR", str(tmp_path))

    first = settings_module._jwt_secret()
    second = settings_module._jwt_secret()

    assert first == second
    assert len(first) >= 48
    path = tmp_path / "jwt-secret"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]  # no drafts left behind


def test_a_kept_secret_is_read_back(monkeypatch, tmp_path):
    monkeypatch.delenv("CVMS_JWT_SECRET", raising=False)
    monkeypatch.setenv("CVMS_DATA_DIR", str(tmp_path))
    (tmp_path / "jwt-secret").write_text("written-by-another-worker\n")
    assert settings_module._jwt_secret() == "written-by-another-worker"
