"""The audit log through the running system: reading a recipient's record and changing
inventory are recorded, searchable by state admins, and PostgreSQL refuses to change them."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError


def test_reads_and_changes_are_searchable_and_the_log_cannot_be_rewritten(
    admin, manager, location, cluster
):
    recipient = manager.register_recipient()
    assert manager.get(f"/recipients/{recipient['id']}").status_code == 200

    events = admin.get(f"/audit-events?recipient_id={recipient['id']}").json()["events"]
    routes = [(e["method"], e["route"], e["action"], e["status"]) for e in events]
    assert ("GET", "/api/v1/recipients/<recipient_id>", "read", 200) in routes
    assert ("POST", "/api/v1/recipients", "change", 201) in routes
    assert all(e["role"] == "location_manager" and e["ip"] == "127.0.0.1" for e in events)

    lot = admin.receive_lot(location, 10)
    changes = admin.get(f"/audit-events?location_id={location}").json()["events"]
    assert [(e["action"], e["lot_id"] or e["object_ids"].get("created_id")) for e in changes] == [
        ("change", lot["id"])
    ]

    engine = create_engine(cluster.run.database_url("identity"))
    try:
        for statement in ("UPDATE audit_events SET status = 200", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as db:
                db.execute(text(statement))
        with engine.connect() as db:
            assert db.execute(text("SELECT count(*) FROM audit_events")).scalar() >= 3
    finally:
        engine.dispose()
