"""Identity's /ready: its database and the broker (the gateway's readiness no longer checks a
database of its own)."""

import json

from nameko.testing.services import worker_factory
from sqlalchemy.orm import sessionmaker

from cvms_platform.db import DatabaseAccess, make_engine
from identity.service import IdentityService

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def test_ready_reports_an_unreachable_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'identity.db'}", pool_size=1)
    access = DatabaseAccess(engine, sessionmaker(bind=engine))
    service = worker_factory(IdentityService, db=access, config={"AMQP_URI": DEAD_BROKER})
    response = service.ready(None)
    assert response.status_code == 503
    body = json.loads(response.get_data())
    assert body["database"] == "OperationalError"
    assert body["broker"] != "ok"
    engine.dispose()


def test_ready_with_its_database_answers_for_the_database(service):
    service.config = {"AMQP_URI": DEAD_BROKER}
    body = json.loads(service.ready(None).get_data())
    assert body["database"] == "ok"
