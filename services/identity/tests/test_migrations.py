"""The migrations (the gateway's until identity had a service of its own, revision for revision)
build exactly the models' schema, and come down cleanly."""

from sqlalchemy import inspect

from cvms_platform.testing import migrations_checked
from identity.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    with migrations_checked("identity", Base.metadata, tmp_path) as connection:
        assert {"users", "organizations", "locations", "refresh_tokens", "enrollments"} <= set(
            inspect(connection).get_table_names()
        )
