"""E-mail over SMTP: host, port, STARTTLS and credentials from the environment; a batch goes
over a few connections at once (`Sender`, CVMS_NOTIFY_SMTP_CONNECTIONS), each message on one of
them. Each outcome says whether trying again may help (SMTP 4xx, a refused or dropped
connection) or not (5xx: a bad address, a refused message)."""

from __future__ import annotations

import binascii
import functools
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import eventlet
from eventlet.queue import LightQueue

from notifications.render import Rendered

log = logging.getLogger(__name__)

TEMPORARY, PERMANENT, SENT = "temporary", "permanent", "sent"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=os.environ.get("CVMS_SMTP_HOST", "127.0.0.1"),
            port=int(os.environ.get("CVMS_SMTP_PORT", "1025")),
            starttls=os.environ.get("CVMS_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
            username=os.environ.get("CVMS_SMTP_USERNAME") or None,
            password=os.environ.get("CVMS_SMTP_PASSWORD") or None,
            sender=os.environ.get("CVMS_MAIL_FROM", "CVMS <no-reply@cvms.example>"),
            timeout=float(os.environ.get("CVMS_SMTP_TIMEOUT_SECONDS", "10")),
        )


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent, temporary, permanent
    error: str | None = None
    # A permanent refusal of the address itself (550-553): it is not written to again.
    undeliverable: bool = False
    # No connection to the server could be opened: the rest of the batch waits too.
    unreachable: bool = False


@dataclass(frozen=True)
class Prepared:
    """An e-mail as it goes on the wire: the envelope's sender and recipient, and the message
    itself (ASCII, CRLF line ends)."""

    sender: str
    to: str
    data: bytes


# Longest header line SMTP allows (RFC 5322: 998 characters and CRLF).
_MAX_LINE = 998


def _one_line(value: str) -> bool:
    return "\r" not in value and "\n" not in value


def _plain(value: str) -> bool:
    """Fit for a header as it is: ASCII, one line."""
    return value.isascii() and _one_line(value)


@functools.cache
def _envelope_sender(sender: str) -> str:
    return parseaddr(sender)[1] or sender


def _quoted_printable(text: str) -> bytes:
    """`text` as quoted-printable UTF-8 with CRLF line ends (lines of at most 76)."""
    lines = text.replace("\r\n", "\n").encode()
    return binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")


def prepare(
    settings: SmtpSettings, to: str, rendered: Rendered, message_id: str, domain: str
) -> Prepared | EmailMessage:
    """The e-mail `message` builds, written out directly (the `email` package's header
    parsing, folding and flattening cost more than the rest of sending a message): headers,
    then a multipart/alternative of the plain text and the HTML, both quoted-printable UTF-8.
    Anything out of the ordinary (an address or sender that is not plain ASCII, a header too
    long) is left to `message`."""
    subject = rendered.subject
    unsubscribe = rendered.unsubscribe_url
    ordinary = _plain(to) and _plain(settings.sender) and _one_line(subject)
    if not ordinary or (unsubscribe is not None and not _plain(unsubscribe)):
        return message(settings, to, rendered, message_id, domain)
    if subject.isascii():
        subject_line = f"Subject: {subject}"
    else:
        subject_line = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
        subject_line = f"Subject: {subject_line}"
    # The boundary starts with "=_": quoted-printable writes every "=" as "=3D", so no line of
    # either part can be taken for it.
    boundary = f"=_cvms_{message_id.replace('-', '')}"
    head = [
        f"From: {settings.sender}",
        f"To: {to}",
        subject_line,
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: <{message_id}@{domain}>",
    ]
    if unsubscribe:
        head.append(f"List-Unsubscribe: <{unsubscribe}>")
    head += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"']
    if any(len(line) > _MAX_LINE for header in head for line in header.split("\r\n")):
        return message(settings, to, rendered, message_id, domain)
    part = '--{}\r\nContent-Type: text/{}; charset="utf-8"\r\n'
    part += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    data = b"".join(
        (
            "\r\n".join(head).encode(),
            b"\r\n\r\n",
            part.format(boundary, "plain").encode(),
            _quoted_printable(rendered.text),
            b"\r\n",
            part.format(boundary, "html").encode(),
            _quoted_printable(rendered.html),
            f"\r\n--{boundary}--\r\n".encode(),
        )
    )
    return Prepared(_envelope_sender(settings.sender), to, data)


