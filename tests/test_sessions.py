"""Sessions through the real gateway (gunicorn, two workers, Redis): sign in, refresh, log out;
a logged-out access token is refused at once by every worker."""

from __future__ import annotations

from tests.conftest import MANAGER


def _sign_in(api) -> dict:
    response = api.http.post(
        f"{api.base}/auth/token", json={"username": MANAGER[0], "password": MANAGER[1]}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}


def test_refresh_then_logout_refuses_the_old_access_token_at_once(api):
    first = _sign_in(api)
    assert first["refresh_token"] and first["expires_in"] > 0

    refreshed = api.http.post(
        f"{api.base}/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api.http.get(f"{api.base}/products", headers=_bearer(second)).status_code == 200
    assert api.http.get(f"{api.base}/products", headers=_bearer(first)).status_code == 200

    logout = api.http.post(
        f"{api.base}/auth/logout",
        json={"refresh_token": second["refresh_token"]},
        headers=_bearer(second),
    )
    assert logout.status_code == 204, logout.text

    # Refused at once, by whichever worker answers (a new connection each time, so the
    # gateway's workers take turns; the revocation is in Redis, not in a worker's memory).
    for _ in range(6):
        response = api.http.get(
            f"{api.base}/products", headers={**_bearer(second), "Connection": "close"}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "token_revoked"
    again = api.http.post(
        f"{api.base}/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_refresh_token"


def test_reusing_a_rotated_refresh_token_ends_the_users_other_sessions(api):
    session = _sign_in(api)
    rotated = api.http.post(
        f"{api.base}/auth/refresh", json={"refresh_token": session["refresh_token"]}
    ).json()
    replay = api.http.post(
        f"{api.base}/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert replay.status_code == 401
    successor = api.http.post(
        f"{api.base}/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert successor.status_code == 401


def test_answers_carry_security_headers(api):
    response = api.http.get(f"{api.base}/openapi.json")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
