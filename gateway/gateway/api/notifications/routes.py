"""Twilio's inbound SMS webhook: a reply to one of CVMS's texts. STOP (or STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT) opts the sender's phone out of every text, START (or UNSTOP, YES) back in:
the gateway publishes `sms_reply_received` (the phone's digest, not the number) with the broker's
confirm, and notifications keeps it, even if it was away when the reply came. Anything else is
answered and otherwise ignored.

Public, as a webhook must be, but only Twilio may call it: each request must carry Twilio's
X-Twilio-Signature, base64(HMAC-SHA1(auth token, the URL Twilio called + every POST parameter
sorted by name, each name followed by its value)). Without a valid one: 403, and no service is
asked anything. The auth token is CVMS_TWILIO_AUTH_TOKEN (none set: every request is refused);
the URL is the request's own, or CVMS_TWILIO_WEBHOOK_URL when a proxy in front changes it (TLS
ended there, another host name): set it to the URL configured at Twilio."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os

from flask import Blueprint, Response, current_app, g, jsonify, request

from cvms_platform import validation
from cvms_platform.contracts import new_event
from cvms_platform.errors import InvalidInput
from cvms_platform.phones import address_digest, normalise_phone
from cvms_platform.timeutil import utcnow
from gateway.access import public
from gateway.api.notifications import schemas
from gateway.docs import doc
from gateway.edge_events import EventNotAccepted
from gateway.errors import ApiError
from gateway.routing import API_PREFIX, body, call

log = logging.getLogger(__name__)

notifications = Blueprint("notifications", __name__, url_prefix=API_PREFIX)

SIGNATURE_HEADER = "X-Twilio-Signature"
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def signature(auth_token: str, url: str, params) -> str:
    """Twilio's signature of a request to `url` with the POST parameters `params` (a
    MultiDict, or a mapping of one value each), as Twilio's own RequestValidator computes it."""
    getlist = getattr(params, "getlist", None)
    signed = url
    for name in sorted(set(params)):
        for value in sorted(set(getlist(name) if getlist else [params[name]])):
            signed += name + value
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _verify() -> None:
    token = os.environ.get("CVMS_TWILIO_AUTH_TOKEN", "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not token:
        log.warning("an inbound SMS was refused: CVMS_TWILIO_AUTH_TOKEN is not set")
    url = os.environ.get("CVMS_TWILIO_WEBHOOK_URL") or request.url
    if not (
        token
        and given
        and hmac.compare_digest(signature(token, url, request.form).encode(), given.encode())
    ):
        raise ApiError(403, "invalid_signature", f"A valid {SIGNATURE_HEADER} is required.")


def keyword(body: str) -> str:
    """The reply as a keyword: its words in capitals, without trailing punctuation."""
    return " ".join(body.split()).strip(" .!").upper()


@notifications.post("/sms/inbound")
@public
@doc(
    "Twilio's inbound SMS webhook (a form, application/x-www-form-urlencoded, as Twilio posts "
    "it; signed with X-Twilio-Signature): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT opts "
    "the sender's phone out of every text from CVMS; START, UNSTOP or YES opts it back in. "
    "Answers TwiML (an empty <Response/>)",
    tag="sms",
    responses={
        200: ("TwiML, application/xml: `<Response/>` (nothing is sent back)", None),
        403: "No valid X-Twilio-Signature",
    },
)
def sms_inbound():
    _verify()
    reply = validation.load(schemas.InboundSms(), request.form.to_dict())
    word = keyword(reply["text"])
    if word in OPT_OUT | OPT_IN:
        _publish_reply(reply, "stop" if word in OPT_OUT else "start")
    return Response(EMPTY_TWIML, mimetype="application/xml")


def _publish_reply(reply: dict, action: str) -> None:
    """Kept by the broker for notifications, which may be away: answered 200 only once the
    broker has it, else 503 and Twilio sends it again (its connection overrides, #rc=…)."""
    phone = normalise_phone(reply["sender"])
    if phone is None:
        raise InvalidInput({"From": ["Not a phone number texts can go to (E.164)."]})
    event = new_event(
        "sms_reply_received",
        {
            "message_sid": reply.get("MessageSid") or f"no-sid-{g.request_id}",
            "phone_digest": address_digest(phone),
            "reply": action,
            "received_at": utcnow(),
        },
        correlation_id=g.request_id,
    )
    try:
        current_app.extensions["cvms_edge_events"].publish(event)
    except EventNotAccepted:
        raise ApiError(
            503, "unavailable", "The reply could not be kept just now; send it again."
        ) from None


@notifications.post("/public/reminders/stop")
@public
@doc(
    "Stop reminder e-mails to the address a reminder went to (the link in every reminder names "
    "the message). The messages a booking needs, its confirmation and changes, still go",
    tag="self-scheduling",
    body=schemas.StopReminders,
    responses={
        200: ("Stopped", schemas.RemindersStopped),
        404: "No reminder has this id",
    },
)
def stop_reminders():
    message_id = body()["message_id"]
    return jsonify(call.notifications.unsubscribe(message_id))
