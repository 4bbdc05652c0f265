"""No personal data, password or token in any process's log: a recipient is registered (and a
likely duplicate of them), a dose refused, people sign in right and wrong, and then every
process log of the run is scanned."""

from __future__ import annotations

import uuid

import requests

from tests.conftest import MANAGER


def test_registration_and_sign_in_leave_no_personal_data_in_the_logs(api, manager, cluster):
    family = f"Pii{uuid.uuid4().hex[:8]}"
    recipient = {
        "given_name": "Ottoline",
        "family_name": family,
        "birth_date": "1958-02-14",
        "email": f"{family.lower()}@example.org",
        "phone": "+1 555 014 2718",
    }
    assert manager.post("/recipients", json=recipient).status_code == 201
    assert manager.post("/recipients", json=recipient).status_code == 200  # the duplicate
    assert (
        manager.post("/recipients", json={**recipient, "birth_date": "not a date"}).status_code
        == 400
    )
    session = requests.post(
        f"{api.base}/auth/token", json={"username": MANAGER[0], "password": MANAGER[1]}
    ).json()
    requests.post(
        f"{api.base}/auth/token", json={"username": recipient["email"], "password": "pii-wrong-pw"}
    )
    secrets = [
        family,
        "1958-02-14",
        recipient["email"],
        recipient["phone"],
        MANAGER[1],
        "pii-wrong-pw",
        session["access_token"],
        session["refresh_token"],
    ]
    logs = {path.name: path.read_text(errors="replace") for path in cluster.logs.glob("*.log")}
    assert logs
    leaked = {
        name: [secret for secret in secrets if secret.casefold() in text.casefold()]
        for name, text in logs.items()
    }
    assert {name: found for name, found in leaked.items() if found} == {}
