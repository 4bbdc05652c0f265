"""`cvms-identity` operator commands against a migrated identity database."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.db import make_engine
from identity import cli
from identity.models import Location, User
from identity.passwords import verify_password

PASSWORD = "correct horse battery"


@pytest.fixture
def identity_db(db_url, monkeypatch):
    monkeypatch.setenv("IDENTITY_DATABASE_URL", db_url)
    engine = make_engine(db_url, pool_size=1)
    yield engine
    engine.dispose()


def user(engine, username):
    with Session(engine) as session:
        return session.scalar(select(User).where(User.username == username))


def location(engine, location_id):
    with Session(engine) as session:
        return session.get(Location, location_id)


def test_create_admin(identity_db, capsys):
    cli.main(["create-admin", "--username", "ops.admin", "--password", PASSWORD])

    created = user(identity_db, "ops.admin")
    assert created.role == "state_admin"
    assert created.location_ids == []
    assert created.active is True
    assert created.created_at.tzinfo is not None
    assert created.password_hash != PASSWORD
    assert verify_password(created, PASSWORD)
    assert not verify_password(created, "wrong password!!")
    assert capsys.readouterr().out.strip() == "created state_admin ops.admin"


def test_create_location_then_a_user_for_it(identity_db, capsys):
    cli.main(["create-location", "--id", "north-clinic_2", "--name", "North Clinic"])
    assert location(identity_db, "north-clinic_2").name == "North Clinic"

    cli.main(
        [
            "create-user",
            "--username",
            "north.vaccinator",
            "--role",
            "vaccinator",
            "--location",
            "north-clinic_2",
            "--location",
            "demo-clinic",
            "--password",
            PASSWORD,
        ]
    )
    created = user(identity_db, "north.vaccinator")
    assert created.role == "vaccinator"
    assert created.location_ids == ["north-clinic_2", "demo-clinic"]
    assert capsys.readouterr().out.splitlines() == [
        "created location north-clinic_2",
        "created vaccinator north.vaccinator",
    ]


def test_a_user_created_by_the_cli_can_sign_in(identity_db, service):
    cli.main(
        [
            "create-user",
            "--username",
            "new.manager",
            "--role",
            "location_manager",
            "--location",
            "demo-clinic",
            "--password",
            PASSWORD,
        ]
    )
    signed_in = service.sign_in({"username": "new.manager", "password": PASSWORD})
    assert signed_in is not None
    assert signed_in["user"]["location_ids"] == ["demo-clinic"]


def test_an_existing_username_is_refused(identity_db):
    with pytest.raises(SystemExit, match="user 'state.admin' exists already"):
        cli.main(["create-admin", "--username", "state.admin", "--password", PASSWORD])


def test_an_unknown_location_is_refused(identity_db):
    with pytest.raises(SystemExit, match="unknown locations: nowhere"):
        cli.main(
            [
                "create-user",
                "--username",
                "lost.manager",
                "--role",
                "location_manager",
                "--location",
                "nowhere",
                "--password",
                PASSWORD,
            ]
        )
    assert user(identity_db, "lost.manager") is None


def test_an_unknown_role_is_refused(identity_db, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(
            ["create-user", "--username", "x.y", "--role", "superuser", "--password", PASSWORD]
        )
    assert raised.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="role must be one of"):
        cli.create_user("x.y", PASSWORD, "superuser", [])


def test_a_short_password_is_refused(identity_db):
    with pytest.raises(SystemExit, match="at least 12 characters"):
        cli.main(["create-admin", "--username", "ops.admin", "--password", "short"])
    assert user(identity_db, "ops.admin") is None


def test_the_password_is_prompted_for_twice(identity_db, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    cli.main(["create-admin", "--username", "prompted.admin"])
    assert verify_password(user(identity_db, "prompted.admin"), PASSWORD)


def test_differing_prompted_passwords_are_refused(identity_db, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(SystemExit, match="passwords differ"):
        cli.main(["create-admin", "--username", "prompted.admin"])
    assert user(identity_db, "prompted.admin") is None


def test_an_existing_location_is_refused(identity_db):
    with pytest.raises(SystemExit, match="location 'demo-clinic' exists already"):
        cli.main(["create-location", "--id", "demo-clinic", "--name", "Again"])


@pytest.mark.parametrize("bad_id", ["has space", "_leading", "x" * 65, "semi;colon", ""])
def test_a_bad_location_id_is_refused(identity_db, bad_id):
    with pytest.raises(SystemExit, match="a location id is letters"):
        cli.main(["create-location", "--id", bad_id, "--name", "Bad"])


def test_a_command_is_required(identity_db):
    with pytest.raises(SystemExit) as raised:
        cli.main([])
    assert raised.value.code == 2


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--role", "org_admin"], "names its --organization"),
        (["--role", "org_admin", "--organization", "no-such-org"], "unknown organization"),
        (["--role", "partner", "--organization", "demo-org"], "API keys"),
    ],
)
def test_the_cli_refuses_organization_roles_without_an_organization(
    db_url, monkeypatch, arguments, error
):
    monkeypatch.setenv("IDENTITY_DATABASE_URL", db_url)
    command = ["create-user", "--username", "ops.org", "--password", PASSWORD, *arguments]
    with pytest.raises(SystemExit, match=error):
        cli.main(command)


def test_the_cli_creates_an_org_admin_of_an_existing_organization(db_url, monkeypatch):
    monkeypatch.setenv("IDENTITY_DATABASE_URL", db_url)
    cli.main(
        ["create-user", "--username", "ops.org", "--password", PASSWORD]
        + ["--role", "org_admin", "--organization", "demo-org"]
    )
