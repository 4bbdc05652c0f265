"""The migrations build exactly the models' schema (one delivery per event, person and channel
included), and come down cleanly."""

from sqlalchemy import inspect

from cvms_platform.testing import migrations_checked
from notifications.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    with migrations_checked("notifications", Base.metadata, tmp_path) as connection:
        unique = inspect(connection).get_unique_constraints("deliveries")
        assert {"name": "uq_deliveries_event_person"} in [{"name": u["name"]} for u in unique]
