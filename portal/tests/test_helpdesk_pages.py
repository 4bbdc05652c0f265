"""The help desk's pages for the people it helps: registering (the API's field errors beside
their fields), the e-mailed link that verifies an address only on a click (a mail scanner that
follows it verifies nothing), in English and Spanish."""

from __future__ import annotations

import pytest

from portal.gateway import ApiProblem


def test_registering_sends_the_address_and_says_to_check_the_mail(portal):
    client, gateway = portal({"status": "verification_sent"})
    form = {
        "email": "ana@example.org",
        "password": "a long password here",
        "confirm_password": "a long password here",
        "language": "es",
    }
    page = client.post("/helpdesk/register", data=form)
    assert page.status_code == 200 and "Check your e-mail" in page.get_data(as_text=True)
    assert gateway.calls == [
        (
            "POST",
            "/helpdesk/accounts",
            {"email": "ana@example.org", "password": "a long password here", "language": "es"},
        )
    ]


def test_a_refused_registration_says_why_beside_the_field(portal):
    client, _ = portal(
        ApiProblem(400, "invalid_input", "Invalid input.", {"password": ["Use more characters."]})
    )
    form = {"email": "a@example.org", "password": "short", "confirm_password": "short"}
    page = client.post("/helpdesk/register", data=form)
    assert page.status_code == 400 and "Use more characters." in page.get_data(as_text=True)
    mismatch = client.post(
        "/helpdesk/register", data={**form, "confirm_password": "other"}
    ).get_data(as_text=True)
    assert "The two passwords differ." in mismatch


def test_the_link_verifies_only_on_the_click(portal):
    client, gateway = portal({"status": "verified", "username": "ana@example.org"})
    page = client.get("/helpdesk/verify?token=tok-123")
    assert page.status_code == 200 and "Verify my address" in page.get_data(as_text=True)
    assert gateway.calls == []
    done = client.post("/helpdesk/verify", data={"token": "tok-123"})
    assert done.status_code == 302 and "/sign-in" in done.headers["Location"]
    assert gateway.calls == [("POST", "/helpdesk/accounts/verify", {"token": "tok-123"})]


def test_a_used_link_is_explained(portal):
    client, _ = portal(
        ApiProblem(400, "invalid_input", "Invalid input.", {"token": ["The link is used."]})
    )
    page = client.post("/helpdesk/verify", data={"token": "old"})
    assert page.status_code == 400 and "The link is used." in page.get_data(as_text=True)


def test_in_spanish_and_my_cases_need_signing_in(portal):
    client, _ = portal(None)
    client.get("/language/es")
    assert "Registrarse en la Mesa de Ayuda" in client.get("/helpdesk/register").get_data(
        as_text=True
    )
    assert "/sign-in" in client.get("/helpdesk/cases").headers["Location"]


CASE = {
    "id": "case-1",
    "reference": "HD-7K3Q9X2M",
    "status": "pending",
    "summary": "Shipment arrived warm",
    "description": "The logger shows 12 C.",
    "topic": "inventory_and_ordering",
    "resolution_notes": None,
    "entries": [
        {"kind": "created", "at": "2026-12-01T15:00:00+00:00", "body": None},
        {"kind": "reply", "at": "2026-12-01T16:00:00+00:00", "body": "Send the report, please."},
    ],
}


@pytest.fixture
def signed_in(portal, monkeypatch):
    from portal.tokens import TokenStore

    def make(answers):
        client, gateway = portal(answers, routed=True)
        monkeypatch.setattr(TokenStore, "access_token", lambda self, ref: "token")
        with client.session_transaction() as session:
            session["auth"] = "ref"
            session["role"] = "requester"
            session["seen"] = 9e12
        return client, gateway

    return make


