"""Revisions 0004-0008 (open vials, administration doses, stock thresholds, transfers, catalog
edits, form rows) upgrade a database in use and come down again."""

from alembic import command
from sqlalchemy import create_engine, inspect, text

from cvms_platform.migrate import alembic_config
from inventory import seed


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_0004_to_0008_go_up_and_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    config = alembic_config("inventory", url)
    engine = create_engine(url)
    command.upgrade(config, "0003")
    at_0003 = tables(engine)

    command.upgrade(config, "head")
    added = {
        "open_vials",
        "administration_doses",
        "stock_thresholds",
        "stock_low_notices",
        "transfers",
        "form_rows",
    }
    assert added <= tables(engine)
    product_columns = {c["name"] for c in inspect(engine).get_columns("products")}
    assert {"active", "edited_at", "edited_by"} <= product_columns

    command.downgrade(config, "0003")
    assert tables(engine) == at_0003
    command.upgrade(config, "head")
    assert added <= tables(engine)
    engine.dispose()


def test_seeded_products_are_active(tmp_path):
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    command.upgrade(alembic_config("inventory", url), "head")
    engine = create_engine(url)
    seed.run(engine)

    with engine.connect() as db:
        inactive = db.execute(text("SELECT count(*) FROM products WHERE NOT active")).scalar()
        total = db.execute(text("SELECT count(*) FROM products")).scalar()
    assert (inactive, total) == (0, len(seed.catalog()))
    engine.dispose()
