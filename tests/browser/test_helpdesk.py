"""The help desk in a real browser (issue 15): a person registers a help-desk account on the
portal, opens the verification link from the e-mail, signs in, files a case through Get Help and
finds it in their cases; an agent of the team the routing rule names opens it from the queue,
replies, writes an internal note and resolves it; the requester sees the reply and the
resolution, never the note, and closes the case."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.test_enrollment_admin import press
from tests.conftest import HELPDESK, STATE_ADMIN
from tests.harness import wait_until
from tests.mail import mail_to
from tests.test_helpdesk import PASSWORD, plain, user_id

VERIFY = re.compile(r"https?://[^/\s]+(/helpdesk/verify\?token=[A-Za-z0-9_-]+)")


def test_a_case_from_registration_to_resolution_in_the_portal(person, make_person, cluster, api):
    run = uuid.uuid4().hex[:8]
    email = f"rosa.{run}@example.org"
    summary = f"The portal logs me out {run}"
    reply = f"Which browser do you use? ({run})"
    note = f"Internal: session cookie too short on staging {run}"
    resolution = f"Sessions now last 30 minutes; sign in again. ({run})"

    # Set-up the portal has no page for: a team with the demo agent, and a rule naming it.
    admin = api.as_user(*STATE_ADMIN)
    agent = api.as_user(*HELPDESK)
    team = f"web-{run}"
    created = admin.post(
        "/helpdesk/teams",
        json={"id": team, "name": "Web", "agent_ids": [user_id(agent)], "round_robin": True},
    )
    assert created.status_code == 201, created.text
    rule = admin.post(
        "/helpdesk/rules",
        json={
            "topic": "technical_problem",
            "requester_type": "public",
            "language": "en",
            "team_id": team,
        },
    )
    assert rule.status_code == 201, rule.text

    # (1) The requester registers from the portal's navigation.
    page = person.page
    person.goto("/")
    page.get_by_role("link", name="Help Desk", exact=True).click()
    expect(page.get_by_role("heading", name="Register for the Help Desk")).to_be_visible()
    person.check_accessibility()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD + " typo")
    press(person, "Register")
    expect(page.get_by_text("The two passwords differ.").first).to_be_visible()
    person.shot("helpdesk-register-error")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    press(person, "Register")
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    person.shot("helpdesk-registered")

    # Not verified yet: signing in is refused.
    person.sign_in(email, PASSWORD)
    expect(page.get_by_text("Wrong username or password.").first).to_be_visible()

    links = wait_until(
        lambda: [link for m in mail_to(cluster, email) for link in VERIFY.findall(plain(m))],
        timeout=30,
        what=f"the verification e-mail to {email}",
    )
    person.goto(links[-1])
    expect(page.get_by_role("heading", name="Verify your e-mail address")).to_be_visible()
    person.shot("helpdesk-verify")
    press(person, "Verify my address")
    expect(page.get_by_text("Your e-mail address is verified.")).to_be_visible()
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    press(person, "Sign in")
    expect(page.get_by_role("heading", name="My Help Desk cases")).to_be_visible()
    expect(page.get_by_text("You have no cases yet.")).to_be_visible()

    # Get Help: the intake form, answers looked for first, then sent.
    page.get_by_role("link", name="Get Help").click()
    expect(page.get_by_role("heading", name="Get Help")).to_be_visible()
    person.check_accessibility()
    page.get_by_label("I am").select_option(label="A member of the public")
    page.get_by_label("What is it about?").select_option(label="A technical problem")
    page.get_by_label("Summary").fill(summary)
    page.get_by_label("Describe the problem").fill("After a minute or two I am signed out.")
    page.get_by_label("Answer me in").select_option(label="English")
    page.get_by_label("Contact me").select_option(label="By e-mail")
    press(person, "Find answers first")
    expect(page.get_by_role("heading", name="Articles that may answer it")).to_be_visible()
    expect(page.get_by_label("Summary")).to_have_value(summary)  # what was typed is kept
    person.shot("helpdesk-get-help")
    press(person, "Send")
    filed = page.get_by_text(re.compile(r"Your case (\S+) is filed\."))
    expect(filed).to_be_visible()
    reference = re.search(r"Your case (\S+) is filed", filed.inner_text()).group(1)
    expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()

    page.get_by_role("link", name="My Help Desk cases").first.click()
    person.check_accessibility()
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text(summary)
    expect(row).to_contain_text("A technical problem")
    expect(row).to_contain_text("New")
    person.shot("helpdesk-my-cases")

    # (2) The agent: the queue, the case, a reply, an internal note, the resolution.
    desk = make_person()
    desk.sign_in(*HELPDESK)
    desk.page.get_by_role("link", name="Help desk queue").click()
    expect(desk.page.get_by_role("heading", name="Help desk queue")).to_be_visible()
    desk.check_accessibility()
    expect(desk.page.get_by_role("row").filter(has_text=reference)).to_contain_text(summary)
    desk.shot("helpdesk-queue")
    desk.page.get_by_role("link", name=reference, exact=True).click()
    work = desk.page
    expect(work.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
    desk.check_accessibility()
    expect(work.get_by_text(f"Requester: {email}")).to_be_visible()
    expect(work.get_by_text(team)).to_be_visible()  # routed by the rule

    work.get_by_label("Reply to the requester").fill(reply)
    work.get_by_label("Then").select_option(label="Wait for the requester")
    press(desk, "Send the reply")
    expect(work.get_by_text("Your reply is sent to the requester.")).to_be_visible()
    # An empty note is refused beside the note's field, not the reply's.
    press(desk, "Add the note")
    note_field = work.get_by_label("Internal note (never shown to the requester)")
    expect(note_field).to_have_attribute("aria-invalid", "true")
    expect(work.get_by_label("Reply to the requester")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    note_field.fill(note)
    press(desk, "Add the note")
    expect(work.get_by_text("The internal note is added.")).to_be_visible()
    history = work.get_by_role("listitem").filter(has_text=note)
    expect(history).to_contain_text("(internal)")
    expect(work.get_by_role("listitem").filter(has_text=reply)).not_to_contain_text("(internal)")
    desk.shot("helpdesk-work")
    work.get_by_label("Resolution notes (e-mailed to the requester)").fill(resolution)
    press(desk, "Resolve")
    expect(work.get_by_text("The case is resolved")).to_be_visible()
    expect(work.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(work.get_by_text("Resolved", exact=False).first).to_be_visible()
    desk.shot("helpdesk-work-resolved")

    # (3) The requester: the reply and the resolution, never the note.
    page.get_by_role("link", name=reference).click()
    person.check_accessibility()
    expect(page.get_by_text("The Help Desk answered:").first).to_be_visible()
    expect(page.get_by_text(reply)).to_be_visible()
    expect(page.get_by_role("heading", name="Resolution")).to_be_visible()
    expect(page.get_by_text(resolution)).to_be_visible()
    expect(page.get_by_text(f"{summary} · Resolved")).to_be_visible()
    assert note not in page.content()
    person.shot("helpdesk-case-resolved")
    # E-mailed the reply and the notes; the note in none of the e-mails.
    mails = wait_until(
        lambda: (
            (found := [plain(m) for m in mail_to(cluster, email)])
            and any(resolution in text for text in found)
            and any(reply in text for text in found)
            and found
        ),
        timeout=30,
        what="the reply and resolution e-mails",
    )
    assert not any(note in text for text in mails)

    press(person, "The problem is solved: close the case")
    expect(page.get_by_text("Thank you. The case is closed.")).to_be_visible()
    expect(page.get_by_text(f"{summary} · Closed")).to_be_visible()
    expect(page.get_by_label("Your reply")).to_have_count(0)
