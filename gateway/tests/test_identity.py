"""Passwords through one-time links, resets, help-desk lookups and organization admins."""

from sqlalchemy import select

from cvms_platform.tables import outbox
from identity.models import User

TOKEN = "/api/v1/auth/token"
SET = "/api/v1/auth/password/set"
RESETS = "/api/v1/auth/password/reset-requests"
NEW_PASSWORD = "correct horse battery staple"


def user_id(app, username):
    return app.extensions["test_identity"].user_by_name(username).id


def outbox_events(app, event_type):
    with app.extensions["cvms_sessions"]() as session:
        rows = session.execute(select(outbox.c.event_type, outbox.c.body)).all()
    return [row.body["payload"] for row in rows if row.event_type == event_type]


def sign_in(client, username, password):
    return client.post(TOKEN, json={"username": username, "password": password})


def reset_link(app, client, login, username="clinic.vaccinator", agent="helpdesk.agent"):
    response = client.post(
        f"/api/v1/users/{user_id(app, username)}/password-reset-links", headers=login(agent)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- reset requests -------------------------------------------------------------------------------
def test_a_reset_request_always_answers_202_and_tells_nothing(app, client):
    for username in ("clinic.vaccinator", "nobody.at.all"):
        response = client.post(RESETS, json={"username": username})
        assert response.status_code == 202
        assert response.get_json() == {
            "message": "If the username exists, a reset link is on its way."
        }
    requested = outbox_events(app, "password_reset_requested")
    assert [event["user_id"] for event in requested] == [user_id(app, "clinic.vaccinator")]
    assert set(requested[0]) == {"user_id", "link_id", "expires_at"}  # no personal data


def test_a_reset_request_needs_a_username(client):
    response = client.post(RESETS, json={})
    assert response.status_code == 400
    assert "username" in response.get_json()["fields"]


# -- setting a password ---------------------------------------------------------------------------
def test_a_help_desk_link_sets_a_new_password_and_ends_the_users_sessions(
    app, client, login, redis_client
):
    old = sign_in(client, "clinic.vaccinator", "demo-vaccinator").get_json()
    link = reset_link(app, client, login)

    response = client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert response.status_code == 204
    old_bearer = {"Authorization": f"Bearer {old['access_token']}"}
    assert client.get("/api/v1/users", headers=old_bearer).status_code == 401
    assert sign_in(client, "clinic.vaccinator", "demo-vaccinator").status_code == 401
    assert sign_in(client, "clinic.vaccinator", NEW_PASSWORD).status_code == 200
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert refreshed.status_code == 401
    # Single use.
    again = client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD + "!"})
    assert again.status_code == 400


def test_password_rules_are_explained_field_by_field(app, client, login):
    link = reset_link(app, client, login)
    for weak in ("short", "clinic.vaccinator-2024!", "aaaaaaaaaaaaaaaa"):
        response = client.post(SET, json={"token": link["token"], "password": weak})
        assert response.status_code == 400, weak
        assert response.get_json()["fields"]["password"], weak
    # The link survives a refused password.
    ok = client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert ok.status_code == 204


def test_an_unknown_or_expired_link_is_refused(app, client, login, monkeypatch):
    assert client.post(SET, json={"token": "nope", "password": NEW_PASSWORD}).status_code == 400
    monkeypatch.setenv("CVMS_PASSWORD_RESET_TTL_SECONDS", "-1")  # expired when made
    link = reset_link(app, client, login, username="clinic.manager")
    response = client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "token" in response.get_json()["fields"]


# -- the help desk --------------------------------------------------------------------------------
def test_help_desk_agents_find_users_and_see_their_status(app, client, login):
    agent = login("helpdesk.agent")
    found = client.get("/api/v1/users?q=clinic.", headers=agent).get_json()["users"]
    assert [u["username"] for u in found] == ["clinic.manager", "clinic.vaccinator"]
    assert found[0]["active"] is True and found[0]["locked_for_seconds"] == 0
    one = client.get(f"/api/v1/users/{found[1]['id']}", headers=agent)
    assert one.get_json()["role"] == "vaccinator"
    assert client.get("/api/v1/users/not-a-user", headers=agent).status_code == 404


def test_help_desk_agents_unlock_a_locked_out_user(make_app, redis_client):
    app = make_app(login_max_failures=2)
    client = app.test_client()
    for _ in range(2):
        sign_in(client, "clinic.manager", "wrong password")
    assert sign_in(client, "clinic.manager", "demo-clinic-manager").status_code == 429
    agent_token = sign_in(client, "helpdesk.agent", "demo-helpdesk").get_json()["access_token"]
    agent = {"Authorization": f"Bearer {agent_token}"}
    manager_id = user_id(app, "clinic.manager")
    status = client.get(f"/api/v1/users/{manager_id}", headers=agent).get_json()
    assert status["locked_for_seconds"] > 0

    assert client.post(f"/api/v1/users/{manager_id}/unlock", headers=agent).status_code == 204
    assert sign_in(client, "clinic.manager", "demo-clinic-manager").status_code == 200


def test_a_deactivated_user_gets_no_reset_link(app, client, login, directory_db):
    directory_db.set_active("clinic.vaccinator", False)
    response = client.post(
        f"/api/v1/users/{user_id(app, 'clinic.vaccinator')}/password-reset-links",
        headers=login("helpdesk.agent"),
    )
    assert response.status_code == 409


# -- organization admins --------------------------------------------------------------------------
def test_an_org_admin_acts_for_the_organizations_locations(client):
    answer = sign_in(client, "org.admin", "demo-org-admin").get_json()
    assert answer["role"] == "org_admin"
    assert answer["locations"] == ["demo-clinic"]


