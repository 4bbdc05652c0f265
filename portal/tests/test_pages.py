"""The portal's own behaviour with the gateway out of reach or refusing (the browser tests in
tests/browser drive it against the real stack)."""

from __future__ import annotations

import pytest

from portal.app import create_app


@pytest.fixture
def client(tmp_path, settings):
    app = create_app(settings, data_dir=tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def test_the_gateway_out_of_reach_is_a_try_again_page_not_a_stack_trace(client):
    answer = client.post("/sign-in", data={"username": "someone", "password": "secret"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    page = answer.get_data(as_text=True)
    assert "not answering right now" in page
    assert "Traceback" not in page and "ConnectionError" not in page


def test_the_try_again_page_is_in_spanish_too(client):
    client.get("/language/es")
    answer = client.post("/sign-in", data={"username": "someone", "password": "secret"})
    assert answer.status_code == 503
    assert "El sistema no responde en este momento" in answer.get_data(as_text=True)


def test_a_signed_out_person_is_sent_to_sign_in_with_the_page_to_return_to(client):
    answer = client.get("/provider/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/sign-in?next=/provider/")


def test_pages_carry_security_headers(client):
    answer = client.get("/sign-in")
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_empty_sign_in_fields_are_named_beside_them(client):
    answer = client.post("/sign-in", data={"username": "", "password": ""})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert 'id="field-username-error"' in page and "Enter your username." in page
    assert 'aria-invalid="true"' in page
