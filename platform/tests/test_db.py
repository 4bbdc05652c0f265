import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from marshmallow import Schema, fields
from nameko.exceptions import deserialize, serialize
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import sessionmaker

from cvms_platform import config, metrics, validation
from cvms_platform.db import DatabaseAccess, UtcDateTime, make_engine, ping
from cvms_platform.errors import Conflict, InvalidInput, NotFound, Unprocessable
from cvms_platform.timeutil import as_utc, utcnow

metadata = MetaData()
stamps = Table(
    "stamps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


# -- UtcDateTime ----------------------------------------------------------------------------------
def test_utc_datetime_comes_back_aware_on_sqlite(engine):
    at = datetime(2025, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with engine.begin() as db:
        db.execute(insert(stamps).values(id=1, at=at))
    with engine.connect() as db:
        stored = db.scalar(select(stamps.c.at).where(stamps.c.id == 1))
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == at


def test_utc_datetime_stores_other_offsets_as_utc(engine):
    eastern = datetime(2025, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=-4)))
    with engine.begin() as db:
        db.execute(insert(stamps).values(id=1, at=eastern))
    with engine.connect() as db:
        stored = db.scalar(select(stamps.c.at))
        raw = db.scalar(text("SELECT at FROM stamps"))
    assert stored == eastern
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 12
    assert raw.startswith("2025-05-01 12:00:00")  # what SQLite holds is UTC


def test_utc_datetime_refuses_naive_datetimes(engine):
    with pytest.raises(StatementError) as raised, engine.begin() as db:
        db.execute(insert(stamps).values(id=1, at=datetime(2025, 5, 1, 12, 0)))
    assert isinstance(raised.value.orig, ValueError)
    assert "aware" in str(raised.value.orig)
    with engine.connect() as db:
        assert db.scalar(select(func.count()).select_from(stamps)) == 0


def test_utc_datetime_passes_null_through(engine):
    with engine.begin() as db:
        db.execute(insert(stamps).values(id=1, at=None))
    with engine.connect() as db:
        assert db.scalar(select(stamps.c.at)) is None


def test_utc_datetime_on_postgresql(postgres_url):
    engine = make_engine(postgres_url, pool_size=1)
    try:
        metadata.create_all(engine)
        at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
        with engine.begin() as db:
            db.execute(insert(stamps).values(id=1, at=at))
        with engine.connect() as db:
            stored = db.scalar(select(stamps.c.at))
        assert stored == at
        assert stored.utcoffset() == timedelta(0)
        with pytest.raises(StatementError), engine.begin() as db:
            db.execute(insert(stamps).values(id=2, at=datetime(2025, 1, 1)))
    finally:
        engine.dispose()


def test_as_utc_and_utcnow():
    naive = datetime(2025, 1, 1, 10, 0)
    assert as_utc(naive) == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    aware = datetime(2025, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(aware) is aware
    assert utcnow().tzinfo is UTC


# -- engines and sessions -------------------------------------------------------------------------
def test_sqlite_engine_uses_wal_foreign_keys_and_immediate_transactions(engine):
    with engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    statements = []

    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, *args):
        statements.append(statement)

    with engine.begin() as db:
        db.execute(select(1))
    event.remove(engine, "before_cursor_execute", _record)
    assert statements[0] == "BEGIN IMMEDIATE"
    ping(engine)


def test_sqlite_engine_has_a_single_connection(engine):
    assert engine.pool.size() == 1


def test_database_access_commits_on_success(engine):
    access = DatabaseAccess(engine, sessionmaker(bind=engine))
    with access.transaction() as session:
        session.execute(insert(stamps).values(id=1, at=utcnow()))
    assert access.session is session  # one session per worker, reused
    access.close()
    with engine.connect() as db:
        assert db.scalar(select(func.count()).select_from(stamps)) == 1


def test_database_access_rolls_back_on_error(engine):
    access = DatabaseAccess(engine, sessionmaker(bind=engine))
    with pytest.raises(RuntimeError), access.transaction() as session:
        session.execute(insert(stamps).values(id=1, at=utcnow()))
        raise RuntimeError("handler failed")
    # the session is usable again afterwards
    with access.transaction() as session:
        session.execute(insert(stamps).values(id=2, at=utcnow()))
    access.close()
    access.close()  # closing twice is harmless
    with engine.connect() as db:
        assert db.scalars(select(stamps.c.id)).all() == [2]


