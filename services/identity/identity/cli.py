"""`cvms-identity`: operator commands on identity's database, for where no one can sign in yet
(the first state admin) or a location must exist before enrollment is in use."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.orm import Session

from cvms_platform import config
from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.codes import ROLES
from cvms_platform.db import make_engine
from cvms_platform.timeutil import utcnow
from identity.accounts import active_user, username_taken
from identity.models import Location, Organization

MIN_PASSWORD = 12


def _read_password(given: str | None) -> str:
    password = given or getpass.getpass("Password: ")
    if len(password) < MIN_PASSWORD:
        sys.exit(f"error: a password needs at least {MIN_PASSWORD} characters")
    if given is None and getpass.getpass("Again: ") != password:
        sys.exit("error: the passwords differ")
    return password


def create_user(
    username: str,
    password: str,
    role: str,
    locations: list[str],
    *,
    organization_id: str | None = None,
    recipient_id: str | None = None,
) -> None:
    if role not in ROLES:
        sys.exit(f"error: role must be one of {', '.join(ROLES)}")
    if (role == "recipient") != (recipient_id is not None):
        sys.exit("error: a recipient account, and only one, names its --recipient-id")
    if role == "org_admin" and organization_id is None:
        sys.exit("error: an organization admin names its --organization")
    if role == "partner":
        sys.exit("error: partner systems use API keys (POST /organizations/{id}/api-keys)")
    engine = make_engine(config.database_url("identity"), pool_size=1)
    with Session(engine) as session, session.begin():
        if username_taken(session, username):
            sys.exit(f"error: user {username!r} exists already")
        if organization_id and session.get(Organization, organization_id) is None:
            sys.exit(f"error: unknown organization {organization_id!r}")
        missing = [loc for loc in locations if session.get(Location, loc) is None]
        if missing:
            sys.exit(f"error: unknown locations: {', '.join(missing)}")
        session.add(
            active_user(
                username,
                password,
                role,
                locations=locations,
                at=utcnow(),
                organization_id=organization_id,
                recipient_id=recipient_id,
            )
        )
    print(f"created {role} {username}")


def create_location(location_id: str, name: str) -> None:
    try:
        LOCATION_ID(location_id)
    except Exception:  # noqa: BLE001 - marshmallow's ValidationError
        sys.exit("error: a location id is letters, digits, '-' and '_' (up to 64)")
    engine = make_engine(config.database_url("identity"), pool_size=1)
    with Session(engine) as session, session.begin():
        if session.get(Location, location_id) is not None:
            sys.exit(f"error: location {location_id!r} exists already")
        session.add(Location(id=location_id, name=name, created_at=utcnow()))
    print(f"created location {location_id}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="cvms-identity", description="CVMS identity's operator commands."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create a state admin (the first user)")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", help="omit to be prompted (recommended)")
    user = commands.add_parser("create-user", help="create a user with a role and locations")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--location", action="append", default=[], dest="locations")
    user.add_argument("--organization", dest="organization_id")
    user.add_argument("--recipient-id", dest="recipient_id")
    user.add_argument("--password")
    location = commands.add_parser("create-location", help="register a location")
    location.add_argument("--id", required=True)
    location.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    if args.command == "create-admin":
        create_user(args.username, _read_password(args.password), "state_admin", [])
    elif args.command == "create-user":
        create_user(
            args.username,
            _read_password(args.password),
            args.role,
            args.locations,
            organization_id=args.organization_id,
            recipient_id=args.recipient_id,
        )
    else:
        create_location(args.id, args.name)
