"""Stopping reminders from a reminder e-mail's link: a page with a button (a mail scanner that
follows the link stops nothing), then the API's answer said plainly; unknown links explained."""

from __future__ import annotations

import pytest

from portal.gateway import ApiProblem

MESSAGE = "3f2b4c1e-8d7a-4e5f-9a0b-1c2d3e4f5a6b"


def test_the_link_asks_first_and_stops_on_the_click(portal):
    client, gateway = portal({"masked_address": "a***@example.org", "channel": "email"})
    page = client.get(f"/unsubscribe?m={MESSAGE}")
    assert page.status_code == 200 and "Stop reminders" in page.get_data(as_text=True)
    assert gateway.calls == []  # opening the link changes nothing

    done = client.post("/unsubscribe", data={"m": MESSAGE})
    assert done.status_code == 200
    assert "No more reminders will go to a***@example.org." in done.get_data(as_text=True)
    assert gateway.calls == [("POST", "/public/reminders/stop", {"message_id": MESSAGE})]


def test_in_spanish(portal):
    client, _ = portal({"masked_address": "a***@example.org", "channel": "email"})
    client.get("/language/es")
    assert "Dejar de recibir recordatorios" in client.get(f"/unsubscribe?m={MESSAGE}").get_data(
        as_text=True
    )


@pytest.mark.parametrize("link", ["", "?m=nonsense", "?m=../../etc"])
def test_a_broken_link_is_explained(portal, link):
    client, gateway = portal(None)
    answer = client.get(f"/unsubscribe{link}")
    assert answer.status_code == 404 and "This link does not work" in answer.get_data(as_text=True)
    assert gateway.calls == []


def test_a_link_the_api_does_not_know_is_explained(portal):
    client, _ = portal(ApiProblem(404, "not_found", "No such message."))
    answer = client.post("/unsubscribe", data={"m": MESSAGE})
    assert answer.status_code == 404 and "This link does not work" in answer.get_data(as_text=True)
