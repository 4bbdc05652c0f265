"""The migrations build exactly the models' schema, with the default team, and come down
cleanly."""

from sqlalchemy import text

from cvms_platform.testing import migrations_checked
from helpdesk.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    with migrations_checked("helpdesk", Base.metadata, tmp_path) as connection:
        teams = connection.execute(text("SELECT id, is_default FROM teams")).all()
        assert [tuple(row) for row in teams] == [("general", 1)]
