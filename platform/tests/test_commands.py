"""The platform's commands: cvms-migrate, cvms-service's class lookup and cvms-preflight."""

import pytest
from sqlalchemy import inspect

from cvms_platform import migrate, preflight, runner
from cvms_platform.db import make_engine


def test_cvms_migrate_upgrades_each_named_service(monkeypatch, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    monkeypatch.setenv("INVENTORY_DATABASE_URL", url)
    migrate.main(["inventory"])
    assert "inventory: migrated and seeded" in capsys.readouterr().out
    engine = make_engine(url)
    try:
        assert {"outbox", "inbox", "alembic_version"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_never_prints_database_credentials(monkeypatch, tmp_path, capsys):
    # Only the part after the credentials is shown; an SQLite URL has none to hide.
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'inv.db'}")
    migrate.main(["inventory"])
    assert str(tmp_path) in capsys.readouterr().out


def test_the_service_class_of_a_package():
    assert runner.service_class_path("inventory") == "inventory.service:InventoryService"


def test_preflight_passes_with_a_reachable_broker(monkeypatch, amqp_uri):
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    preflight.main()  # returns without exiting


def test_preflight_names_an_unreachable_broker_without_credentials(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", "amqp://secret-user:secret-pass@127.0.0.1:1/")
    with pytest.raises(SystemExit) as raised:
        preflight.main()
    assert raised.value.code == 1
    err = capsys.readouterr().err
    assert "RabbitMQ is not reachable at 127.0.0.1:1/" in err
    assert "secret" not in err
