"""Fixtures for the cross-service tests: one running CVMS for the whole session."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.harness import Api, AuthorizedApi, Cluster, Infrastructure, TestRun, wait_until

DEMO_LOCATION = "demo-clinic"
STATE_ADMIN = ("state.admin", "demo-state-admin")
MANAGER = ("clinic.manager", "demo-clinic-manager")
VACCINATOR = ("clinic.vaccinator", "demo-vaccinator")
ORG_ADMIN = ("org.admin", "demo-org-admin")  # of demo-org, which owns demo-clinic
HELPDESK = ("helpdesk.agent", "demo-helpdesk")


@pytest.fixture(scope="session")
def cluster():
    infra = Infrastructure.find()
    run = TestRun(infra)
    run.create()
    cluster = Cluster(run)
    try:
        cluster.migrate()
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop_all()
        run.remove()
        cluster.cleanup()
        infra.stop()


@pytest.fixture(scope="session")
def api(cluster) -> Api:
    return Api(cluster.gateway_url)


@pytest.fixture(scope="session")
def admin(api):
    return api.as_user(*STATE_ADMIN)


@pytest.fixture(scope="session")
def manager(api):
    return api.as_user(*MANAGER)


@pytest.fixture(scope="session")
def vaccinator(api):
    return api.as_user(*VACCINATOR)


@pytest.fixture(scope="session")
def org_admin(api):
    return api.as_user(*ORG_ADMIN)


@pytest.fixture(scope="session")
def helpdesk(api):
    return api.as_user(*HELPDESK)


@pytest.fixture
def location(cluster) -> str:
    """A fresh location of this run, so tests do not share stock."""
    return new_location(cluster, "Test location")


def new_location(cluster, name: str) -> str:
    """A location of this run registered with identity (as an operator would); its id."""
    from cvms_platform.timeutil import utcnow
    from identity.models import Location

    location_id = f"loc-{uuid.uuid4().hex[:12]}"
    engine = create_engine(cluster.run.database_url("identity"))
    with Session(engine) as session, session.begin():
        session.add(Location(id=location_id, name=name, created_at=utcnow()))
    engine.dispose()
    return location_id


@pytest.fixture
def inventory_db(cluster):
    """Read access to inventory's database, for assertions the API does not expose."""
    engine = create_engine(cluster.run.database_url("inventory"))
    yield engine
    engine.dispose()


def wait_for_stock(
    api: AuthorizedApi, location: str, doses_on_hand: dict[str, int], *, what: str
) -> None:
    """Wait until each lot at `location` holds the doses `doses_on_hand` gives ({lot id: n})."""
    wait_until(
        lambda: {lot: api.doses_on_hand(location, lot) for lot in doses_on_hand} == doses_on_hand,
        what=what,
    )


def receive_lot(api: AuthorizedApi, location: str, doses: int, **shipment: Any) -> dict:
    """A new lot received at `location`: Pfizer expiring 2030-12-31 unless `shipment` says
    otherwise (expiration_date, product_id, storage_unit, ...)."""
    response = api.post(
        f"/locations/{location}/lots",
        json={
            "shipment_id": f"SHP-{uuid.uuid4().hex[:10]}",
            "product_id": "pfizer-gray-12plus",
            "lot_number": f"LOT-{uuid.uuid4().hex[:6].upper()}",
            "expiration_date": "2030-12-31",
            "doses": doses,
            **shipment,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()
