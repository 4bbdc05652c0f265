"""The migrations build exactly the models' schema, and come down cleanly."""

from sqlalchemy import inspect

from cvms_platform.testing import migrations_checked
from marketplace.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    with migrations_checked("marketplace", Base.metadata, tmp_path) as connection:
        assert {"offers", "claims", "outbox", "inbox"} <= set(inspect(connection).get_table_names())
