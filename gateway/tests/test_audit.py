"""The audit log: which routes are audited (decided from their paths), what an event holds,
and searching it."""

import re

import pytest
from sqlalchemy import select

from cvms_platform.errors import NotFound
from gateway.audit import CHANGE, READ, classify
from gateway.security import issue_token
from identity.models import AuditEvent

SPEC_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.mark.parametrize(
    ("method", "route", "action"),
    [
        ("GET", "/api/v1/recipients/<recipient_id>", READ),
        ("POST", "/api/v1/recipients", CHANGE),
        ("GET", "/api/v1/recipients/{recipient_id}/fhir", READ),
        ("GET", "/api/v1/me/administrations", READ),
        ("POST", "/api/v1/me/claim", CHANGE),
        ("POST", "/api/v1/administrations", CHANGE),
        ("GET", "/api/v1/administrations/<administration_id>", READ),
        ("POST", "/api/v1/locations/<location_id>/lots", CHANGE),
        ("POST", "/api/v1/locations/<location_id>/transfers", CHANGE),
        ("POST", "/api/v1/transfers/<transfer_id>/receive", CHANGE),
        ("POST", "/api/v1/imports/administrations", CHANGE),
        ("GET", "/api/v1/locations/{location_id}/administrations/hl7", READ),
        ("GET", "/api/v1/locations/{location_id}/appointments/{appointment_id}", READ),
        ("GET", "/api/v1/locations/{location_id}/administration-imports/{import_id}", READ),
        ("POST", "/api/v1/recipient-accounts", CHANGE),
        ("PATCH", "/api/v1/products/{product_id}", CHANGE),
        ("GET", "/api/v1/locations/<location_id>/inventory", None),
        ("GET", "/api/v1/products", None),
        ("GET", "/api/v1/metrics-like", None),  # /me is a path segment, not a prefix of words
        ("GET", "/api/v1/public/appointments/{code}", None),
        ("POST", "/api/v1/auth/token", None),
        ("GET", "/api/v1/users/{user_id}", None),
    ],
)
def test_what_is_audited_follows_from_the_route(method, route, action):
    assert classify(method, route) == action


def audited_rows(app):
    with app.extensions["cvms_sessions"]() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_reading_a_recipient_records_who_when_where_and_what(app, client, login, rpc):
    rpc.answer("administration.get_recipient", {"id": "r-1", "first_name": "Secret"})
    headers = login("clinic.vaccinator")
    assert client.get("/api/v1/recipients/r-1", headers=headers).status_code == 200
    [event] = audited_rows(app)
    vaccinator = app.extensions["test_identity"].user_by_name("clinic.vaccinator")
    assert (event.actor_id, event.actor_type, event.role) == (vaccinator.id, "user", "vaccinator")
    assert (event.method, event.route, event.action) == (
        "GET",
        "/api/v1/recipients/<recipient_id>",
        "read",
    )
    assert (event.recipient_id, event.status, event.ip) == ("r-1", 200, "127.0.0.1")
    assert "Secret" not in str(event.object_ids)  # ids only


def test_an_inventory_change_and_a_refused_attempt_are_recorded(app, client, login, rpc):
    rpc.answer("inventory.receive_lot", NotFound("no such product"))
    client.post(
        "/api/v1/locations/demo-clinic/lots",
        json={
            "shipment_id": "S-1",
            "product_id": "nope",
            "lot_number": "L1",
            "expiration_date": "2030-01-01",
            "doses": 10,
        },
        headers=login("clinic.manager"),
    )
    client.post("/api/v1/locations/demo-clinic/lots", json={})  # no token
    changed, anonymous = audited_rows(app)
    assert (changed.location_id, changed.status, changed.action) == ("demo-clinic", 404, "change")
    assert changed.object_ids["shipment_id"] == "S-1"
    assert (anonymous.actor_type, anonymous.actor_id, anonymous.status) == ("anonymous", None, 401)


def test_reads_of_inventory_and_sign_ins_are_not_audited(app, client, login, rpc):
    rpc.answer("inventory.list_products", [])
    client.get("/api/v1/products", headers=login("clinic.manager"))
    assert audited_rows(app) == []


def test_a_read_that_cannot_be_audited_is_not_answered(client, login, rpc):
    rpc.answer("administration.get_recipient", {"id": "r-1"})
    headers = login("clinic.manager")

    rpc.answer("identity.record_audit_event", RuntimeError("database gone"))
    response = client.get("/api/v1/recipients/r-1", headers=headers)
    assert response.status_code == 503
    assert "first_name" not in response.get_data(as_text=True)


def test_every_audited_operation_in_the_document_writes_an_event(app, client):
    """Whatever route exists (or is added later) under the audited paths is audited: each
    operation is called once as a state admin, services answering 404."""

    app.extensions["cvms_rpc"].cluster.otherwise = NotFound("nothing (audit test)")
    spec = client.get("/api/v1/openapi.json").get_json()
    admin = app.extensions["test_identity"].user_by_name("state.admin")
    settings = app.config["CVMS"]
    expected, missing = 0, []
    for path, item in spec["paths"].items():
        for method in SPEC_METHODS & set(item):
            if classify(method, path) is None:
                continue
            expected += 1
            before = len(audited_rows(app))
            token = issue_token(admin, settings.jwt_secret, 60)
            url = path.replace("{location_id}", "demo-clinic")
            url = re.sub(r"\{([^}]+)\}", lambda m: f"{m.group(1)}-1", url)
            client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {token}"})
            if len(audited_rows(app)) != before + 1:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    assert expected >= 8  # recipients, administrations and inventory changes at least


def test_state_admins_search_the_audit_log(app, client, login, rpc):
    rpc.answer("administration.get_recipient", {"id": "r-1"})
    client.get("/api/v1/recipients/r-1", headers=login("clinic.manager"))
    client.get("/api/v1/recipients/r-2", headers=login("clinic.vaccinator"))
    admin = login("state.admin")
    manager = app.extensions["test_identity"].user_by_name("clinic.manager").id

    by_recipient = client.get("/api/v1/audit-events?recipient_id=r-1", headers=admin).get_json()
    assert [e["actor_id"] for e in by_recipient["events"]] == [manager]
    by_actor = client.get(f"/api/v1/audit-events?actor={manager}", headers=admin).get_json()
    assert [e["recipient_id"] for e in by_actor["events"]] == ["r-1"]
    everything = client.get("/api/v1/audit-events", headers=admin).get_json()
    assert [e["recipient_id"] for e in everything["events"]] == ["r-2", "r-1"]  # newest first
    assert everything["next_page"] is None
    future = client.get("/api/v1/audit-events?from=2999-01-01T00:00:00Z", headers=admin).get_json()
    assert future["events"] == []
    bad = client.get("/api/v1/audit-events?from=yesterday", headers=admin)
    assert bad.status_code == 400 and "from" in bad.get_json()["fields"]
    assert client.get("/api/v1/audit-events", headers=login("helpdesk.agent")).status_code == 403
