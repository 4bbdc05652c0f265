"""`cvms-migrate SERVICE...`: bring each service's own database to its latest Alembic revision,
then load its reference data (and, with --demo, its demo data).

A service package keeps its migrations in `<package>/migrations` and may offer
`<package>.seed.run(engine, demo: bool)`, which must be idempotent.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging

from alembic import command, context
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData

from cvms_platform import config, tables
from cvms_platform.db import make_engine


def alembic_config(service: str, url: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", f"{service}:migrations")
    cfg.set_main_option("sqlalchemy.url", url or config.database_url(service))
    return cfg


def upgrade(service: str, *, url: str | None = None, demo: bool = False) -> None:
    url = url or config.database_url(service)
    command.upgrade(alembic_config(service, url), "head")
    if importlib.util.find_spec(f"{service}.seed") is not None:
        engine = make_engine(url, pool_size=1)
        try:
            importlib.import_module(f"{service}.seed").run(engine, demo=demo)
        finally:
            engine.dispose()


def run_alembic_env(service_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=[service_metadata, tables.metadata],
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Migrate and seed CVMS service databases.")
    parser.add_argument("services", nargs="+")
    parser.add_argument("--demo", action="store_true", help="also load demo data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for service in args.services:
        upgrade(service, demo=args.demo)
        print(f"{service}: migrated and seeded ({config.database_url(service).split('@')[-1]})")
