"""Provider enrollment through the running system: an applicant's draft, a rejection that keeps
Section B, resubmission, approval; the invited users set their passwords and work at their new
locations; the gateway's relay publishes the enrollment events."""

from __future__ import annotations

import requests
from sqlalchemy import create_engine, select

from cvms_platform.tables import outbox
from tests.enrollment_forms import complete_form
from tests.harness import wait_until
from tests.mail import emailed_set_password_token

PASSWORD = "a sturdy passphrase for tests"


def test_reject_resubmit_approve_then_the_new_users_work(api, admin, cluster):
    form = complete_form()
    base = api.base
    started = requests.post(f"{base}/enrollments", json={"organization": form["organization"]})
    assert started.status_code == 201, started.text
    enrollment_id = started.json()["id"]
    token = {"X-Enrollment-Token": started.json()["edit_token"]}
    saved = requests.put(
        f"{base}/enrollments/{enrollment_id}", json={"locations": form["locations"]}, headers=token
    )
    assert saved.status_code == 200, saved.text
    assert requests.post(f"{base}/enrollments/{enrollment_id}/submit", headers=token).ok

    listed = admin.get("/enrollment-reviews").json()["enrollments"]
    assert enrollment_id in [e["id"] for e in listed]
    rejected = admin.post(
        f"/enrollment-reviews/{enrollment_id}/reject",
        json={"reason": "Backup contact phone is the primary's."},
    )
    assert rejected.status_code == 200, rejected.text

    seen = requests.get(f"{base}/enrollments/{enrollment_id}", headers=token).json()
    assert (seen["status"], seen["rejection_reason"]) == (
        "rejected",
        "Backup contact phone is the primary's.",
    )
    assert seen["locations"] == form["locations"]  # Section B kept, not typed again
    corrected = {
        **form["organization"],
        "backup_contact": {**form["organization"]["backup_contact"], "phone": "+1 217 555 0199"},
    }
    assert requests.put(
        f"{base}/enrollments/{enrollment_id}", json={"organization": corrected}, headers=token
    ).ok
    resubmitted = requests.post(f"{base}/enrollments/{enrollment_id}/submit", headers=token)
    assert resubmitted.status_code == 200, resubmitted.text

    approved = admin.post(f"/enrollment-reviews/{enrollment_id}/approve")
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    north = form["locations"][0]["id"]
    manager = next(
        i
        for i in answer["invitations"]
        if i["username"] == form["locations"][0]["users"][0]["email"]
    )
    # The link goes to the manager by e-mail, not to the approving admin.
    assert "set_password_token" not in manager and manager["sent_by_email"] is True
    token = emailed_set_password_token(cluster, manager["username"])
    set_password = requests.post(
        f"{base}/auth/password/set", json={"token": token, "password": PASSWORD}
    )
    assert set_password.status_code == 204, set_password.text

    new_manager = api.as_user(manager["username"], PASSWORD)
    lot = new_manager.receive_lot(north, 30)
    assert new_manager.doses_on_hand(north, lot["id"]) == 30
    # Not the other organization's location.
    assert new_manager.get("/locations/demo-clinic/inventory").status_code == 403

    engine = create_engine(cluster.run.database_url("identity"))
    try:

        def published():
            with engine.connect() as db:
                rows = db.execute(
                    select(outbox.c.event_type, outbox.c.sent_at, outbox.c.unroutable).where(
                        outbox.c.event_type.in_(("provider_enrolled", "location_enrolled"))
                    )
                ).all()
            mine = [r for r in rows if r.sent_at is not None]
            return rows if len(mine) == len(rows) and len(rows) >= 3 else None

        rows = wait_until(published, timeout=30)
        # Scheduling consumes location_enrolled: its queue was bound, so the broker routed it.
        assert all(not r.unroutable for r in rows if r.event_type == "location_enrolled")
    finally:
        engine.dispose()


def test_an_incomplete_submission_gets_field_errors(api):
    form = complete_form()
    del form["locations"][0]["storage_capacity"]
    started = requests.post(f"{api.base}/enrollments", json=form).json()
    response = requests.post(
        f"{api.base}/enrollments/{started['id']}/submit",
        headers={"X-Enrollment-Token": started["edit_token"]},
    )
    assert response.status_code == 422
    assert "storage_capacity" in response.json()["fields"]["locations"]["0"]


def test_lockout_after_failed_sign_ins_holds_across_workers_until_the_help_desk_unlocks(
    api, admin, helpdesk, cluster
):
    # A user of this test's own, so the demo users stay unlocked for other tests.
    form = complete_form()
    enrollment = requests.post(f"{api.base}/enrollments", json=form).json()
    token = {"X-Enrollment-Token": enrollment["edit_token"]}
    assert requests.post(f"{api.base}/enrollments/{enrollment['id']}/submit", headers=token).ok
    invitation = admin.post(f"/enrollment-reviews/{enrollment['id']}/approve").json()[
        "invitations"
    ][1]
    token = emailed_set_password_token(cluster, invitation["username"])
    requests.post(f"{api.base}/auth/password/set", json={"token": token, "password": PASSWORD})
    wrong = {"username": invitation["username"], "password": "not the password"}
    statuses = [
        requests.post(
            f"{api.base}/auth/token", json=wrong, headers={"Connection": "close"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    right = {"username": invitation["username"], "password": PASSWORD}
    assert requests.post(f"{api.base}/auth/token", json=right).status_code == 429

    status = helpdesk.get(f"/users/{invitation['user_id']}").json()
    assert status["locked_for_seconds"] > 0
    assert helpdesk.post(f"/users/{invitation['user_id']}/unlock").status_code == 204
    assert requests.post(f"{api.base}/auth/token", json=right).status_code == 200
