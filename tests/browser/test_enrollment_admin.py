"""Provider enrollment and administration in a real browser.

An applicant fills the enrollment form (Section A, then Section B with rows added by the form's
own buttons), saves a draft, is told beside the fields what is missing, submits; a state admin
rejects it with a reason; the applicant sees the reason with Section B kept, corrects and
resubmits; the state admin approves, and each user is e-mailed a set-password link. An organization
admin adds a user and issues an API key (shown once); a state admin searches the audit log."""

from __future__ import annotations

import re
import uuid

import requests

from tests.conftest import ORG_ADMIN, STATE_ADMIN
from tests.mail import emailed_set_password_token


def press(browsing, button: str) -> None:
    """Click a form button (a full page, no script) and check the page it leads to."""
    with browsing.page.expect_navigation():
        browsing.page.get_by_role("button", name=button, exact=True).click()
    browsing.check_accessibility()


def tick(page, label: str) -> None:
    """A USWDS checkbox: the person clicks its label (the box itself is drawn by the label)."""
    page.locator("label.usa-checkbox__label", has_text=label).click()
    assert page.get_by_label(label).is_checked()


def group(page, name: str):
    return page.get_by_role("group", name=name, exact=True)


def fill_address(scope, line1: str) -> None:
    scope.get_by_label("Street address", exact=True).fill(line1)
    scope.get_by_label("City").fill("Springfield")
    scope.get_by_label("State (2 letters)").fill("IL")
    scope.get_by_label("ZIP code").fill("62701")


def fill_user(page, location: int, number: int, name: str, email: str, role: str) -> None:
    row = group(page, f"User {number} of location {location}")
    row.get_by_label("Full name").fill(name)
    row.get_by_label("E-mail").fill(email)
    row.get_by_label("Role").select_option(role)


def fill_location(page, number: int, code: str, name: str, kind: str) -> None:
    location = group(page, f"Location {number}")
    location.get_by_label("Location name").fill(name)
    location.get_by_label("Location code").fill(code)
    location.get_by_label("Type of location").select_option(kind)
    fill_address(location, f"{number} Clinic Rd")
    location.get_by_label("Location phone").fill("+1 217 555 0110")
    location.get_by_label("Refrigerated (2 to 8 °C)").fill("1200")
    location.get_by_label("Frozen (-25 to -15 °C)").fill("600")
    location.get_by_label("Ultra-cold (-90 to -60 °C)").fill("0")


def test_an_enrollment_is_rejected_and_resubmitted_with_section_b_kept(
    person, make_person, cluster
):
    tag = uuid.uuid4().hex[:8]
    page = person.page
    person.goto("/enroll/")
    page.get_by_role("link", name="Start an application").click()
    person.check_accessibility()

    # Section A, without the backup contact for now.
    organization = group(page, "Organization")
    organization.get_by_label("Legal name of the organization").fill(f"Prairie Health {tag}")
    fill_address(organization, "12 Main St")
    cmo = group(page, "Chief medical officer")
    cmo.get_by_label("Name of the chief medical officer").fill("Dr. Ada Cmo")
    cmo.get_by_label("Medical license number").fill("MD-1234")
    cmo.get_by_label("E-mail of the chief medical officer").fill(f"cmo-{tag}@prairie.example")
    primary = group(page, "Primary contact")
    primary.get_by_label("Name of the primary contact").fill("Pat Primary")
    primary.get_by_label("E-mail of the primary contact").fill(f"primary-{tag}@prairie.example")
    primary.get_by_label("Phone of the primary contact").fill("+1 217 555 0101")

    # Section B: one location with two users (the second row added by the form), then a second
    # location, added and filled the same way.
    fill_location(page, 1, f"prairie-{tag}-north", "Prairie North Clinic", "clinic")
    fill_user(page, 1, 1, "Mia Manager", f"mia-{tag}@prairie.example", "location_manager")
    press(person, "Add another user to location 1")
    fill_user(page, 1, 2, "Val Vaccinator", f"val-{tag}@prairie.example", "vaccinator")
    press(person, "Add another location")
    fill_location(page, 2, f"prairie-{tag}-south", "Prairie South Pharmacy", "pharmacy")
    fill_user(page, 2, 1, "Sam South", f"sam-{tag}@prairie.example", "location_manager")
    # A row added by mistake is removed again.
    press(person, "Add another user to location 2")
    press(person, "Remove user 2 of location 2")
    assert group(page, "User 2 of location 2").count() == 0
    person.shot("enrollment-form")

    press(person, "Save draft")
    enrollment_id = re.search(r"/enroll/([0-9a-f-]{36})", page.url).group(1)
    edit_token = page.locator("#edit-token").inner_text().strip()
    assert edit_token
    # Submitting what is incomplete: the API's 422 beside the backup contact's fields.
    press(person, "Submit for review")
    backup = group(page, "Backup contact")
    assert backup.locator(".usa-error-message").count() >= 1
    assert page.locator("#error-summary").is_visible()
    backup.get_by_label("Name of the backup contact").fill("Bo Backup")
    backup.get_by_label("E-mail of the backup contact").fill(f"backup-{tag}@prairie.example")
    backup.get_by_label("Phone of the backup contact").fill("+1 217 555 0102")
    press(person, "Submit for review")
    assert "Submitted" in page.locator("#enrollment-status").text_content()

    # The state admin returns it with a reason.
    admin = make_person()
    admin.sign_in(*STATE_ADMIN)
    admin.page.get_by_role("link", name="Open Enrollment review queue").click()
    admin.check_accessibility()
    admin.page.get_by_role("link", name=f"Prairie Health {tag}").click()
    admin.check_accessibility()
    admin.shot("enrollment-review")
    reason = "The medical license number must be the state's format, MD-000000."
    admin.page.get_by_label("Reason for the applicant").fill(reason)
    press(admin, "Reject and return to the applicant")
    assert admin.page.get_by_text("The application is returned to the applicant.").is_visible()

    # The applicant comes back from another browser with the number and edit code.
    applicant = make_person()
    applicant.goto("/enroll/resume")
    applicant.page.get_by_label("Application number").fill(enrollment_id)
    applicant.page.get_by_label("Edit code").fill(edit_token)
    press(applicant, "Continue")
    page = applicant.page
    assert page.locator("#rejection-reason").inner_text() == reason
    # Section B is kept: both locations and their users, as sent.
    north, south = group(page, "Location 1"), group(page, "Location 2")
    assert north.get_by_label("Location name").input_value() == "Prairie North Clinic"
    assert north.get_by_label("Location code").input_value() == f"prairie-{tag}-north"
    assert north.get_by_label("Refrigerated (2 to 8 °C)").input_value() == "1200"
    assert south.get_by_label("Type of location").input_value() == "pharmacy"
    assert group(page, "User 2 of location 1").get_by_label("E-mail").input_value() == (
        f"val-{tag}@prairie.example"
    )
    assert group(page, "User 1 of location 2").get_by_label("Role").input_value() == (
        "location_manager"
    )
    group(page, "Chief medical officer").get_by_label("Medical license number").fill("MD-123456")
    press(applicant, "Submit for review")
    assert "Submitted" in page.locator("#enrollment-status").text_content()

    # Approved: each user's one-time link goes to them by e-mail, not to the admin.
    admin.goto("/provider/enrollments")
    admin.page.get_by_role("link", name=f"Prairie Health {tag}").click()
    assert "MD-123456" in admin.page.locator("main").inner_text()
    press(admin, "Approve the application")
    assert admin.page.locator("code", has_text="/password/set?token=").count() == 0
    emailed = admin.page.get_by_role("cell", name="E-mailed to the user")
    assert emailed.count() == 4  # the primary contact and three location users
    assert admin.page.get_by_text(f"primary-{tag}@prairie.example", exact=True).count() == 1
    assert emailed_set_password_token(cluster, f"primary-{tag}@prairie.example")


