"""Security headers on every answer, no caching of API answers, and the maximum page size."""

import pytest
from flask import Flask

from gateway.errors import ApiError
from gateway.hardening import SECURITY_HEADERS
from gateway.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def assert_hardened(response):
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/openapi.json", 200),
        ("get", "/api/v1/products", 401),  # no token
        ("get", "/api/v1/no-such-route", 404),
        ("delete", "/api/v1/products", 405),
        ("post", "/api/v1/auth/token", 400),  # no body
    ],
)
def test_api_answers_are_hardened_and_never_cached(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_successful_api_answer_is_hardened(client, rpc, login):
    rpc.answer("inventory.list_products", [])
    response = client.get("/api/v1/products", headers=login("clinic.vaccinator"))
    assert response.status_code == 200
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_answer_is_never_cached(client):
    response = client.post(
        "/api/v1/auth/token", json={"username": "state.admin", "password": "demo-state-admin"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/health", "/metrics", "/no-such-page"])
def test_other_answers_are_hardened_too(client, path):
    response = client.get(path)
    assert_hardened(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_headers_are_set_once(client):
    response = client.get("/api/v1/openapi.json")
    for name in SECURITY_HEADERS:
        assert len(response.headers.getlist(name)) == 1, name


# -- page sizes -----------------------------------------------------------------------------------
@pytest.fixture
def request_with():
    app = Flask("t")

    def context(query: str):
        return app.test_request_context(f"/things{query}")

    return context


def test_the_default_page_size(request_with):
    with request_with(""):
        assert page_size() == DEFAULT_PAGE_SIZE <= MAX_PAGE_SIZE


@pytest.mark.parametrize("limit", [1, 17, MAX_PAGE_SIZE])
def test_a_page_size_up_to_the_maximum(request_with, limit):
    with request_with(f"?limit={limit}"):
        assert page_size() == limit


@pytest.mark.parametrize("limit", ["0", str(MAX_PAGE_SIZE + 1), "-5", "ten", "", "1e3", "100000"])
def test_a_page_size_beyond_the_maximum_or_not_a_number_is_400(request_with, limit):
    with request_with(f"?limit={limit}"), pytest.raises(ApiError) as raised:
        page_size()
    assert raised.value.status == 400
    assert raised.value.code == "invalid_input"
    assert "limit" in raised.value.fields
