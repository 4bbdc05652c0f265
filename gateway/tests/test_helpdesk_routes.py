"""The help desk's routes (gateway/api/helpdesk/routes.py): help-desk accounts through
identity's own service (registered, verified, signed in), and the cases' routes with the help
desk faked: who may call, what is checked field by field before any call, and what the help
desk is asked (always the caller's own id)."""

import base64

import pytest

from cvms_platform.errors import Conflict, NotFound

BASE = "/api/v1/helpdesk"
PASSWORD = "a long help-desk password"
CASE_FORM = {
    "requester_type": "public",
    "topic": "scheduling",
    "summary": "Cannot find my appointment",
    "description": "The code from the e-mail is not found.",
}


def requester(app, client, email="ana@example.org") -> dict:
    """A registered, verified help-desk account's headers (the link's token as notifications
    would e-mail it)."""
    identity = app.extensions["test_identity"]
    response = client.post(f"{BASE}/accounts", json={"email": email, "password": PASSWORD})
    assert response.status_code == 202, response.get_json()
    user = identity.user_by_name(email)
    with identity.make_session() as session:
        from identity.models import PasswordLink

        link = session.query(PasswordLink).filter_by(user_id=user.id).one()
    token = identity.delivered_token(link.id)
    verified = client.post(f"{BASE}/accounts/verify", json={"token": token})
    assert verified.get_json() == {"status": "verified", "username": email}
    signed_in = client.post("/api/v1/auth/token", json={"username": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.get_json()
    return {"Authorization": f"Bearer {signed_in.get_json()['access_token']}", "id": user.id}


def headers_of(who: dict) -> dict:
    return {"Authorization": who["Authorization"]}


def test_register_verify_and_sign_in(app, client):
    identity = app.extensions["test_identity"]
    response = client.post(
        f"{BASE}/accounts", json={"email": "bo@example.org", "password": PASSWORD}
    )
    assert response.status_code == 202
    assert response.get_json()["status"] == "verification_sent"
    # Not verified yet: signing in fails as a wrong password would.
    refused = client.post(
        "/api/v1/auth/token", json={"username": "bo@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert identity.user_by_name("bo@example.org").role == "requester"
    # The same answer for an address that has an account.
    again = client.post(f"{BASE}/accounts", json={"email": "bo@example.org", "password": PASSWORD})
    assert again.status_code == 202 and again.get_json() == response.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope", "password": PASSWORD}, "email"),
        ({"email": "a@example.org", "password": "short"}, "password"),
        ({"email": "a@example.org", "password": PASSWORD, "language": "fr"}, "language"),
        ({"email": "a@example.org", "password": PASSWORD, "role": "state_admin"}, "role"),
    ],
)
def test_a_registration_is_checked_field_by_field(client, body, field, assert_error):
    answer = assert_error(client.post(f"{BASE}/accounts", json=body), 400, "invalid_input")
    assert field in answer["fields"]


def test_an_unknown_verification_token_is_refused(client, assert_error):
    answer = assert_error(
        client.post(f"{BASE}/accounts/verify", json={"token": "x" * 43}), 400, "invalid_input"
    )
    assert "token" in answer["fields"]


def test_a_requester_files_and_sees_their_own_cases(app, client, rpc, assert_error):
    ana = requester(app, client)
    rpc.answer("helpdesk.file_case", {"id": "case-1", "reference": "HD-ABCDEFGH"})
    response = client.post(f"{BASE}/cases", json=CASE_FORM, headers=headers_of(ana))
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/helpdesk/my/cases/case-1")
    caller = {"id": ana["id"], "role": "requester"}
    assert rpc.calls == [("helpdesk.file_case", (caller, CASE_FORM))]

    rpc.answer("helpdesk.my_case", NotFound("Case case-2 not found."))
    assert_error(client.get(f"{BASE}/my/cases/case-2", headers=headers_of(ana)), 404, "not_found")
    assert rpc.calls[-1] == ("helpdesk.my_case", (caller, "case-2"))
    rpc.answer("helpdesk.requester_reply", Conflict("The case is closed; file a new one."))
    assert_error(
        client.post(
            f"{BASE}/my/cases/case-1/replies", json={"body": "hi"}, headers=headers_of(ana)
        ),
        409,
        "conflict",
    )


def test_a_requester_reaches_no_agent_or_admin_route(app, client, rpc):
    ana = headers_of(requester(app, client))
    for method, path in [
        ("get", f"{BASE}/queue"),
        ("get", f"{BASE}/cases"),
        ("get", f"{BASE}/cases/case-1"),
        ("post", f"{BASE}/cases/case-1/notes"),
        ("post", f"{BASE}/cases/case-1/resolve"),
        ("post", f"{BASE}/teams"),
        ("get", f"{BASE}/rules"),
    ]:
        assert client.open(path, method=method, json={}, headers=ana).status_code == 403, path
    # Nor anything of providers or recipients.
    assert client.get("/api/v1/products", headers=ana).status_code == 403
    assert client.get("/api/v1/me", headers=ana).status_code == 403
    assert rpc.calls == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("topic", "vaccines"),
        ("requester_type", "robot"),
        ("summary", ""),
        ("language", "fr"),
        ("priority", "asap"),
        ("location_id", "no spaces allowed"),
        ("team_id", "general"),
    ],
)
def test_the_intake_form_is_checked_before_any_call(app, client, rpc, field, value, assert_error):
    ana = headers_of(requester(app, client))
    answer = assert_error(
        client.post(f"{BASE}/cases", json={**CASE_FORM, field: value}, headers=ana),
        400,
        "invalid_input",
    )
    assert field in answer["fields"]
    assert rpc.calls == []


