"""Browser tests: Playwright for Python driving Debian's Chromium against the real stack
(portal, gateway, services, PostgreSQL, RabbitMQ), with axe-core on every page visited.

Screenshots go to a temporary folder; with CVMS_SCREENSHOTS=1 (`make screenshots`) they are
written to docs/screenshots/ instead, to be looked at and committed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import MANAGER  # noqa: F401 - re-exported for the tests

if "eventlet" in sys.modules and sys.modules["eventlet"].patcher.is_monkey_patched("socket"):
    # Playwright's sync API waits forever in a process green with eventlet (the nameko suites'
    # conftests patch it): say so at once rather than hang.
    raise pytest.UsageError(
        "the browser tests need a pytest process of their own: pytest tests/browser "
        "(make test runs them so)"
    )

CHROMIUM = os.environ.get("CVMS_CHROMIUM", "/usr/bin/chromium")
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# What axe may find at most: nothing serious or critical.
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def portal_url(cluster) -> str:
    return cluster.start_portal()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (make install installs it)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir():
    if os.environ.get("CVMS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        yield DOCS_SCREENSHOTS
        return
    path = Path(tempfile.mkdtemp(prefix="cvms-screens-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Browsing:
    """One person's browser: a page, with axe checks and screenshots along the way."""

    def __init__(self, context, base_url: str, screenshot_dir: Path, axe: Axe):
        self.context = context
        self.page = context.new_page()
        self.base = base_url.rstrip("/")
        self.screenshot_dir = screenshot_dir
        self.axe = axe
        self.checked: set[str] = set()

    def goto(self, path: str):
        response = self.page.goto(f"{self.base}{path}")
        self.check_accessibility()
        return response

    def check_accessibility(self) -> None:
        """axe-core on the page as it is now: no serious or critical violation."""
        key = re.sub(r"[0-9a-f]{8,}|\d+", "#", self.page.url.split("?")[0])
        if key in self.checked:
            return
        self.checked.add(key)
        results = self.axe.run(self.page)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} -> "
            + "; ".join(n["target"][0] if n.get("target") else "?" for n in v["nodes"][:3])
            for v in results.response["violations"]
            if v.get("impact") in BLOCKING_IMPACTS
        ]
        assert not blocking, f"accessibility violations on {self.page.url}:\n" + "\n".join(blocking)

    def shot(self, name: str) -> Path:
        width = self.page.viewport_size["width"]
        path = self.screenshot_dir / f"{name}-{width}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/sign-in")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()
        self.check_accessibility()

    def cookie(self, name: str) -> dict | None:
        return next((c for c in self.context.cookies() if c["name"] == name), None)


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def person(browser, portal_url, screenshot_dir, axe):
    """A desktop browser (1280 px wide), English."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    yield Browsing(context, portal_url, screenshot_dir, axe)
    context.close()


@pytest.fixture
def phone(browser, portal_url, screenshot_dir, axe):
    """A phone-sized browser (390 px wide), touch, English."""
    context = browser.new_context(
        viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield Browsing(context, portal_url, screenshot_dir, axe)
    context.close()


@pytest.fixture
def make_person(browser, portal_url, screenshot_dir, axe):
    """More browsers in one test (two people at once, another language or size)."""
    contexts = []

    def make(viewport=DESKTOP, locale="en-US", **options) -> Browsing:
        context = browser.new_context(viewport=viewport, locale=locale, **options)
        contexts.append(context)
        return Browsing(context, portal_url, screenshot_dir, axe)

    yield make
    for context in contexts:
        context.close()
