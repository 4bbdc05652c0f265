"""Staff finding a recipient (GET /recipients) and reading their doses
(GET /recipients/{id}/vaccinations): narrow queries only, audited, staff only (services faked)."""

import pytest
from sqlalchemy import select

from cvms_platform.testing import SAMPLE_DOSE
from identity.models import AuditEvent

MATCHES = {
    "recipients": [
        {
            "id": "r-1",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "birth_date": "1990-12-10",
            "phone": "***-***-0134",
            "email": "a***@example.org",
        }
    ],
    "more": False,
}


def test_a_family_name_and_birth_date_are_passed_on(client, rpc, login):
    rpc.answer("administration.find_recipients", MATCHES)

    response = client.get(
        "/api/v1/recipients?family_name=Lovelace&given_name=Ad&birth_date=1990-12-10",
        headers=login("clinic.vaccinator"),
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == MATCHES
    assert rpc.calls == [
        (
            "administration.find_recipients",
            (
                {
                    "family_name": "Lovelace",
                    "given_name": "Ad",
                    "birth_date": "1990-12-10",
                    "limit": 20,
                },
            ),
        )
    ]


def test_a_phone_alone_is_enough(client, rpc, login):
    rpc.answer("administration.find_recipients", MATCHES)

    response = client.get("/api/v1/recipients?phone=217-555-0134", headers=login("clinic.manager"))

    assert response.status_code == 200
    assert rpc.calls[0][1][0] == {"phone": "217-555-0134", "limit": 20}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?family_name=Lovelace",
        "?birth_date=1990-12-10",
        "?given_name=Ada&birth_date=1990-12-10",
        "?family_name=Lovelace&birth_date=yesterday",
        "?family_name=Lovelace&birth_date=1990-12-10&limit=500",
        "?phone=12",
        "?family_name=Lovelace&birth_date=1990-12-10&everyone=1",
    ],
)
def test_a_search_too_broad_or_malformed_is_400_without_a_call(client, rpc, login, query):
    response = client.get(f"/api/v1/recipients{query}", headers=login("clinic.vaccinator"))

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_input"
    assert rpc.calls == []


@pytest.mark.parametrize("username", ["helpdesk.agent"])
def test_roles_outside_staff_are_refused(client, rpc, login, username):
    response = client.get("/api/v1/recipients?phone=2175550134", headers=login(username))
    assert response.status_code == 403
    assert rpc.calls == []


def test_anonymous_callers_are_refused(client, rpc):
    assert client.get("/api/v1/recipients?phone=2175550134").status_code == 401
    assert rpc.calls == []


def test_a_search_is_audited_as_a_read_without_what_was_searched(app, client, rpc, login):
    rpc.answer("administration.find_recipients", MATCHES)

    client.get(
        "/api/v1/recipients?family_name=Lovelace&birth_date=1990-12-10",
        headers=login("clinic.vaccinator"),
    )

    with app.extensions["cvms_sessions"]() as session:
        [event] = session.scalars(select(AuditEvent)).all()
    assert (event.method, event.route, event.action, event.status) == (
        "GET",
        "/api/v1/recipients",
        "read",
        200,
    )
    assert "Lovelace" not in str(event.object_ids)


def test_a_recipients_doses_are_read_with_location_names(app, client, rpc, login):
    dose = {**SAMPLE_DOSE, "id": "a-1"}
    rpc.answer("administration.recipient_vaccinations", [dose])

    response = client.get("/api/v1/recipients/r-1/vaccinations", headers=login("clinic.vaccinator"))

    assert response.status_code == 200
    [answer] = response.get_json()
    assert answer["id"] == "a-1" and answer["location_name"]
    assert answer["labels"]["es"] == "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)"
    assert rpc.calls == [("administration.recipient_vaccinations", ("r-1",))]
    with app.extensions["cvms_sessions"]() as session:
        [event] = session.scalars(select(AuditEvent)).all()
    assert (event.route, event.action, event.recipient_id) == (
        "/api/v1/recipients/<recipient_id>/vaccinations",
        "read",
        "r-1",
    )
