"""Twilio's inbound SMS webhook: a reply to one of CVMS's texts. STOP (or STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT) opts the sender's phone out of every text, START (or UNSTOP, YES) back in:
notifications keeps that. Anything else is answered and otherwise ignored.

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

from flask import Blueprint, Response, jsonify, request

from cvms_platform import validation
from gateway.access import public
from gateway.api.notifications import schemas
from gateway.docs import doc
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
    if word in OPT_OUT:
        call.notifications.sms_opt_out(reply["sender"])
    elif word in OPT_IN:
        call.notifications.sms_opt_in(reply["sender"])
    return Response(EMPTY_TWIML, mimetype="application/xml")


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
