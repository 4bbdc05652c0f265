"""E-mail over SMTP: host, port, STARTTLS and credentials from the environment; one connection
per batch. Each outcome says whether trying again may help (SMTP 4xx, a refused or dropped
connection) or not (5xx: a bad address, a refused message)."""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from notifications.render import Rendered

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
    """An SMTP session for a batch: opened on the first message, closed at the end."""

    def __init__(self, settings: SmtpSettings):
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        if self._smtp is None:
            settings = self._settings
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            self._smtp = smtp
        return self._smtp

    def send(self, mail: EmailMessage) -> Outcome:
        try:
            self._open().send_message(mail)
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


def _refusal(code: int, reply) -> Outcome:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    error = f"SMTP {code}: {text}"[:300]
    # 4xx, and the server refusing our credentials (530, 534, 535: an operator fixes them),
    # are worth trying again; every other 5xx is the message's or the address's fault.
    if 400 <= code < 500 or code in (530, 534, 535):
        return Outcome(TEMPORARY, error)
    return Outcome(PERMANENT, error, undeliverable=code in (550, 551, 553))