def test_agents_work_cases_and_admins_manage_teams(client, rpc, login, assert_error):
    agent = login("helpdesk.agent")
    rpc.answer("helpdesk.queue", [])
    assert client.get(f"{BASE}/queue?include_pending=true", headers=agent).get_json() == []
    name, (caller, team, pending, limit) = rpc.calls[-1]
    assert name == "helpdesk.queue" and caller["role"] == "helpdesk"
    assert (team, pending, limit) == (None, True, 100)

    rpc.answer("helpdesk.add_note", {"id": "case-1"})
    response = client.post(f"{BASE}/cases/case-1/notes", json={"body": "x"}, headers=agent)
    assert response.status_code == 200
    rpc.answer("helpdesk.resolve_case", {"id": "case-1"})
    assert_error(
        client.post(f"{BASE}/cases/case-1/resolve", json={}, headers=agent), 400, "invalid_input"
    )
    assert (
        client.post(
            f"{BASE}/cases/case-1/resolve", json={"notes": "Done."}, headers=agent
        ).status_code
        == 200
    )
    # Agents do not change teams or rules: the state admin does.
    assert client.post(f"{BASE}/teams", json={}, headers=agent).status_code == 403
    admin = login("state.admin")
    rpc.answer("helpdesk.create_team", {"id": "technical"})
    response = client.post(
        f"{BASE}/teams", json={"id": "technical", "name": "Technical"}, headers=admin
    )
    assert response.status_code == 201
    rpc.answer("helpdesk.delete_rule", None)
    assert client.delete(f"{BASE}/rules/r-1", headers=admin).status_code == 204


def attached(content: bytes, filename="report.pdf", content_type="application/pdf") -> dict:
    return {
        "filename": filename,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def test_a_too_large_attachment_is_413_and_nothing_is_filed(app, client, rpc, assert_error):
    ana = headers_of(requester(app, client))
    big = attached(b"%PDF-" + b"0" * (5 * 1024 * 1024), filename="scan.pdf")
    answer = assert_error(
        client.post(f"{BASE}/cases", json={**CASE_FORM, "attachments": [big]}, headers=ana),
        413,
        "too_large",
    )
    assert "attachments.0 (scan.pdf) is 5.0 MB" in answer["message"]
    assert "at most 5 MB" in answer["message"] and "Nothing was filed" in answer["message"]
    # A body larger than three such files could be is refused before it is read.
    huge = {**CASE_FORM, "description": "x" * (25 * 1024 * 1024)}
    assert_error(client.post(f"{BASE}/cases", json=huge, headers=ana), 413, "too_large")
    assert rpc.calls == []


def test_files_go_with_the_case_and_come_back_as_themselves(app, client, rpc):
    ana = headers_of(requester(app, client))
    rpc.answer("helpdesk.file_case", {"id": "case-1"})
    # Larger than the gateway's usual 1 MiB body: this route takes a case's files.
    pdf = attached(b"%PDF-1.7 " + b"0" * (2 * 1024 * 1024))
    filed = client.post(f"{BASE}/cases", json={**CASE_FORM, "attachments": [pdf]}, headers=ana)
    assert filed.status_code == 201, filed.get_json()
    assert rpc.calls[-1][1][1]["attachments"] == [pdf]
    rpc.answer(
        "helpdesk.my_attachment",
        {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="},
    )
    response = client.get(f"{BASE}/my/cases/case-1/attachments/att-1", headers=ana)
    assert response.status_code == 200
    assert response.data == b"hi" and response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.txt"'


@pytest.mark.parametrize(
    ("file", "field"),
    [
        (
            {"filename": "../etc/passwd", "content_type": "text/plain", "content_base64": "aGk="},
            "filename",
        ),
        (
            {
                "filename": "a.exe",
                "content_type": "application/x-msdownload",
                "content_base64": "aGk=",
            },
            "content_type",
        ),
    ],
)
def test_a_wrong_file_is_refused_by_its_field(app, client, rpc, file, field, assert_error):
    ana = headers_of(requester(app, client))
    answer = assert_error(
        client.post(f"{BASE}/cases", json={**CASE_FORM, "attachments": [file]}, headers=ana),
        400,
        "invalid_input",
    )
    assert field in str(answer["fields"]["attachments"])
    assert rpc.calls == []


def test_anyone_searches_published_articles_and_agents_write_them(client, rpc, login, assert_error):
    rpc.answer("helpdesk.search_articles", [])
    assert client.get(f"{BASE}/articles?q=unlock&lang=es").status_code == 200
    assert rpc.calls[-1] == ("helpdesk.search_articles", ("unlock", "es", 10))
    assert_error(client.get(f"{BASE}/articles"), 400, "invalid_input")
    assert_error(client.get(f"{BASE}/articles?q=x&lang=fr"), 400, "invalid_input")
    rpc.answer("helpdesk.article", NotFound("Article a-1 not found."))
    assert_error(client.get(f"{BASE}/articles/a-1"), 404, "not_found")
    assert rpc.calls[-1] == ("helpdesk.article", ("a-1", False))

    assert client.get(f"{BASE}/writing/articles").status_code == 401
    agent = login("helpdesk.agent")
    rpc.answer("helpdesk.create_article", {"id": "a-2"})
    created = client.post(
        f"{BASE}/writing/articles",
        json={"title": "Unlock", "body": "Wait an hour.", "language": "en"},
        headers=agent,
    )
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/helpdesk/writing/articles/a-2")
    rpc.answer("helpdesk.update_article", {"id": "a-2"})
    published = client.patch(
        f"{BASE}/writing/articles/a-2", json={"status": "published"}, headers=agent
    )
    assert published.status_code == 200
    assert rpc.calls[-1][0] == "helpdesk.update_article"