def test_an_org_admin_adds_a_user_and_issues_an_api_key(person, cluster):
    person.sign_in(*ORG_ADMIN)
    page = person.page
    page.get_by_role("link", name="Open Users").click()
    person.check_accessibility()
    email = f"new.user.{uuid.uuid4().hex[:6]}@demo.example"
    page.get_by_label("Full name").fill("Nia New")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Role").select_option("vaccinator")
    tick(page, "Demo Community Vaccine Clinic (demo-clinic)")
    press(person, "Add the user")
    assert page.locator("#password-link").count() == 0  # the link went by e-mail
    assert page.get_by_text(f"{email} is created and e-mailed a link").count() == 1
    row = page.get_by_role("row").filter(has_text=email)
    assert "Inactive" in row.text_content()  # until the password is set
    person.shot("admin-users")
    assert emailed_set_password_token(cluster, email)

    # A help-desk style password link for an active user of the organization.
    page.get_by_label("Username or e-mail starts with").fill("clinic.vaccinator")
    press(person, "Find users")
    press(person, "Issue a password link for clinic.vaccinator")
    assert "/password/set?token=" in page.locator("#password-link").inner_text()

    person.goto("/provider/admin/api-keys")
    page.get_by_label("Name of the partner system").fill("Front desk kiosk")
    tick(page, "Read inventory")
    press(person, "Issue the key")
    key = page.locator("#api-key-value").inner_text().strip()
    answer = requests.get(
        f"{cluster.gateway_url}/api/v1/products", headers={"X-API-Key": key}, timeout=10
    )
    assert answer.status_code == 200
    page.reload()
    assert page.locator("#api-key-value").count() == 0  # shown once
    assert key not in page.content()
    press(person, "Revoke Front desk kiosk")
    answer = requests.get(
        f"{cluster.gateway_url}/api/v1/products", headers={"X-API-Key": key}, timeout=10
    )
    assert answer.status_code in (401, 403)


def test_a_state_admin_searches_the_audit_log(person, api, location):
    admin = api.as_user(*STATE_ADMIN)
    admin.receive_lot(location, 10)
    person.sign_in(*STATE_ADMIN)
    page = person.page
    page.get_by_role("link", name="Open Audit log").click()
    person.check_accessibility()
    page.get_by_label("Location id").fill(location)
    press(person, "Search the audit log")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    for index in range(rows.count()):
        assert location in rows.nth(index).inner_text()
    assert "POST" in rows.first.inner_text()
    person.goto("/provider/admin/products")
    assert page.get_by_role("cell", name=re.compile("Pfizer")).count() >= 1
