"""Provider enrollment: the applicant's draft held by its edit token, submission checked
completely, and a state admin's approval or rejection."""

import pytest
from sqlalchemy import select

from cvms_platform.tables import outbox
from identity.models import Location, Organization, PasswordLink, User

ENROLLMENTS = "/api/v1/enrollments"
REVIEWS = "/api/v1/enrollment-reviews"


def start(client, form=None):
    response = client.post(ENROLLMENTS, json=form if form is not None else {})
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    return answer["id"], {"X-Enrollment-Token": answer["edit_token"]}


def submitted(client, form):
    enrollment_id, token = start(client, form)
    response = client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token)
    assert response.status_code == 200, response.get_json()
    return enrollment_id, token


def events(app, event_type=None):
    with app.extensions["cvms_sessions"]() as session:
        rows = session.execute(select(outbox.c.event_type, outbox.c.body)).all()
    return [row.body for row in rows if event_type in (None, row.event_type)]


def test_a_draft_is_saved_incomplete_and_read_only_with_its_token(client):
    enrollment_id, token = start(client, {"organization": {"legal_name": "Half Done LLC"}})

    read = client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=token)
    assert read.status_code == 200
    assert read.get_json()["organization"] == {"legal_name": "Half Done LLC"}
    assert read.get_json()["status"] == "draft"
    assert client.get(f"{ENROLLMENTS}/{enrollment_id}").status_code == 404
    wrong = {"X-Enrollment-Token": "not-the-token"}
    assert client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=wrong).status_code == 404
    assert client.put(f"{ENROLLMENTS}/{enrollment_id}", json={}, headers=wrong).status_code == 404


def test_the_edit_token_is_stored_only_as_its_digest(app, client):
    response = client.post(ENROLLMENTS, json={})
    token = response.get_json()["edit_token"]
    with app.extensions["cvms_sessions"]() as session:
        stored = session.execute(select(outbox.c.body)).all()  # nothing published for a draft
        from identity.models import Enrollment

        row = session.get(Enrollment, response.get_json()["id"])
    assert stored == []
    assert token not in row.edit_token_hash and len(row.edit_token_hash) == 64


def test_saving_replaces_the_sections_given_and_keeps_the_others(client, complete_form):
    form = complete_form()
    enrollment_id, token = start(client, {"organization": form["organization"]})
    saved = client.put(
        f"{ENROLLMENTS}/{enrollment_id}", json={"locations": form["locations"]}, headers=token
    )
    assert saved.status_code == 200
    assert saved.get_json()["organization"] == form["organization"]
    assert saved.get_json()["locations"] == form["locations"]


def test_a_save_with_a_malformed_field_is_refused_field_by_field(client):
    enrollment_id, token = start(client)
    response = client.put(
        f"{ENROLLMENTS}/{enrollment_id}",
        json={"locations": [{"id": "not a valid id", "users": [{"role": "janitor"}]}]},
        headers=token,
    )
    assert response.status_code == 400
    fields = response.get_json()["fields"]["locations"]["0"]
    assert "id" in fields and "role" in fields["users"]["0"]


def test_an_incomplete_enrollment_cannot_be_submitted(client, complete_form):
    form = complete_form()
    del form["organization"]["chief_medical_officer"]
    form["locations"][1]["users"] = [form["locations"][1]["users"][1]]  # no manager
    enrollment_id, token = start(client, form)
    response = client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert "chief_medical_officer" in fields["organization"]
    assert client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=token).get_json()["status"] == (
        "draft"
    )


def test_the_primary_contact_is_not_also_a_location_user(client, complete_form):
    form = complete_form()
    form["locations"][0]["users"][0]["email"] = form["organization"]["primary_contact"]["email"]
    enrollment_id, token = start(client, form)
    response = client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token)
    assert response.status_code == 422
    assert "locations.0.users" in response.get_json()["fields"]


def test_a_taken_location_id_is_refused_at_submission(client, complete_form):
    form = complete_form()
    form["locations"][0]["id"] = "demo-clinic"
    enrollment_id, token = start(client, form)
    response = client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token)
    assert response.status_code == 422
    assert "locations.0.id" in response.get_json()["fields"]


def test_a_submitted_enrollment_can_no_longer_be_changed(client, complete_form):
    enrollment_id, token = submitted(client, complete_form())
    assert client.put(f"{ENROLLMENTS}/{enrollment_id}", json={}, headers=token).status_code == 409
    assert client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token).status_code == 409


def test_state_admins_list_and_read_submitted_enrollments_but_not_drafts(
    client, login, complete_form
):
    enrollment_id, _ = submitted(client, complete_form())
    draft_id, _ = start(client)
    admin = login("state.admin")
    listed = client.get(REVIEWS, headers=admin).get_json()["enrollments"]
    assert enrollment_id in [e["id"] for e in listed]
    assert draft_id not in [e["id"] for e in listed]
    assert client.get(f"{REVIEWS}/{enrollment_id}", headers=admin).status_code == 200
    assert client.get(f"{REVIEWS}/{draft_id}", headers=admin).status_code == 404
    assert client.get(REVIEWS, headers=login("org.admin")).status_code == 403


