"""Sending what is owed, a batch of due deliveries at a time: one transaction locks the batch's
rows (`FOR UPDATE SKIP LOCKED`: two instances never take the same row), sends each message once
and records every outcome, so a message is marked sent in the transaction that sent it. A crash
between the SMTP server's acceptance and the commit leaves the rows due: they are sent once
more, with the same Message-ID (the delivery's id). E-mails go over several SMTP connections at
once, each message over exactly one of them (`smtp.Sender`).

Temporary failures (SMTP 4xx, no connection, an owner that does not answer) are tried again
with exponential backoff and jitter for `CVMS_NOTIFY_RETRY_FOR_SECONDS`; permanent ones (5xx)
are recorded and not retried, and an address refused outright is not written to again.

E-mail goes over SMTP (`smtp`), text messages through Twilio (`twilio`). A text is not sent in
quiet hours (21:00 to 08:00 where the person is expected): it waits, deferred, until 08:00 there
without counting an attempt. A phone whose owner replied STOP gets no text at all, not even a
transactional one (US carriers' rules); opting in again (START) lifts that."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import eventlet
from prometheus_client import Counter, Gauge
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cvms_platform import config
from cvms_platform.errors import NotFound
from cvms_platform.phones import address_digest
from notifications import contacts, render, sms, smtp, twilio
from notifications.messages import SMS
from notifications.models import DEFERRED, FAILED, PENDING, SENT, SUPPRESSED, Delivery, Suppression

log = logging.getLogger(__name__)

MESSAGES = Counter(
    "cvms_notifications_messages_total",
    "Messages by type, channel and outcome (sent, deferred, failed, suppressed)",
    ["type", "channel", "outcome"],
)
OLDEST_UNSENT = Gauge(
    "cvms_notifications_oldest_unsent_seconds", "Age of the oldest message not yet sent"
)
# What an owner's RPC raises when it cannot answer now: try again later.
OWNER_UNAVAILABLE = contacts.OWNER_UNAVAILABLE
QUIET_HOURS = "quiet hours (21:00 to 08:00 at the location)"
# Suppression reasons: a bounced address, a reminder unsubscribed, a phone that replied STOP.
UNDELIVERABLE, UNSUBSCRIBED, OPTED_OUT = "undeliverable", "unsubscribed", "opted_out"
# What stops every message, transactional ones too (an unsubscribe stops reminders only).
STOPS_EVERYTHING = (UNDELIVERABLE, OPTED_OUT)


def retry_for() -> timedelta:
    return timedelta(seconds=config.int_setting("CVMS_NOTIFY_RETRY_FOR_SECONDS", 24 * 3600))


def backoff(attempts: int) -> timedelta:
    """Exponential from CVMS_NOTIFY_RETRY_BASE_SECONDS (5 s) up to 10 minutes, ±50 % jitter so
    that messages deferred together do not come back together."""
    base = config.float_setting("CVMS_NOTIFY_RETRY_BASE_SECONDS", 5.0)
    seconds = min(base * 2 ** max(0, attempts - 1), 600.0)
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


def due(session: Session, now: datetime, limit: int) -> list[Delivery]:
    """Up to `limit` deliveries due by `now`, longest due first, each locked until this
    transaction ends; rows another instance is sending are skipped, not waited for."""
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.state.in_(PENDING), Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def send(
    session: Session,
    deliveries: list[Delivery],
    now: datetime,
    *,
    mail: smtp.Sender,
    settings: smtp.SmtpSettings,
    scheduling,
    identity,
    helpdesk,
    texts: twilio.Client | None = None,
) -> None:
    """Send a batch of locked deliveries and record what happened to each (committed by the
    caller, with the batch). Their owners are asked for the addresses once for the batch, the
    suppressions read in one query; e-mails are handed to `mail` as each is written, so that
    they go out (over several connections) while the next are written; texts go one by one."""
    found = contacts.resolve_many(deliveries, scheduling, identity, helpdesk)
    suppressed = _suppressions(
        session,
        {
            (d.channel, address_digest(contact.address))
            for d in deliveries
            if isinstance(contact := found[d.id], contacts.Contact)
        },
    )
    domain = settings.sender.rpartition("@")[2].rstrip(">") or "cvms.example"
    emails: list[tuple[Delivery, contacts.Contact]] = []
    owed_texts: list[tuple[Delivery, contacts.Contact]] = []
    try:
        for n, delivery in enumerate(deliveries):
            if n % 8 == 7:
                eventlet.sleep(0)  # let the senders, consumers and heartbeats run
            contact = _addressed(delivery, now, found[delivery.id], suppressed)
            if contact is None:
                continue
            if delivery.channel == SMS:
                owed_texts.append((delivery, contact))
                continue
            try:
                rendered = render.render(delivery, contact)
                prepared = smtp.prepare(settings, contact.address, rendered, delivery.id, domain)
            except Exception as error:  # a template's fault: it may be fixed, so it waits
                log.exception("could not write message %s", delivery.id)
                _later(delivery, now, f"could not be written: {type(error).__name__}")
                continue
            mail.put(delivery.id, prepared)
            emails.append((delivery, contact))
        for delivery, contact in owed_texts:
            try:
                _text(session, delivery, now, contact, texts)
            except Exception as error:  # a template's fault: it may be fixed, so it waits
                log.exception("could not send text message %s", delivery.id)
                _later(delivery, now, f"could not be written: {type(error).__name__}")
    finally:
        outcomes = mail.finish()
    for delivery, contact in emails:
        outcome = outcomes.get(delivery.id) or smtp.Outcome(smtp.TEMPORARY, "not sent")
        _recorded(session, delivery, now, contact, outcome)


def _addressed(
    delivery: Delivery,
    now: datetime,
    contact: contacts.Contact | Exception,
    suppressed: dict[tuple[str, str], str],
) -> contacts.Contact | None:
    """The contact to send `delivery` to; None when it is not sent now (its owner has no such
    person, or did not answer, or the address is suppressed), its state recorded."""
    if isinstance(contact, contacts.Undeliverable):
        _end(delivery, SUPPRESSED, str(contact))
        return None
    if isinstance(contact, NotFound):
        # The owner no longer has it (or never had: an event from another deployment).
        _end(delivery, SUPPRESSED, f"the owner has no {delivery.person_kind} of this id")
        return None
    if isinstance(contact, OWNER_UNAVAILABLE):
        _later(delivery, now, f"the owner did not answer: {type(contact).__name__}")
        return None
    if isinstance(contact, Exception):
        _later(delivery, now, f"could not find the address: {type(contact).__name__}")
        return None
    delivery.language = contact.language
    delivery.masked_address = contacts.mask(contact.address, delivery.channel)
    reason = suppressed.get((delivery.channel, address_digest(contact.address)))
    if reason in STOPS_EVERYTHING or (reason and not delivery.transactional):
        _end(delivery, SUPPRESSED, f"the address is {reason}")
        return None
    return contact


def _recorded(
    session: Session,
    delivery: Delivery,
    now: datetime,
    contact: contacts.Contact,
    outcome: smtp.Outcome,
) -> str:
    """Record an e-mail's outcome: sent; tried again later; or failed, its address not written
    to again when the server refused the address itself."""
    delivery.attempts += 1
    if outcome.kind == smtp.SENT:
        delivery.sent_at, delivery.last_error = now, None
        return _end(delivery, SENT, None)
    if outcome.kind == smtp.TEMPORARY:
        return _later(delivery, now, outcome.error)
    if outcome.undeliverable:
        _suppress(session, delivery.channel, address_digest(contact.address), UNDELIVERABLE, now)
    return _end(delivery, FAILED, outcome.error)


def _text(
    session: Session,
    delivery: Delivery,
    now: datetime,
    contact: contacts.Contact,
    texts: twilio.Client | None,
) -> str:
    """Send a text message, unless it is quiet hours where the person is expected: then it
    waits until 08:00 there, no attempt counted."""
    morning = sms.quiet_until(now, contact)
    if morning is not None:
        delivery.next_attempt_at = morning
        return _end(delivery, DEFERRED, QUIET_HOURS)
    if texts is None:
        return _later(delivery, now, "no SMS provider")
    outcome = texts.send(contact.address, sms.text(delivery, contact))
    delivery.attempts += 1
    if outcome.kind == twilio.SENT:
        delivery.sent_at, delivery.last_error = now, None
        log.info("message %s sent as Twilio message %s", delivery.id, outcome.sid)
        return _end(delivery, SENT, None)
    if outcome.kind == twilio.TEMPORARY:
        return _later(delivery, now, outcome.error)
    if outcome.opted_out or outcome.undeliverable:
        reason = OPTED_OUT if outcome.opted_out else UNDELIVERABLE
        _suppress(session, delivery.channel, address_digest(contact.address), reason, now)
    return _end(delivery, FAILED, outcome.error)


def _later(delivery: Delivery, now: datetime, error: str | None) -> str:
    if now - delivery.created_at >= retry_for():
        return _end(delivery, FAILED, f"gave up: {error}")
    delivery.next_attempt_at = now + backoff(max(1, delivery.attempts))
    return _end(delivery, DEFERRED, error)


def _end(delivery: Delivery, state: str, error: str | None) -> str:
    delivery.state = state
    delivery.last_error = error[:300] if error else None
    MESSAGES.labels(delivery.message_type, delivery.channel, state).inc()
    if state in (FAILED, SUPPRESSED):
        log.warning("message %s %s: %s", delivery.id, state, delivery.last_error)
    return state


def _suppressions(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The reasons of the suppressed among (channel, address digest) `keys`, in one query."""
    if not keys:
        return {}
    rows = session.execute(
        select(Suppression.channel, Suppression.address_digest, Suppression.reason).where(
            Suppression.address_digest.in_({digest for _, digest in keys})
        )
    )
    return {(channel, digest): reason for channel, digest, reason in rows}