def test_a_requester_files_a_case_and_follows_it(signed_in):
    client, gateway = signed_in(
        {
            ("GET", "/helpdesk/my/cases"): [CASE],
            ("POST", "/helpdesk/cases"): CASE,
            ("GET", "/helpdesk/my/cases/case-1"): CASE,
            ("POST", "/helpdesk/my/cases/case-1/replies"): CASE,
        }
    )
    listed = client.get("/helpdesk/cases").get_data(as_text=True)
    assert "HD-7K3Q9X2M" in listed and "Waiting for your answer" in listed
    assert client.get("/helpdesk/cases/new").status_code == 200
    filed = client.post(
        "/helpdesk/cases/new",
        data={
            "requester_type": "vaccine_provider",
            "topic": "inventory_and_ordering",
            "organization_id": "demo-org",
            "summary": "Shipment arrived warm",
            "description": "The logger shows 12 C.",
            "language": "en",
            "contact_channel": "email",
        },
    )
    assert filed.status_code == 302 and filed.headers["Location"].endswith("/helpdesk/cases/case-1")
    sent = gateway.calls[-1]
    assert sent[:2] == ("POST", "/helpdesk/cases") and "location_id" not in sent[2]
    page = client.get("/helpdesk/cases/case-1").get_data(as_text=True)
    assert "Send the report, please." in page and "The Help Desk answered:" in page
    replied = client.post("/helpdesk/cases/case-1", data={"body": "Here it is."})
    assert replied.status_code == 302
    assert gateway.calls[-1] == (
        "POST",
        "/helpdesk/my/cases/case-1/replies",
        {"body": "Here it is."},
    )


def test_a_refused_case_keeps_what_was_typed(signed_in):
    problem = ApiProblem(
        400,
        "invalid_input",
        "Invalid input.",
        {"organization_id": ["A vaccine provider names their organization."]},
    )
    client, _ = signed_in({("POST", "/helpdesk/cases"): problem})
    page = client.post(
        "/helpdesk/cases/new",
        data={"requester_type": "vaccine_provider", "summary": "Kept", "description": "Also"},
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "A vaccine provider names their organization." in text and 'value="Kept"' in text


def test_articles_are_suggested_from_the_summary_before_the_case_is_sent(signed_in):
    article = {"id": "a-1", "title": "Unlock your account", "excerpt": "Wait an hour."}
    client, gateway = signed_in(
        {
            ("GET", "/helpdesk/articles"): [article],
            ("GET", "/helpdesk/articles/a-1"): {
                "id": "a-1",
                "title": "Unlock your account",
                "body": "Wait an hour.",
                "language": "en",
            },
        }
    )
    page = client.post(
        "/helpdesk/cases/new",
        data={"action": "suggest", "summary": "locked out", "description": "", "language": "en"},
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Unlock your account" in text
    assert 'value="locked out"' in text  # the form is kept, nothing is filed
    assert [call[:2] for call in gateway.calls] == [("GET", "/helpdesk/articles")]
    assert "Wait an hour." in client.get("/helpdesk/articles/a-1").get_data(as_text=True)


AGENT_CASE = {
    **CASE,
    "requester_id": "user-ana",
    "priority": "high",
    "team_id": "inventory",
    "entries": [
        *CASE["entries"],
        {"kind": "note", "public": False, "at": "2026-12-01T16:05:00+00:00", "body": "Vendor?"},
    ],
}


def test_an_agent_works_the_queue_and_a_case(signed_in):
    client, gateway = signed_in(
        {
            ("GET", "/helpdesk/queue"): [{**CASE, "priority": "high", "next_due_at": None}],
            ("GET", "/helpdesk/cases/case-1"): AGENT_CASE,
            ("GET", "/users/user-ana"): {"id": "user-ana", "username": "ana@example.org"},
            ("POST", "/helpdesk/cases/case-1/notes"): AGENT_CASE,
            ("POST", "/helpdesk/cases/case-1/resolve"): AGENT_CASE,
        }
    )
    with client.session_transaction() as session:
        session["role"] = "helpdesk"
    assert "HD-7K3Q9X2M" in client.get("/helpdesk/queue").get_data(as_text=True)
    page = client.get("/helpdesk/work/case-1").get_data(as_text=True)
    assert "Vendor?" in page and "ana@example.org" in page
    assert "/provider/admin/users?q=ana@example.org" in page
    noted = client.post("/helpdesk/work/case-1", data={"action": "note", "body": "Checked."})
    assert noted.status_code == 302
    assert gateway.calls[-1] == ("POST", "/helpdesk/cases/case-1/notes", {"body": "Checked."})
    client.post("/helpdesk/work/case-1", data={"action": "resolve", "notes": "Released."})
    assert gateway.calls[-1] == ("POST", "/helpdesk/cases/case-1/resolve", {"notes": "Released."})
