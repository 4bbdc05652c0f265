"""The migrations (the gateway's until identity had a service of its own, revision for revision)
build exactly the models' schema, and come down cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from cvms_platform import tables
from cvms_platform.migrate import alembic_config
from identity.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    config = alembic_config("identity", url)
    command.upgrade(config, "head")
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, [Base.metadata, tables.metadata])
        # The platform's messaging tables carry indexes its metadata does not declare.
        assert [d for d in differences if "outbox" not in str(d) and "inbox" not in str(d)] == []
        assert {"users", "organizations", "locations", "refresh_tokens", "enrollments"} <= set(
            inspect(connection).get_table_names()
        )

    command.downgrade(config, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    engine.dispose()
