"""Text messages through Twilio's REST API: POST {api}/2010-04-01/Accounts/{sid}/Messages.json
with To, From (or MessagingServiceSid) and Body, HTTP basic auth with the account's SID and auth
token, all from the environment (CVMS_TWILIO_*; CVMS_TWILIO_API_URL points tests at a local
server).

Each outcome says whether trying again may help (429, 5xx, no connection or no answer, and
credentials refused: they are fixed without losing the messages waiting) or not (any other
4xx). Twilio's error 21211 and 21614 (not a valid or not a mobile number) mean the number is not
written to again; 21610 means its owner replied STOP to Twilio, which CVMS keeps as an opt-out.

Twilio takes no idempotency key for a message: as with e-mail, a crash between its acceptance
and the commit sends the text once more."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import requests

SENT, TEMPORARY, PERMANENT = "sent", "temporary", "permanent"
UNDELIVERABLE_CODES = frozenset({21211, 21614})
OPTED_OUT_CODES = frozenset({21610})
# Twilio's error messages quote the number: staff see last_error, so digits runs are hidden.
_NUMBER = re.compile(r"\+?\d[\d ()-]{5,}\d")


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    sender: str | None  # a phone number (E.164) or short code: From
    messaging_service_sid: str | None  # or a messaging service, which picks the sender
    api_url: str = "https://api.twilio.com"
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> TwilioSettings:
        return cls(
            account_sid=os.environ.get("CVMS_TWILIO_ACCOUNT_SID", ""),
            auth_token=os.environ.get("CVMS_TWILIO_AUTH_TOKEN", ""),
            sender=os.environ.get("CVMS_TWILIO_FROM") or None,
            messaging_service_sid=os.environ.get("CVMS_TWILIO_MESSAGING_SERVICE_SID") or None,
            api_url=os.environ.get("CVMS_TWILIO_API_URL", "https://api.twilio.com").rstrip("/"),
            timeout=float(os.environ.get("CVMS_TWILIO_TIMEOUT_SECONDS", "10")),
        )

    @property
    def configured(self) -> bool:
        return bool(
            self.account_sid and self.auth_token and (self.sender or self.messaging_service_sid)
        )

    @property
    def messages_url(self) -> str:
        return f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent, temporary, permanent
    error: str | None = None
    # The number is not a mobile one that exists: it is not written to again.
    undeliverable: bool = False
    # Its owner replied STOP (Twilio refuses to write to it): kept as an opt-out.
    opted_out: bool = False
    sid: str | None = None  # Twilio's id of the message sent


class Client:
    """A session with Twilio for a batch: one HTTP connection, kept alive between messages."""

    def __init__(self, settings: TwilioSettings):
        self._settings = settings
        self._http: requests.Session | None = None

    def send(self, to: str, body: str) -> Outcome:
        settings = self._settings
        if not settings.configured:
            return Outcome(TEMPORARY, "no SMS provider: set CVMS_TWILIO_ACCOUNT_SID, ...")
        form = {"To": to, "Body": body}
        if settings.messaging_service_sid:
            form["MessagingServiceSid"] = settings.messaging_service_sid
        else:
            form["From"] = settings.sender
        if self._http is None:
            self._http = requests.Session()
            self._http.auth = (settings.account_sid, settings.auth_token)
        try:
            response = self._http.post(settings.messages_url, data=form, timeout=settings.timeout)
        except requests.RequestException as error:
            self.close()
            return Outcome(TEMPORARY, f"{type(error).__name__}: no answer from Twilio")
        return _outcome(response)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _outcome(response: requests.Response) -> Outcome:
    status = response.status_code
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if 200 <= status < 300:
        return Outcome(SENT, sid=answer.get("sid"))
    code = answer.get("code")
    message = _NUMBER.sub("***", str(answer.get("message") or response.reason or ""))
    error = f"Twilio {status}{f' error {code}' if code else ''}: {message}"[:300]
    if status == 429 or status >= 500 or status in (401, 403):
        return Outcome(TEMPORARY, error)
    return Outcome(
        PERMANENT,
        error,
        undeliverable=code in UNDELIVERABLE_CODES,
        opted_out=code in OPTED_OUT_CODES,
    )