def test_database_access_opens_its_session_lazily(engine):
    opened = []

    def make_session():
        opened.append(True)
        return sessionmaker(bind=engine)()

    access = DatabaseAccess(engine, make_session)
    assert opened == []
    access.close()
    assert opened == []
    assert access.session is access.session
    assert opened == [True]
    access.close()


# -- config ---------------------------------------------------------------------------------------
def test_database_url_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INVENTORY_DATABASE_URL", "postgresql+psycopg://db/inventory")
    assert config.database_url("inventory") == "postgresql+psycopg://db/inventory"
    monkeypatch.delenv("INVENTORY_DATABASE_URL")
    monkeypatch.setenv("CVMS_DATA_DIR", str(tmp_path / "data"))
    assert config.database_url("inventory") == f"sqlite:///{tmp_path / 'data' / 'inventory.db'}"
    assert Path(tmp_path / "data").is_dir()


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://u:p@broker:5672/x")
    monkeypatch.setenv("CVMS_MAX_WORKERS", "7")
    monkeypatch.setenv("INVENTORY_HTTP_ADDRESS", "0.0.0.0:9000")
    monkeypatch.setenv("SOME_FLOAT", "0.25")
    assert config.amqp_uri() == "amqp://u:p@broker:5672/x"
    assert config.float_setting("SOME_FLOAT", 1.0) == 0.25
    assert config.int_setting("NOT_SET_ANYWHERE_X", 3) == 3
    assert config.nameko_config("inventory", 8001) == {
        "AMQP_URI": "amqp://u:p@broker:5672/x",
        "WEB_SERVER_ADDRESS": "0.0.0.0:9000",
        "max_workers": 7,
        "serializer": "json",
    }
    monkeypatch.delenv("AMQP_URI")
    assert config.amqp_uri() == config.DEFAULT_AMQP_URI


# -- errors that cross the RPC boundary -----------------------------------------------------------
@pytest.mark.parametrize(
    "error",
    [
        InvalidInput({"doses": ["Must be at least 1."], "lot": {"number": ["Bad."]}}),
        Unprocessable({"lot_id": ["This lot expired on 2024-01-01."]}),
        NotFound("Lot 123 not found."),
        Conflict("Already resolved."),
    ],
    ids=type,
)
def test_errors_survive_nameko_serialization_as_themselves(error):
    over_the_wire = json.loads(json.dumps(serialize(error)))
    back = deserialize(over_the_wire)
    assert type(back) is type(error)
    assert back.args == error.args
    if hasattr(error, "errors"):
        assert back.errors == error.errors


# -- validation -----------------------------------------------------------------------------------
class Sample(Schema):
    name = fields.Str(required=True)
    count = fields.Int(strict=True)


def test_validation_load_returns_the_loaded_data():
    assert validation.load(Sample(), {"name": "x", "count": 2}) == {"name": "x", "count": 2}


def test_validation_load_turns_errors_into_invalid_input():
    with pytest.raises(InvalidInput) as raised:
        validation.load(Sample(), {"count": "2", "extra": 1})
    assert set(raised.value.errors) == {"name", "count", "extra"}


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_validation_load_refuses_a_non_object(data):
    with pytest.raises(InvalidInput) as raised:
        validation.load(Sample(), data)
    assert raised.value.errors == {"_schema": ["Expected a JSON object."]}


def test_validation_load_accepts_a_list_for_a_many_schema():
    assert validation.load(Sample(many=True), [{"name": "a"}]) == [{"name": "a"}]


# -- metrics --------------------------------------------------------------------------------------
def test_entrypoint_kind_by_class_hierarchy():
    from nameko.events import EventHandler
    from nameko.rpc import Rpc
    from nameko.timer import Timer
    from nameko.web.handlers import HttpRequestHandler

    from cvms_platform.consumer import ReliableEventHandler

    assert metrics.entrypoint_kind(Rpc.__new__(Rpc)) == "rpc"
    assert metrics.entrypoint_kind(EventHandler.__new__(EventHandler)) == "event"
    assert metrics.entrypoint_kind(ReliableEventHandler.__new__(ReliableEventHandler)) == "event"
    assert metrics.entrypoint_kind(Timer.__new__(Timer)) == "timer"
    assert metrics.entrypoint_kind(HttpRequestHandler.__new__(HttpRequestHandler)) == "http"

    class Custom:
        pass

    assert metrics.entrypoint_kind(Custom()) == "custom"
