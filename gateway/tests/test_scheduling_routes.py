"""Scheduling's routes: public self-scheduling without a login (limited per address, shed at
overload), conflicts answered with their codes, and the clinic's side passing who acted."""

import pytest

from cvms_platform.errors import Conflict, InvalidInput
from gateway.admission import SHED_MESSAGE, SHED_RETRY_AFTER, PublicAdmission

TOKEN = "/api/v1/auth/token"
BOOK = "/api/v1/public/appointments"
SLOT = "b6f0c7a0-9d7e-4a55-9d55-0d6c1f7f2a11"
BOOKING = {
    "slot_id": SLOT,
    "given_name": "Ana",
    "family_name": "Garcia",
    "birth_date": "1960-02-01",
    "phone": "404-555-0101",
}
APPOINTMENT = {"confirmation_code": "K7M2QX9PTA", "status": "booked", "slot_id": SLOT}


@pytest.fixture
def app(make_app, redis_client):
    app = make_app()
    app.extensions["cvms_rpc"].cluster.answer("scheduling.book_appointment", APPOINTMENT)
    return app


@pytest.fixture
def cluster(app):
    return app.extensions["cvms_rpc"].cluster


def sign_in(client, username="clinic.manager", password="demo-clinic-manager") -> dict:
    response = client.post(TOKEN, json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_anyone_can_book_and_gets_the_code_and_its_address(app, cluster):
    response = app.test_client().post(BOOK, json=BOOKING)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["confirmation_code"] == "K7M2QX9PTA"
    assert response.headers["Location"].endswith("/api/v1/public/appointments/K7M2QX9PTA")
    [(method, (sent,))] = cluster.calls
    assert method == "scheduling.book_appointment" and sent == BOOKING


@pytest.mark.parametrize("code", ["slot_full", "already_booked"])
def test_a_conflict_is_answered_409_with_its_code(app, cluster, code):
    cluster.answer("scheduling.book_appointment", Conflict("No.", code))

    response = app.test_client().post(BOOK, json=BOOKING)

    assert response.status_code == 409
    assert response.get_json()["error"] == code


def test_a_booking_without_contact_details_is_refused_before_any_rpc(app, cluster):
    response = app.test_client().post(BOOK, json={**BOOKING, "phone": None})

    assert response.status_code == 400
    assert "phone" in response.get_json()["fields"]
    assert cluster.calls == []


def test_public_booking_is_limited_per_address(make_app, redis_client):
    app = make_app(booking_rate_limit="2/minute")
    app.extensions["cvms_rpc"].cluster.answer("scheduling.book_appointment", APPOINTMENT)
    client = app.test_client()
    here = {"REMOTE_ADDR": "10.1.1.1"}

    statuses = [client.post(BOOK, json=BOOKING, environ_base=here).status_code for _ in range(3)]
    elsewhere = client.post(BOOK, json=BOOKING, environ_base={"REMOTE_ADDR": "10.1.1.2"})

    assert statuses == [201, 201, 429]
    assert elsewhere.status_code == 201
    limited = client.post(BOOK, json=BOOKING, environ_base=here)
    assert limited.get_json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61


def test_at_overload_a_worker_sheds_at_once_with_503_and_retry_after(app, cluster):
    admission = app.wsgi_app
    assert isinstance(admission, PublicAdmission)
    for _ in range(admission.max_in_flight):
        admission.places.acquire()  # every place taken by requests in flight
    client = app.test_client()

    response = client.post(BOOK, json=BOOKING, headers={"X-Request-ID": "rush-1"})

    assert response.status_code == 503
    assert response.get_json() == {
        "error": "overloaded",
        "message": SHED_MESSAGE,
        "request_id": "rush-1",
    }
    assert response.headers["Retry-After"] == SHED_RETRY_AFTER
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert cluster.calls == []  # refused before any work
    # Only the public self-scheduling routes are shed.
    assert client.get("/api/v1/openapi.json").status_code == 200
    admission.places.release()
    assert client.post(BOOK, json=BOOKING).status_code == 201


def test_a_finished_request_gives_its_place_back(app):
    admission = app.wsgi_app
    for _ in range(admission.max_in_flight - 1):
        admission.places.acquire()  # one place left
    client = app.test_client()

    assert [client.post(BOOK, json=BOOKING).status_code for _ in range(3)] == [201] * 3
    # A refusal by the service (or a crash in the view) gives its place back too.
    app.extensions["cvms_rpc"].cluster.answer(
        "scheduling.book_appointment", Conflict("full", "slot_full")
    )
    assert [client.post(BOOK, json=BOOKING).status_code for _ in range(3)] == [409] * 3


def test_a_slot_scheduling_called_full_is_answered_full_for_a_few_seconds_without_an_rpc(
    app, cluster, monkeypatch
):
    now = [1000.0]
    full_slots = app.extensions["cvms_full_slots"]
    monkeypatch.setattr(full_slots, "clock", lambda: now[0])
    full = Conflict("This slot is fully booked.", "slot_full")
    cluster.answer("scheduling.book_appointment", full)
    client = app.test_client()

    answers = [client.post(BOOK, json=BOOKING) for _ in range(3)]

    assert [a.status_code for a in answers] == [409] * 3
    assert {a.get_json()["error"] for a in answers} == {"slot_full"}
    assert answers[2].get_json()["message"] == "This slot is fully booked."
    assert len(cluster.calls) == 1  # only the first asked scheduling
    other = client.post(BOOK, json={**BOOKING, "slot_id": "0f6d2c1e-8a4b-4f7e-9c3d-2b1a0e9f8d7c"})
    assert other.status_code == 409 and len(cluster.calls) == 2  # another slot: asked
    now[0] += full_slots.seconds  # time's up: scheduling judges again
    cluster.answer("scheduling.book_appointment", APPOINTMENT)
    assert client.post(BOOK, json=BOOKING).status_code == 201
    assert len(cluster.calls) == 3


def test_other_refusals_are_not_remembered(app, cluster):
    cluster.answer("scheduling.book_appointment", Conflict("Booked already.", "already_booked"))
    client = app.test_client()

    assert [client.post(BOOK, json=BOOKING).status_code for _ in range(2)] == [409, 409]
    assert len(cluster.calls) == 2


def test_staff_routes_pass_who_acted(app, cluster):
    client = app.test_client()
    headers = sign_in(client)
    cluster.answer("scheduling.check_in", {"status": "checked_in"})

    response = client.post(
        "/api/v1/locations/demo-clinic/appointments/a1/check-in", json={}, headers=headers
    )

    assert response.status_code == 200, response.get_json()
    assert cluster.calls[-1] == (
        "scheduling.check_in",
        ("demo-clinic", "a1", {}, "clinic.manager"),
    )


def test_invalid_locator_queries_are_answered_400(app, cluster):
    cluster.answer("scheduling.locate", InvalidInput({"zip": ["Give a ZIP code."]}))

    response = app.test_client().get("/api/v1/public/locations?radius_miles=3")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {"zip": ["Give a ZIP code."]}


def test_anyone_sees_one_location_with_its_clinic_days(app, cluster):
    location = {"location_id": "demo-clinic", "name": "Demo", "clinic_days": []}
    cluster.answer("scheduling.public_location", location)

    response = app.test_client().get("/api/v1/public/locations/demo-clinic")

    assert response.status_code == 200
    assert response.get_json() == location
    assert cluster.calls[-1] == ("scheduling.public_location", ("demo-clinic",))


def test_anyone_sees_the_public_fields_of_active_products(app, cluster):
    cluster.answer(
        "inventory.list_products",
        [
            {
                "id": "p1",
                "name": "One",
                "cap_color": "gray",
                "min_age_years": 12,
                "ndc_unit_of_sale": "secret-ish",
                "active": True,
            },
            {"id": "p2", "name": "Gone", "active": False},
        ],
    )

    response = app.test_client().get("/api/v1/public/products")

    assert response.status_code == 200
    [product] = response.get_json()
    assert product["id"] == "p1" and product["cap_color"] == "gray"
    assert product["labels"] == {"en": "One (Gray Cap)", "es": "One (tapa gris)"}
    assert "ndc_unit_of_sale" not in product
