"""The development mailbox in a real browser: a booking's confirmation e-mail, as the mail
catcher kept it, listed and read (only with CVMS_DEVELOPMENT=1, which the test stack sets as
`make run` does)."""

from __future__ import annotations

import uuid

from tests.harness import wait_until
from tests.test_notifications import mail_to
from tests.test_scheduling import Public, book, clinic_day, publish
from tests.test_scheduling import person as booker


def test_a_newcomer_reads_the_confirmation_the_demo_sent(person, cluster, api, admin, location):
    publish(admin, location)
    day = clinic_day(admin, location, capacity=1)
    address = f"reader.{uuid.uuid4().hex[:8]}@example.org"
    booked = book(Public(api), day["slots"][0]["id"], booker(email=address, given_name="Rae"))
    assert booked.status_code == 201, booked.text
    code = booked.json()["confirmation_code"]
    [mail] = wait_until(lambda: mail_to(cluster, address), what="the confirmation")

    person.goto("/mailbox")
    person.shot("mailbox")
    person.page.get_by_role("link", name=mail["Subject"]).first.click()
    person.page.wait_for_load_state()
    person.check_accessibility()
    person.shot("mailbox-message")
    text = person.page.locator("pre").inner_text()
    assert code in text and "Hello Rae" in text