def test_rejection_returns_the_enrollment_with_its_reason_and_both_sections(
    client, login, complete_form
):
    form = complete_form()
    enrollment_id, token = submitted(client, form)
    rejected = client.post(
        f"{REVIEWS}/{enrollment_id}/reject",
        json={"reason": "The CMO's license number does not verify."},
        headers=login("state.admin"),
    )
    assert rejected.status_code == 200

    seen = client.get(f"{ENROLLMENTS}/{enrollment_id}", headers=token).get_json()
    assert seen["status"] == "rejected"
    assert seen["rejection_reason"] == "The CMO's license number does not verify."
    assert seen["locations"] == form["locations"]  # Section B kept
    # Correct Section A only, and submit again.
    corrected = dict(form["organization"])
    corrected["chief_medical_officer"] = {
        **corrected["chief_medical_officer"],
        "license_number": "MD-99",
    }
    assert (
        client.put(
            f"{ENROLLMENTS}/{enrollment_id}", json={"organization": corrected}, headers=token
        ).status_code
        == 200
    )
    again = client.post(f"{ENROLLMENTS}/{enrollment_id}/submit", headers=token)
    assert again.status_code == 200
    assert again.get_json()["locations"] == form["locations"]


def test_approval_creates_the_organization_locations_inactive_users_links_and_events(
    app, client, login, complete_form
):
    form = complete_form()
    enrollment_id, _ = submitted(client, form)
    response = client.post(f"{REVIEWS}/{enrollment_id}/approve", headers=login("state.admin"))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    organization_id = answer["organization_id"]
    location_ids = [location["id"] for location in form["locations"]]
    assert answer["location_ids"] == location_ids
    invited = {i["username"]: i for i in answer["invitations"]}
    tag_emails = {
        form["organization"]["primary_contact"]["email"]: "org_admin",
        form["locations"][0]["users"][0]["email"]: "location_manager",
        form["locations"][0]["users"][1]["email"]: "vaccinator",
        form["locations"][1]["users"][0]["email"]: "location_manager",
    }
    assert {name: i["role"] for name, i in invited.items()} == tag_emails

    with app.extensions["cvms_sessions"]() as session:
        assert (
            session.get(Organization, organization_id).legal_name
            == (form["organization"]["legal_name"])
        )
        for location_id in location_ids:
            assert session.get(Location, location_id).organization_id == organization_id
        users = {
            u.username: u
            for u in session.scalars(select(User).where(User.organization_id == organization_id))
        }
        links = session.scalars(select(PasswordLink)).all()
    assert set(users) == set(tag_emails)
    assert not any(user.active for user in users.values())
    vaccinator = users[form["locations"][0]["users"][1]["email"]]
    assert vaccinator.location_ids == location_ids  # listed at both locations: one account
    # The links went by e-mail (user_invited), not to the approving admin.
    assert all(i["sent_by_email"] and "set_password_token" not in i for i in answer["invitations"])
    identity = app.extensions["test_identity"]
    tokens = {identity.delivered_token(i["link_id"]) for i in answer["invitations"]}
    with app.extensions["cvms_sessions"]() as session:
        links = session.scalars(select(PasswordLink)).all()
    assert not tokens & {link.token_hash for link in links}

    enrolled = events(app, "provider_enrolled")
    assert [e["payload"]["organization_id"] for e in enrolled] == [organization_id]
    assert enrolled[0]["payload"]["location_ids"] == location_ids
    located = events(app, "location_enrolled")
    assert [e["payload"]["location_id"] for e in located] == location_ids
    assert located[0]["payload"]["phone"] == form["locations"][0]["phone"]
    invites = events(app, "user_invited")
    assert len(invites) == 4
    assert set(invites[0]["payload"]) == {"user_id", "link_id", "organization_id", "expires_at"}

    # Decided: neither approved again nor rejected.
    admin = login("state.admin")
    assert client.post(f"{REVIEWS}/{enrollment_id}/approve", headers=admin).status_code == 409
    assert (
        client.post(
            f"{REVIEWS}/{enrollment_id}/reject", json={"reason": "late"}, headers=admin
        ).status_code
        == 409
    )


def test_an_invited_user_signs_in_only_after_setting_a_password(app, client, login, complete_form):
    form = complete_form()
    enrollment_id, _ = submitted(client, form)
    answer = client.post(
        f"{REVIEWS}/{enrollment_id}/approve", headers=login("state.admin")
    ).get_json()
    admin_invite = next(i for i in answer["invitations"] if i["role"] == "org_admin")
    username = admin_invite["username"]
    sign_in = {"username": username, "password": "a long enough passphrase"}
    assert client.post("/api/v1/auth/token", json=sign_in).status_code == 401

    token = app.extensions["test_identity"].delivered_token(admin_invite["link_id"])
    set_it = {"token": token, "password": sign_in["password"]}
    assert client.post("/api/v1/auth/password/set", json=set_it).status_code == 204
    session = client.post("/api/v1/auth/token", json=sign_in)
    assert session.status_code == 200
    # The organization admin acts for the organization's locations.
    assert session.get_json()["locations"] == sorted(answer["location_ids"])
    # The link died when used.
    again = client.post("/api/v1/auth/password/set", json=set_it)
    assert again.status_code == 400
    assert "token" in again.get_json()["fields"]


@pytest.mark.parametrize("status", ["approved", "rejected", "nonsense"])
def test_the_review_list_filters_by_status(client, login, status):
    response = client.get(f"{REVIEWS}?status={status}", headers=login("state.admin"))
    assert response.status_code == (400 if status == "nonsense" else 200)