def message(
    settings: SmtpSettings, to: str, rendered: Rendered, message_id: str, domain: str
) -> EmailMessage:
    """The e-mail, its Message-ID from the delivery's id: sent again after a crash, it is the
    same message."""
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = to
    mail["Subject"] = rendered.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message_id}@{domain}>"
    if rendered.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    return mail


class Connection:
    """An SMTP session: opened on the first message, kept for the next, closed at the end."""

    def __init__(self, settings: SmtpSettings):
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        if self._smtp is None:
            settings = self._settings
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            try:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def send(self, mail: Prepared | EmailMessage) -> Outcome:
        try:
            smtp = self._open()
        except smtplib.SMTPResponseException as error:
            # Refused at the greeting, STARTTLS or login: the server's or our credentials'
            # fault, not the message's (even a 5xx), so the batch waits and tries again.
            self._drop()
            text = _text(error.smtp_error)
            return Outcome(TEMPORARY, f"SMTP {error.smtp_code}: {text}"[:300], unreachable=True)
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return Outcome(TEMPORARY, f"{type(error).__name__}: {error}"[:300], unreachable=True)
        try:
            if isinstance(mail, Prepared):
                smtp.sendmail(mail.sender, [mail.to], mail.data)
            else:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            return _refusal(code, reply)
        except smtplib.SMTPResponseException as error:
            self._drop()
            return _refusal(error.smtp_code, error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            self._drop()  # refused, dropped or timed out: try again later
            return Outcome(TEMPORARY, f"{type(error).__name__}: {error}"[:300])
        return Outcome(SENT)

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self._smtp = None


class Sender:
    """A batch's e-mails, sent as they are handed over (`put`) by up to `connections` SMTP
    sessions at once, each message by exactly one of them; `finish` waits for the last and
    answers each message's outcome by its key. Sending is waiting on the server: the green
    threads send while the caller prepares the next messages.

    When no connection can be opened, the messages after it are not tried one by one (each
    would wait for the same refusal or time-out): they share its temporary outcome."""

    def __init__(self, settings: SmtpSettings, connections: int = 4):
        self._settings = settings
        self._connections = [Connection(settings) for _ in range(max(1, connections))]
        self._queue: LightQueue | None = None
        self._threads: list = []
        self._outcomes: dict[str, Outcome] = {}
        self._unreachable: Outcome | None = None

    def put(self, key: str, mail: Prepared | EmailMessage) -> None:
        if self._queue is None:
            self._queue = LightQueue()
            self._outcomes, self._unreachable = {}, None
            self._threads = [eventlet.spawn(self._work, c) for c in self._connections]
        self._queue.put((key, mail))

    def finish(self) -> dict[str, Outcome]:
        """Every message handed over since the last `finish`, sent; their outcomes by key. The
        connections stay open for the next batch (`close` ends them)."""
        if self._queue is None:
            return {}
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.wait()
        self._queue, self._threads = None, []
        return self._outcomes

    def _work(self, connection: Connection) -> None:
        while (item := self._queue.get()) is not None:
            key, mail = item
            if self._unreachable is not None:
                self._outcomes[key] = self._unreachable
                continue
            try:
                outcome = connection.send(mail)
            except Exception as error:  # a fault of ours: the message waits, as for a 4xx
                log.exception("sending message %s failed", key)
                outcome = Outcome(TEMPORARY, f"{type(error).__name__}: {error}"[:300])
            if outcome.unreachable:
                self._unreachable = outcome
            self._outcomes[key] = outcome

    def close(self) -> None:
        self.finish()
        for connection in self._connections:
            connection.close()


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _refusal(code: int, reply) -> Outcome:
    error = f"SMTP {code}: {_text(reply)}"[:300]
    # 4xx, and the server refusing our credentials (530, 534, 535: an operator fixes them),
    # are worth trying again; every other 5xx is the message's or the address's fault.
    if 400 <= code < 500 or code in (530, 534, 535):
        return Outcome(TEMPORARY, error)
    return Outcome(PERMANENT, error, undeliverable=code in (550, 551, 553))