def _suppress(
    session: Session, channel: str, digest: str, reason: str, now: datetime
) -> Suppression:
    """The suppression of the address whose `address_digest` this is on `channel`: the one it
    has, or a new one for `reason`."""
    found = session.scalar(
        select(Suppression).where(
            Suppression.channel == channel, Suppression.address_digest == digest
        )
    )
    if found is None:
        found = Suppression(channel=channel, address_digest=digest, reason=reason, created_at=now)
        session.add(found)
    return found


def observe_oldest_unsent(session: Session, now: datetime) -> None:
    """The age of the oldest message that should have gone by now: a text held for quiet hours
    is waiting on purpose and is not counted (it would keep the backlog alert up all night)."""
    oldest = session.scalar(
        select(func.min(Delivery.created_at)).where(
            Delivery.state.in_(PENDING),
            or_(Delivery.last_error.is_(None), Delivery.last_error != QUIET_HOURS),
        )
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    OLDEST_UNSENT.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def opt_out(session: Session, digest: str, now: datetime) -> None:
    """The owner of the phone whose `address_digest` (of its E.164 form) this is replied STOP:
    no text goes to it any more."""
    found = _suppress(session, SMS, digest, OPTED_OUT, now)
    if found.reason == UNSUBSCRIBED:
        found.reason = OPTED_OUT  # STOP is stronger: transactional texts stop too


def opt_in(session: Session, digest: str) -> bool:
    """The owner of the phone whose `address_digest` this is replied START: texts may go to it
    again. Whether it was opted out (an undeliverable number stays so: START does not make a
    landline take texts)."""
    found = session.scalar(
        select(Suppression).where(Suppression.channel == SMS, Suppression.address_digest == digest)
    )
    if found is None or found.reason not in (OPTED_OUT, UNSUBSCRIBED):
        return False
    session.delete(found)
    return True


def unsubscribe(session: Session, found: Delivery, address: str, now: datetime) -> None:
    """The person who got `found` asks for no more reminders at its address (transactional
    messages still go: a booking's confirmation, a set-password link)."""
    _suppress(session, found.channel, address_digest(address), UNSUBSCRIBED, now)
