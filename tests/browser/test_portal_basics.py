"""The portal's shared behaviour in a real browser: sign-in and out, the session cookie,
CSRF, the language switch, error pages."""

from __future__ import annotations

import requests

from tests.conftest import MANAGER


def test_sign_in_and_out_with_an_httponly_session_cookie(person):
    person.goto("/")
    person.shot("home")
    person.sign_in(*MANAGER)
    assert "/provider" in person.page.url
    cookie = person.cookie("cvms_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    # The API tokens never reach the browser.
    html = person.page.content()
    assert "access_token" not in html and "eyJ" not in html
    person.page.get_by_role("button", name="Sign out").click()
    assert "/sign-in" in person.page.url
    person.goto("/provider/")
    assert "/sign-in" in person.page.url  # signed out for good


def test_wrong_password_is_said_beside_the_form(person):
    person.goto("/sign-in")
    person.page.get_by_label("Username").fill(MANAGER[0])
    person.page.get_by_label("Password", exact=True).fill("not the password")
    person.page.get_by_role("button", name="Sign in").click()
    assert person.page.get_by_role("alert").filter(has_text="Wrong username or password").count()
    person.check_accessibility()


def test_a_post_without_its_csrf_token_is_refused(portal_url):
    browser = requests.Session()
    browser.get(f"{portal_url}/sign-in", timeout=10)  # a session, but no token sent back
    answer = browser.post(
        f"{portal_url}/sign-in", data={"username": MANAGER[0], "password": MANAGER[1]}, timeout=10
    )
    assert answer.status_code == 400
    assert "This form has expired" in answer.text
    # Right credentials, but nobody was signed in.
    after = browser.get(f"{portal_url}/provider/", allow_redirects=False, timeout=10)
    assert after.status_code == 302 and "/sign-in" in after.headers["Location"]


def test_the_language_switch_is_remembered(person):
    person.goto("/")
    person.page.get_by_role("link", name="Español").first.click()
    assert person.page.locator("html").get_attribute("lang") == "es"
    person.goto("/sign-in")
    assert person.page.locator("html").get_attribute("lang") == "es"
    assert person.page.get_by_role("heading", name="Iniciar sesión").count() == 1
    person.shot("sign-in-es")


def test_unknown_pages_answer_404_in_the_persons_language(make_person):
    spanish = make_person(locale="es-ES")
    response = spanish.goto("/no-such-page")
    assert response.status == 404
    assert spanish.page.locator("html").get_attribute("lang") == "es"
    assert "Página no encontrada" in spanish.page.content()
