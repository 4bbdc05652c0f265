"""Passwords: argon2, salted, and refused for a missing, inactive or corrupt user."""

from identity.models import User
from identity.passwords import hash_password, verify_password


def make_user(**overrides) -> User:
    values = {
        "id": "u-1",
        "username": "someone",
        "password_hash": hash_password("a good password"),
        "role": "vaccinator",
        "location_ids": ["b-clinic", "a-clinic"],
        "active": True,
    }
    values.update(overrides)
    return User(**values)


def test_passwords_are_hashed_with_argon2_and_salted():
    first, second = hash_password("a good password"), hash_password("a good password")
    assert first.startswith("$argon2")
    assert first != second


def test_verify_password():
    user = make_user()
    assert verify_password(user, "a good password") is True
    assert verify_password(user, "a bad password") is False
    assert verify_password(user, "") is False


def test_verify_password_for_no_user_or_an_inactive_one():
    assert verify_password(None, "not a real password") is False  # even the dummy's password
    assert verify_password(make_user(active=False), "a good password") is False


def test_verify_password_with_a_corrupt_hash():
    assert verify_password(make_user(password_hash="not-a-hash"), "a good password") is False
