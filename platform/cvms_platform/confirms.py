"""Publishing with publisher confirms, many messages at a time: all are sent, then the broker's
answers (ack, nack, or basic.return then ack) are awaited together, each known by its message
id. Waiting for each message's own confirm (pika's BlockingChannel) capped a relay near 1,300
messages/s."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable

import pika
import pika.exceptions
from pika.adapters.select_connection import SelectConnection

CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)
# The broker's answer to one published message.
CONFIRMED, NACKED, RETURNED = "confirmed", "nacked", "returned"


class BrokerSilent(pika.exceptions.AMQPConnectionError):
    """The broker did not answer in time: the connection is given up (a late confirm on it
    could no longer be told apart from the next batch's)."""


class ConfirmingPublisher:
    """One connection and channel in confirm mode, driven by pika's SelectConnection I/O loop
    (as in pika's asynchronous publisher example) only while it waits for the broker.

    `publish` only buffers the message; `settle` runs the loop until the broker answered every
    message published since the last settle: an ack, a nack, or (mandatory and unroutable) a
    basic.return followed by its ack. A message is known by its message_id, which is how a
    returned message finds its row. Messages still unanswered when the connection is lost or
    `timeout` passes are left out of the answers: never confirmed, so never marked sent."""

    def __init__(self, amqp_uri: str, *, timeout: float = 30.0):
        self.parameters = pika.URLParameters(amqp_uri)
        self.timeout = timeout
        self.connection: SelectConnection | None = None
        self.channel = None
        self.lost: Exception | None = None
        self._declared: set[str] = set()
        self._last_tag = 0
        self._unanswered: OrderedDict[int, str] = OrderedDict()  # delivery tag -> message id
        self._returned: set[str] = set()
        self._answers: dict[str, str] = {}
        self._waiting: Callable[[], bool] | None = None

    @property
    def is_open(self) -> bool:
        return self.lost is None and self.channel is not None and self.channel.is_open

    def open(self) -> None:
        """Connect, unless connected. The loop runs only while the relay waits for the broker:
        a connection closed meanwhile (e.g. heartbeats missed while idle) is noticed here, and
        replaced, rather than by the batch about to be published."""
        if self.connection is not None and self.lost is None:
            # A moment, not one turn of the loop: a turn may handle only one ready socket (under
            # eventlet), e.g. the loop's own wake-up pipe rather than the connection's end.
            self.pump(0.001)
        if self.is_open:
            return
        self.close()
        ready: list = []

        def on_channel(channel) -> None:
            channel.add_on_close_callback(self._on_channel_closed)
            channel.add_on_return_callback(self._on_return)
            channel.confirm_delivery(self._on_answer, callback=lambda _: self._got(ready, channel))

        self.connection = SelectConnection(
            self.parameters,
            on_open_callback=lambda connection: connection.channel(on_open_callback=on_channel),
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
        )
        try:
            self._run_until(lambda: bool(ready))
        except BaseException:
            self.close()
            raise
        self.channel = ready[0]

    def publish(
        self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties
    ) -> None:
        if self.lost is not None:
            raise self.lost
        if exchange not in self._declared:
            declared: list = []
            self.channel.exchange_declare(
                exchange,
                exchange_type="topic",
                durable=True,
                callback=lambda _: self._got(declared, exchange),
            )
            self._run_until(lambda: bool(declared))
            self._declared.add(exchange)
        self.channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        # Confirm mode numbers a channel's publishes 1, 2, 3, ...: the tags the broker answers.
        self._last_tag += 1
        self._unanswered[self._last_tag] = properties.message_id

    def settle(self) -> tuple[dict[str, str], Exception | None]:
        """Message id -> CONFIRMED, NACKED or RETURNED for each message answered; and why the
        others were not (the connection lost, or the broker silent), if any were left."""
        try:
            self._run_until(lambda: not self._unanswered)
            error = None
        except CONNECTION_ERRORS as exc:
            error = exc
        answers, self._answers = self._answers, {}
        self._returned.clear()
        return answers, error

    def pump(self, seconds: float) -> None:
        """Run the connection's loop for `seconds` (0: what is due now): heartbeats are
        answered and a closed connection is noticed."""
        ioloop = self.connection.ioloop
        timer = ioloop.call_later(seconds, ioloop.stop)
        try:
            ioloop.start()
        finally:
            ioloop.remove_timeout(timer)

    def close(self) -> None:
        connection = self.connection
        if connection is not None:
            self.lost = None  # a close of our own is awaited, whatever was lost before
            if not (connection.is_closed or connection.is_closing):
                connection.close()
            if not connection.is_closed:
                with contextlib.suppress(*CONNECTION_ERRORS):  # closed or gone either way
                    self._run_until(lambda: connection.is_closed, timeout=5.0)
            connection.ioloop.close()
        self.connection = self.channel = self.lost = None
        self._declared.clear()
        self._last_tag = 0
        self._unanswered.clear()
        self._returned.clear()
        self._answers.clear()

    # -- the I/O loop and its callbacks ----------------------------------------------------------
    def _run_until(self, done: Callable[[], bool], *, timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        ioloop = self.connection.ioloop
        expired: list = []

        def expire() -> None:
            expired.append(True)
            ioloop.stop()

        timer = ioloop.call_later(timeout, expire)
        self._waiting = done
        try:
            while not done() and self.lost is None and not expired:
                ioloop.start()
        finally:
            self._waiting = None
            ioloop.remove_timeout(timer)
        if done():
            return
        if self.lost is None:
            self.lost = BrokerSilent(f"no answer from the broker within {timeout:g} s")
        raise self.lost

    def _got(self, box: list, value) -> None:
        box.append(value)
        self._wake()

    def _wake(self) -> None:
        if self._waiting is not None and self._waiting():
            self.connection.ioloop.stop()

    def _on_answer(self, frame) -> None:
        method = frame.method
        answer = NACKED if isinstance(method, pika.spec.Basic.Nack) else CONFIRMED
        if method.multiple:
            tags = []
            for tag in self._unanswered:
                if tag > method.delivery_tag:
                    break
                tags.append(tag)
        else:
            tags = [method.delivery_tag]
        for tag in tags:
            message_id = self._unanswered.pop(tag, None)
            if message_id is None:
                continue
            if answer == CONFIRMED and message_id in self._returned:
                # The broker returns an unroutable mandatory message before it acks it.
                self._answers[message_id] = RETURNED
            else:
                self._answers[message_id] = answer
        self._wake()

    def _on_return(self, _channel, _method, properties, _body) -> None:
        self._returned.add(properties.message_id)

    def _on_open_error(self, _connection, error) -> None:
        if not isinstance(error, pika.exceptions.AMQPConnectionError):
            error = pika.exceptions.AMQPConnectionError(error)
        self._lose(error)

    def _on_closed(self, _connection, reason) -> None:
        self._lose(reason)

    def _on_channel_closed(self, _channel, reason) -> None:
        self._lose(reason)

    def _lose(self, reason: Exception) -> None:
        if self.lost is None:
            self.lost = reason
        if self.connection is not None:
            self.connection.ioloop.stop()
