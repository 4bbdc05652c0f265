"""The migrations build exactly the models' schema (constraints the booking relies on
included), and come down cleanly."""

from sqlalchemy import inspect

from cvms_platform.testing import migrations_checked
from scheduling.models import Base


def test_the_migrations_match_the_models_and_downgrade(tmp_path):
    with migrations_checked("scheduling", Base.metadata, tmp_path) as connection:
        checks = {c["name"] for c in inspect(connection).get_check_constraints("slots")}
        assert "ck_slots_not_overbooked" in checks
        indexes = {i["name"]: i for i in inspect(connection).get_indexes("appointments")}
        assert indexes["uq_appointments_active_person_dose"]["unique"]
