"""The main pages at a desktop's width (1280 px) and a phone's (390 px): each answers, has no
serious or critical accessibility violation at either width, and nothing on it is wider than
the screen. Their screenshots are the ones in docs/screenshots/ (`make screenshots`)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.conftest import DEMO_LOCATION, MANAGER

LOCATION = f"/provider/locations/{DEMO_LOCATION}"
PUBLIC_PAGES = {
    "home": "/",
    "sign-in": "/sign-in",
    "public-find": "/find?zip=30303&radius=25",
    "public-appointment": "/appointments",
    "enroll": "/enroll/",
    "recipient-claim": "/my/claim",
}
MANAGER_PAGES = {
    "provider-home": "/provider/",
    "inventory": f"{LOCATION}/inventory",
    "record-dose-find": f"{LOCATION}/recipients",
    "clinic-days": f"{LOCATION}/clinic-days",
    "appointments": f"{LOCATION}/appointments",
    "listing": f"{LOCATION}/listing",
    "report": f"{LOCATION}/reports/levels",
    "offline": f"{LOCATION}/offline",
}


def _no_sideways_scroll(browsing) -> None:
    overflow = browsing.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{browsing.page.url} is {overflow} px wider than the screen"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_public_pages_at_both_widths(make_person, viewport):
    person = make_person(viewport=viewport)
    for name, path in PUBLIC_PAGES.items():
        response = person.goto(path)
        assert response.status == 200, path
        _no_sideways_scroll(person)
        person.shot(f"screen-{name}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_provider_pages_at_both_widths(make_person, viewport):
    person = make_person(viewport=viewport)
    person.sign_in(*MANAGER)
    for name, path in MANAGER_PAGES.items():
        response = person.goto(path)
        assert response.status == 200, path
        _no_sideways_scroll(person)
        person.shot(f"screen-{name}")
