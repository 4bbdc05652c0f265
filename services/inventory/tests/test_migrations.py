"""Revision 0002 upgrades a database already in use: existing lots become usable."""

from alembic import command
from sqlalchemy import inspect, text

from cvms_platform.testing import migrated_to

LOT = {
    "id": "11111111-1111-1111-1111-111111111111",
    "location_id": "clinic-1",
    "shipment_id": "SHIP-OLD",
    "product_id": "pfizer-gray-12plus",
    "lot_number": "OLD-1",
    "expiration_date": "2030-01-31",
    "doses_received": 6,
    "doses_on_hand": 6,
    "received_at": "2025-01-01 00:00:00.000000",
    "updated_at": "2025-01-01 00:00:00.000000",
}


def test_0002_keeps_existing_lots_and_makes_them_usable(tmp_path):
    config, engine = migrated_to("inventory", tmp_path, "0001")
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO products VALUES ('pfizer-gray-12plus', 'Gray', 'gray', 'Pfizer', "
                "'PFR', '217', '1', '2', 6, 0.3, 12, 2, 21, -90, -60, 12)"
            )
        )
        db.execute(
            text(
                "INSERT INTO lots (id, location_id, shipment_id, product_id, lot_number, "
                "expiration_date, doses_received, doses_on_hand, received_at, updated_at) "
                "VALUES (:id, :location_id, :shipment_id, :product_id, :lot_number, "
                ":expiration_date, :doses_received, :doses_on_hand, :received_at, :updated_at)"
            ),
            LOT,
        )

    command.upgrade(config, "head")

    with engine.connect() as db:
        row = db.execute(text("SELECT status, excursion_id, expiring_notified_at FROM lots")).one()
    assert tuple(row) == ("usable", None, None)
    columns = {c["name"] for c in inspect(engine).get_columns("ledger_entries")}
    assert "wastage_reason" in columns
    assert "excursions" in inspect(engine).get_table_names()

    command.downgrade(config, "0001")

    assert "excursions" not in inspect(engine).get_table_names()
    assert "status" not in {c["name"] for c in inspect(engine).get_columns("lots")}
    with engine.connect() as db:
        assert db.execute(text("SELECT doses_on_hand FROM lots")).scalar() == 6
    engine.dispose()