def org_admin_adds_vaccinator(client, login, name: str, email: str):
    """The organization admin adds a vaccinator at demo-clinic: the response."""
    return client.post(
        "/api/v1/organizations/demo-org/users",
        json={"name": name, "email": email, "role": "vaccinator", "location_ids": ["demo-clinic"]},
        headers=login("org.admin"),
    )


def test_an_org_admin_creates_a_location_user_who_sets_a_password(app, client, login):
    response = org_admin_adds_vaccinator(client, login, "Nia New", "Nia.New@clinic.example")
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["user"]["username"] == "nia.new@clinic.example"
    assert answer["user"]["active"] is False
    assert outbox_events(app, "user_invited")[0]["user_id"] == answer["user"]["id"]

    # The link goes to Nia by e-mail; the organization admin does not see it.
    assert answer["set_password"]["sent_by_email"] is True
    assert "token" not in answer["set_password"]
    link = app.extensions["test_identity"].delivered_token(answer["set_password"]["link_id"])
    assert client.post(SET, json={"token": link, "password": NEW_PASSWORD}).status_code == 204
    signed_in = sign_in(client, "nia.new@clinic.example", NEW_PASSWORD).get_json()
    assert signed_in["locations"] == ["demo-clinic"]


def test_without_email_the_org_admin_is_handed_the_link_to_pass_on(monkeypatch, app, client, login):
    monkeypatch.setenv("CVMS_HAND_OUT_PASSWORD_LINKS", "1")
    response = org_admin_adds_vaccinator(client, login, "Ola Offline", "ola@clinic.example")
    assert response.status_code == 201, response.get_json()
    link = response.get_json()["set_password"]
    assert link["sent_by_email"] is False
    assert (
        client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD}).status_code == 204
    )
    assert sign_in(client, "ola@clinic.example", NEW_PASSWORD).status_code == 200


def test_an_org_admin_may_not_staff_a_location_of_another_organization(client, login, directory_db):
    directory_db.add_location("other-clinic")
    response = client.post(
        "/api/v1/organizations/demo-org/users",
        json={
            "name": "Oz Other",
            "email": "oz@other.example",
            "role": "vaccinator",
            "location_ids": ["other-clinic"],
        },
        headers=login("org.admin"),
    )
    assert response.status_code == 422
    assert "location_ids" in response.get_json()["fields"]


def test_an_existing_email_cannot_be_invited_twice(client, login):
    body = {
        "name": "Twice",
        "email": "twice@clinic.example",
        "role": "vaccinator",
        "location_ids": ["demo-clinic"],
    }
    admin = login("org.admin")
    assert (
        client.post("/api/v1/organizations/demo-org/users", json=body, headers=admin).status_code
        == 201
    )
    assert (
        client.post("/api/v1/organizations/demo-org/users", json=body, headers=admin).status_code
        == 409
    )


def test_an_org_admin_deactivates_a_location_user_whose_sessions_end(
    app, client, login, rpc, redis_client
):
    session = sign_in(client, "clinic.vaccinator", "demo-vaccinator").get_json()
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    rpc.answer("inventory.list_products", [])
    assert client.get("/api/v1/products", headers=bearer).status_code == 200
    vaccinator = user_id(app, "clinic.vaccinator")
    response = client.post(f"/api/v1/users/{vaccinator}/deactivate", headers=login("org.admin"))
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    revoked = client.get("/api/v1/products", headers=bearer)  # at once, not at expiry
    assert revoked.status_code == 401
    assert revoked.get_json()["error"] == "token_revoked"
    assert sign_in(client, "clinic.vaccinator", "demo-vaccinator").status_code == 401
    refreshed = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 401


def test_an_org_admin_sees_and_manages_only_the_organizations_users(app, client, login):
    admin = login("org.admin")
    listed = client.get("/api/v1/users", headers=admin).get_json()["users"]
    assert {u["username"] for u in listed} == {"clinic.manager", "clinic.vaccinator", "org.admin"}
    state_admin = user_id(app, "state.admin")
    assert client.get(f"/api/v1/users/{state_admin}", headers=admin).status_code == 404
    assert client.post(f"/api/v1/users/{state_admin}/deactivate", headers=admin).status_code == 404
    with app.extensions["cvms_sessions"]() as db:
        assert db.get(User, state_admin).active is True


def test_nobody_deactivates_themselves(app, client, login):
    me = user_id(app, "state.admin")
    response = client.post(f"/api/v1/users/{me}/deactivate", headers=login("state.admin"))
    assert response.status_code == 409


# -- the operator's command -----------------------------------------------------------------------
def test_reset_requests_and_set_password_are_rate_limited_per_address(make_app, redis_client):
    client = make_app(auth_rate_limit="2/minute").test_client()
    statuses = [
        client.post(RESETS, json={"username": "clinic.manager"}).status_code for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    statuses = [
        client.post(SET, json={"token": "x", "password": NEW_PASSWORD}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_a_token_issued_after_the_password_was_set_works(app, client, login, redis_client, rpc):
    link = reset_link(app, client, login)
    assert (
        client.post(SET, json={"token": link["token"], "password": NEW_PASSWORD}).status_code == 204
    )
    fresh = sign_in(client, "clinic.vaccinator", NEW_PASSWORD).get_json()
    rpc.answer("inventory.list_products", [])
    bearer = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert client.get("/api/v1/products", headers=bearer).status_code == 200


def test_an_org_admin_issues_a_reset_link_for_the_organizations_users_only(app, client, login):
    own = client.post(
        f"/api/v1/users/{user_id(app, 'clinic.vaccinator')}/password-reset-links",
        headers=login("org.admin"),
    )
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["token"]
    foreign = client.post(
        f"/api/v1/users/{user_id(app, 'helpdesk.agent')}/password-reset-links",
        headers=login("org.admin"),
    )
    assert foreign.status_code == 404
