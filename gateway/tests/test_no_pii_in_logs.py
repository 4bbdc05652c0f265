"""No personal data, password or token in the gateway's logs: registration, sign-in (right,
wrong, locked out), refresh, enrollment with invitations, setting a password, and the error
paths that quote what failed (a service's error, an unexpected exception) are exercised with
every logger at DEBUG, and the captured records are scanned."""

import logging

from nameko.exceptions import RemoteError

GIVEN, FAMILY, BIRTH = "Zebulonia", "Quackenbush-Pii", "1961-07-23"
EMAIL, PHONE = "zebulonia.pii@example.org", "+1 555 867 5309"


def test_no_personal_data_passwords_or_tokens_are_logged(make_app, caplog, complete_form):
    app = make_app(login_max_failures=2)
    client = app.test_client()
    rpc = app.extensions["cvms_rpc"].cluster
    caplog.set_level(logging.DEBUG)
    secrets = [GIVEN, FAMILY, BIRTH, EMAIL, PHONE, "demo-clinic-manager", "wrong-password-pii"]

    signed_in = client.post(
        "/api/v1/auth/token",
        json={"username": "clinic.manager", "password": "demo-clinic-manager"},
    ).get_json()
    secrets += [signed_in["access_token"], signed_in["refresh_token"]]
    bearer = {"Authorization": f"Bearer {signed_in['access_token']}"}
    recipient = {
        "given_name": GIVEN,
        "family_name": FAMILY,
        "birth_date": BIRTH,
        "email": EMAIL,
        "phone": PHONE,
    }
    rpc.answer(
        "administration.register_recipient",
        {"recipient": {"id": "r-1", **recipient}, "created": True},
    )
    assert client.post("/api/v1/recipients", json=recipient, headers=bearer).status_code == 201
    # A service failing with a message that quotes the input, and an unexpected failure.
    rpc.answer(
        "administration.register_recipient",
        RemoteError("ValueError", f"cannot register {GIVEN} {FAMILY} born {BIRTH}"),
    )
    assert client.post("/api/v1/recipients", json=recipient, headers=bearer).status_code == 502
    rpc.answer("administration.get_recipient", lambda: (_ for _ in ()).throw(KeyError(EMAIL)))
    assert client.get("/api/v1/recipients/r-1", headers=bearer).status_code == 500

    refreshed = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
    ).get_json()
    secrets.append(refreshed["refresh_token"])
    for _ in range(3):  # wrong, wrong (locks), locked
        client.post(
            "/api/v1/auth/token", json={"username": EMAIL, "password": "wrong-password-pii"}
        )

    form = complete_form("pii")
    form["organization"]["primary_contact"]["email"] = EMAIL
    secrets += [form["organization"]["legal_name"], form["locations"][0]["users"][0]["name"]]
    started = client.post("/api/v1/enrollments", json=form).get_json()
    secrets.append(started["edit_token"])
    token = {"X-Enrollment-Token": started["edit_token"]}
    client.post(f"/api/v1/enrollments/{started['id']}/submit", headers=token)
    admin = client.post(
        "/api/v1/auth/token", json={"username": "state.admin", "password": "demo-state-admin"}
    ).get_json()
    approved = client.post(
        f"/api/v1/enrollment-reviews/{started['id']}/approve",
        headers={"Authorization": f"Bearer {admin['access_token']}"},
    ).get_json()
    link = app.extensions["test_identity"].delivered_token(approved["invitations"][0]["link_id"])
    secrets += [link, "a-new-pii-passphrase"]
    client.post(
        "/api/v1/auth/password/set", json={"token": link, "password": "a-new-pii-passphrase"}
    )
    client.post("/api/v1/auth/password/reset-requests", json={"username": EMAIL})

    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert caplog.records  # the requests were logged, without what follows
    leaked = [secret for secret in secrets if secret.casefold() in logged.casefold()]
    assert leaked == []


def test_gunicorn_writes_no_access_log_of_its_own(monkeypatch, tmp_path):
    """Its format would show paths and query strings; the app logs route templates instead."""
    # Importing the config sets the metrics directory for the process; keep that to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    from gateway import gunicorn_conf

    assert gunicorn_conf.accesslog is None
