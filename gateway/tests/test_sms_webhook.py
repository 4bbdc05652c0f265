"""Twilio's inbound SMS webhook: STOP and START replies reach notifications only with Twilio's
signature of the request (X-Twilio-Signature); without one, 403 and no service is asked."""

import base64
import hashlib
import hmac

import pytest

from cvms_platform.errors import NotFound
from cvms_platform.phones import address_digest
from gateway.api.notifications.routes import signature
from gateway.edge_events import EventNotAccepted

URL = "http://localhost/api/v1/sms/inbound"  # the test client's
TOKEN = "twilio-auth-token-0123456789abcdef"
PHONE = "+12125550199"


@pytest.fixture(autouse=True)
def auth_token(monkeypatch):
    monkeypatch.setenv("CVMS_TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.delenv("CVMS_TWILIO_WEBHOOK_URL", raising=False)


class Broker:
    """Stands in for the broker the gateway publishes SMS replies to: what it took, or
    `refusing` (down, or no queue bound) as EventNotAccepted."""

    def __init__(self):
        self.taken: list = []
        self.refusing = False

    def publish(self, event) -> None:
        if self.refusing:
            raise EventNotAccepted(event.type)
        self.taken.append(event)

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(reply, phone digest) of each event taken."""
        return [(e.payload["reply"], e.payload["phone_digest"]) for e in self.taken]


@pytest.fixture
def published(app):
    """The replies the gateway published (a Broker standing in for RabbitMQ)."""
    broker = app.extensions["cvms_edge_events"] = Broker()
    return broker


STOPPED = [("stop", address_digest(PHONE))]
STARTED = [("start", address_digest(PHONE))]


def form(body: str, **extra) -> dict:
    """What Twilio posts for a reply (some of its fields)."""
    return {
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": PHONE,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def signed(params: dict, *, url: str = URL, token: str = TOKEN) -> str:
    """The signature, computed here as Twilio documents it (not with the gateway's function)."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def post(client, params: dict, signature_value: str | None):
    headers = {} if signature_value is None else {"X-Twilio-Signature": signature_value}
    return client.post("/api/v1/sms/inbound", data=params, headers=headers)


def test_the_signature_is_twilios():
    """A vector computed with Twilio's own RequestValidator (twilio 9.13.0)."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
        "Body": "Stop é",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "j85taXTAqkgTOtBjEIM17rdvFPA="


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop. ", "STOPALL", "Unsubscribe", "cancel", "END", "quit"]
)
def test_stop_opts_the_phone_out(client, published, body):
    params = form(body)
    response = post(client, params, signed(params))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data(as_text=True).endswith("<Response/>")
    assert published.calls == STOPPED


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "yes"])
def test_start_opts_the_phone_back_in(client, published, body):
    params = form(body)
    response = post(client, params, signed(params))
    assert response.status_code == 200
    assert published.calls == STARTED


@pytest.mark.parametrize("body", ["Thanks!", "stop sending me these please", "HELP", ""])
def test_any_other_reply_is_answered_and_ignored(client, published, body):
    params = form(body)
    response = post(client, params, signed(params))
    assert response.status_code == 200
    assert response.get_data(as_text=True).endswith("<Response/>")
    assert published.calls == []


def test_without_a_signature_403_and_nothing_is_asked(client, published, assert_error):
    response = post(client, form("STOP"), None)
    assert_error(response, 403, "invalid_signature")
    assert published.calls == []


def test_a_forged_or_tampered_request_is_refused(client, published, assert_error):
    params = form("STOP")
    assert_error(
        post(client, params, signed(params, token="not-the-token")), 403, "invalid_signature"
    )
    tampered = {**params, "From": "+12125550100"}
    assert_error(post(client, tampered, signed(params)), 403, "invalid_signature")
    elsewhere = signed(params, url="https://attacker.example/api/v1/sms/inbound")
    assert_error(post(client, params, elsewhere), 403, "invalid_signature")
    assert published.calls == []


def test_without_an_auth_token_every_request_is_refused(
    client, published, monkeypatch, assert_error
):
    monkeypatch.delenv("CVMS_TWILIO_AUTH_TOKEN")
    params = form("STOP")
    assert_error(post(client, params, signed(params, token="")), 403, "invalid_signature")
    assert published.calls == []


def test_behind_a_proxy_the_configured_webhook_url_is_the_signed_one(
    client, published, monkeypatch, assert_error
):
    public_url = "https://cvms.example.gov/api/v1/sms/inbound"
    monkeypatch.setenv("CVMS_TWILIO_WEBHOOK_URL", public_url)
    params = form("STOP")
    assert_error(post(client, params, signed(params)), 403, "invalid_signature")
    assert post(client, params, signed(params, url=public_url)).status_code == 200
    assert published.calls == STOPPED


def test_a_signed_request_without_a_sender_is_invalid(client, published, assert_error):
    params = form("STOP")
    del params["From"]
    body = assert_error(post(client, params, signed(params)), 400, "invalid_input")
    assert "From" in body["fields"]
    assert published.calls == []


def test_a_reply_is_published_as_an_event_without_the_phone_number(client, published):
    params = form("STOP")
    assert post(client, params, signed(params)).status_code == 200
    [event] = published.taken
    assert (event.type, event.source) == ("sms_reply_received", "gateway")
    assert event.payload["message_sid"] == params["MessageSid"]
    assert PHONE not in str(event.payload) and "2125550199" not in str(event.payload)


def test_a_reply_the_broker_does_not_take_is_503_for_twilio_to_send_again(
    client, published, assert_error
):
    published.refusing = True
    params = form("STOP")
    assert_error(post(client, params, signed(params)), 503, "unavailable")
    params = form("Thanks!")  # nothing to keep: answered as ever
    assert post(client, params, signed(params)).status_code == 200


def test_a_sender_that_is_not_a_phone_number_is_invalid(client, published, assert_error):
    params = form("STOP", From="not-a-phone")
    body = assert_error(post(client, params, signed(params)), 400, "invalid_input")
    assert "From" in body["fields"]
    assert published.calls == []


def test_the_webhook_is_documented_as_public(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/sms/inbound"]["post"]
    assert "security" not in operation and "x-roles" not in operation
    assert operation["tags"] == ["sms"]
    assert {"200", "403"} <= set(operation["responses"])


# -- stopping reminders from a reminder's link ---------------------------------------------------
def test_a_reminders_link_stops_reminders(client, rpc):
    message = "3f2b4c1e-8d7a-4e5f-9a0b-1c2d3e4f5a6b"
    stopped = {"masked_address": "a***@example.org", "channel": "email"}
    rpc.answer("notifications.unsubscribe", stopped)
    answer = client.post("/api/v1/public/reminders/stop", json={"message_id": message})
    assert answer.status_code == 200
    assert answer.get_json() == stopped
    assert ("notifications.unsubscribe", (message,)) in rpc.calls


def test_a_bad_or_unknown_reminder_id_is_refused(client, rpc):
    bad = client.post("/api/v1/public/reminders/stop", json={"message_id": "not-an-id"})
    assert bad.status_code == 400 and "message_id" in bad.get_json()["fields"]
    rpc.answer("notifications.unsubscribe", NotFound("No such message."))
    unknown = client.post(
        "/api/v1/public/reminders/stop", json={"message_id": "3f2b4c1e-8d7a-4e5f-9a0b-1c2d3e4f5a6b"}
    )
    assert unknown.status_code == 404
