"""Identity unit-test fixtures: a freshly migrated SQLite database per test (with the demo users
and location), and the service built on it with nameko's `worker_factory`."""

# nameko's containers need green sockets, as under `cvms-service`: patch before anything else.
import cvms_platform.green  # noqa: F401

# isort: split
from collections.abc import Iterator

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import sessionmaker

from cvms_platform.db import DatabaseAccess, make_engine
from cvms_platform.testing import Reader, identity_demo_fixtures
from identity.service import IdentityService

DEMO_PASSWORDS = {
    "state.admin": "demo-state-admin",
    "clinic.manager": "demo-clinic-manager",
    "org.admin": "demo-org-admin",
    "helpdesk.agent": "demo-helpdesk",
}


template_db, db_url = identity_demo_fixtures()


@pytest.fixture
def db(db_url) -> Iterator[DatabaseAccess]:
    engine = make_engine(db_url, pool_size=1)
    access = DatabaseAccess(engine, sessionmaker(bind=engine, expire_on_commit=False))
    yield access
    access.close()
    engine.dispose()


@pytest.fixture
def service(db) -> IdentityService:
    return worker_factory(IdentityService, db=db, correlation_id="request-1")


@pytest.fixture
def reader(db) -> Reader:
    return Reader(db)
