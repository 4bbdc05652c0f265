"""The notifications service: the messages people are promised (booking confirmations,
changes, reminders, waitlist offers, set-password links), by e-mail and text message in the
person's language, exactly once per (event, person, channel); a location's stock news and the
marketplace's claims and transfers to its managers; and the STOP and START replies to texts,
which the gateway's SMS webhook passes on."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import eventlet
from nameko.rpc import RpcProxy
from nameko.timer import timer
from sqlalchemy import select

from cvms_platform import validation
from cvms_platform.batch_consumer import consumes_batch
from cvms_platform.config import float_setting, int_setting
from cvms_platform.consumer import consumes
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.phones import address_digest
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow
from notifications import contacts, delivery, messages, smtp, twilio
from notifications.models import Delivery
from notifications.phones import PhoneNumber
from notifications.schemas import MessageView

log = logging.getLogger(__name__)
# How often due messages are looked for; an event's messages are sent within about this long.
SEND_INTERVAL_S = float_setting("CVMS_NOTIFY_SEND_INTERVAL_SECONDS", 0.5)
MESSAGE_VIEWS = MessageView(many=True)
PHONE_NUMBER = PhoneNumber()


class NotificationsService(CvmsService):
    name = "notifications"
    scheduling = RpcProxy("scheduling")
    identity = RpcProxy("identity")
    helpdesk = RpcProxy("helpdesk")

    def now(self) -> datetime:
        """The clock; tests replace it to drive time."""
        return utcnow()

    def _queue(self, session, event) -> None:
        messages.queue(session, event, self.now(), staff=self._stock_staff)

    def _stock_staff(self, location_id: str) -> list[str]:
        return self.identity.location_staff(location_id, messages.STOCK_ROLES)

    def observe(self) -> None:
        """The oldest unsent message's age, when Prometheus scrapes (not on every send tick)."""
        with self.db.transaction() as session:
            delivery.observe_oldest_unsent(session, self.now())

    # -- what is owed, written in the event's inbox transaction ----------------------------------
    # The busiest events (a booking rush; the reminder sweep): taken in batches, each batch one
    # transaction with one inbox statement and one INSERT of its deliveries.
    @consumes_batch("scheduling", "appointment_booked")
    def on_appointment_booked(self, session, events) -> None:
        messages.queue_many(session, events, self.now())

    @consumes("scheduling", "appointment_cancelled")
    def on_appointment_cancelled(self, session, event) -> None:
        self._queue(session, event)

    @consumes("scheduling", "appointment_rescheduled")
    def on_appointment_rescheduled(self, session, event) -> None:
        self._queue(session, event)

    @consumes_batch("scheduling", "appointment_reminder_due")
    def on_appointment_reminder_due(self, session, events) -> None:
        messages.queue_many(session, events, self.now())

    @consumes("scheduling", "waitlist_offer_made")
    def on_waitlist_offer_made(self, session, event) -> None:
        self._queue(session, event)

    @consumes("identity", "user_invited")
    def on_user_invited(self, session, event) -> None:
        self._queue(session, event)

    @consumes("identity", "password_reset_requested")
    def on_password_reset_requested(self, session, event) -> None:
        self._queue(session, event)

    @consumes("scheduling", "appointment_completed")
    def on_appointment_completed(self, session, event) -> None:
        self._queue(session, event)

    @consumes("scheduling", "appointment_reopened")
    def on_appointment_reopened(self, session, event) -> None:
        self._queue(session, event)

    @consumes("inventory", "stock_low")
    def on_stock_low(self, session, event) -> None:
        self._queue(session, event)

    @consumes("inventory", "lot_expiring")
    def on_lot_expiring(self, session, event) -> None:
        self._queue(session, event)

    @consumes("inventory", "inventory_discrepancy_recorded")
    def on_inventory_discrepancy_recorded(self, session, event) -> None:
        self._queue(session, event)

    # -- the marketplace's claims and transfers, to the managers of the side concerned ---------
    @consumes("marketplace", "claim_requested")
    def on_claim_requested(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "claim_accepted")
    def on_claim_accepted(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "claim_declined")
    def on_claim_declined(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "claim_expired")
    def on_claim_expired(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "transfer_shipped")
    def on_transfer_shipped(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "transfer_received")
    def on_transfer_received(self, session, event) -> None:
        self._queue(session, event)

    @consumes("marketplace", "transfer_problem_reported")
    def on_transfer_problem_reported(self, session, event) -> None:
        self._queue(session, event)

    @consumes("identity", "email_verification_requested")
    def on_email_verification_requested(self, session, event) -> None:
        self._queue(session, event)

    @consumes("helpdesk", "case_replied")
    def on_case_replied(self, session, event) -> None:
        self._queue(session, event)

    @consumes("helpdesk", "case_resolved")
    def on_case_resolved(self, session, event) -> None:
        self._queue(session, event)

    # -- sending ---------------------------------------------------------------------------------
    @timer(interval=SEND_INTERVAL_S)
    def send_due(self) -> int:
        """Send what is due, a batch (CVMS_NOTIFY_BATCH) per transaction, batch after batch
        while full ones are found, for up to CVMS_NOTIFY_SEND_FOR_SECONDS; how many were tried.
        E-mails go over CVMS_NOTIFY_SMTP_CONNECTIONS connections at once."""
        limit = max(1, int_setting("CVMS_NOTIFY_BATCH", 100))
        until = time.monotonic() + float_setting("CVMS_NOTIFY_SEND_FOR_SECONDS", 5.0)
        settings = smtp.SmtpSettings.from_env()
        mail = smtp.Sender(settings, int_setting("CVMS_NOTIFY_SMTP_CONNECTIONS", 4))
        texts = twilio.Client(twilio.TwilioSettings.from_env())
        tried = 0
        try:
            while True:
                with self.db.transaction() as session:
                    batch = delivery.due(session, self.now(), limit)
                    if batch:
                        delivery.send(
                            session,
                            batch,
                            self.now(),
                            mail=mail,
                            settings=settings,
                            scheduling=self.scheduling,
                            identity=self.identity,
                            helpdesk=self.helpdesk,
                            texts=texts,
                        )
                tried += len(batch)
                if len(batch) < limit or time.monotonic() >= until:
                    return tried
                eventlet.sleep(0)  # between batches: the consumers and the heartbeat run
        finally:
            mail.close()
            texts.close()

    # -- replies to texts (the gateway's SMS webhook) ------------------------------------------
    @consumes("gateway", "sms_reply_received")
    def on_sms_reply_received(self, session, event) -> None:
        """STOP or START, as the gateway took it from Twilio (kept by the broker meanwhile)."""
        reply = event.payload
        if reply["reply"] == "stop":
            delivery.opt_out(session, reply["phone_digest"], self.now())
        else:
            delivery.opt_in(session, reply["phone_digest"])

    @rpc
    def sms_opt_out(self, phone) -> None:
        """The owner of `phone` replied STOP: no text message goes to it any more, not even a
        transactional one, until it replies START."""
        number = validation.load(PHONE_NUMBER, {"phone": phone})
        # Two STOPs at once (Twilio retries a webhook): the second finds the first's row.
        digest = address_digest(number)
        self.db.idempotent(lambda session: delivery.opt_out(session, digest, self.now()))
        log.info("a phone number opted out of text messages")

    @rpc
    def sms_opt_in(self, phone) -> None:
        """The owner of `phone` replied START (or UNSTOP, YES): texts may go to it again."""
        number = validation.load(PHONE_NUMBER, {"phone": phone})
        with self.db.transaction() as session:
            delivery.opt_in(session, address_digest(number))

    # -- reminders the person does not want -------------------------------------------------------
    @rpc
    def unsubscribe(self, message_id) -> dict:
        """The link in a reminder (the message's id, which only its receiver has): no more
        reminders to that address; the messages a booking needs still go. Answers the masked
        address. NotFound for an unknown id or a message that is not a reminder."""
        if not isinstance(message_id, str) or len(message_id) > 64:
            raise NotFound("No such message.")
        with self.db.transaction() as session:
            found = session.get(Delivery, message_id)
            if found is None or found.transactional or found.state != "sent":
                raise NotFound("No such message.")
            contact = contacts.resolve(found, self.scheduling, self.identity, self.helpdesk)
            delivery.unsubscribe(session, found, contact.address, self.now())
            return {"masked_address": found.masked_address, "channel": found.channel}

    # -- what staff see ----------------------------------------------------------------------------
    @rpc
    def messages_about(self, subject_id) -> list[dict]:
        """The messages about an appointment, a waitlist place or a user, oldest first, with
        their state (queued, sent, deferred, failed, suppressed) and masked address."""
        if not isinstance(subject_id, str) or not 0 < len(subject_id) <= 64:
            raise InvalidInput({"subject_id": ["An appointment, waitlist entry or user id."]})
        found = self.db.session.scalars(
            select(Delivery).where(Delivery.subject_id == subject_id).order_by(Delivery.created_at)
        ).all()
        return MESSAGE_VIEWS.dump(found)
