"""The development mailbox: the e-mails the demo sent, as the development mail catcher kept
them (`CVMS_MAIL_DIR`, one .eml file each), so a newcomer sees what people are told. Only with
CVMS_DEVELOPMENT=1 (what `make run` sets); otherwise these pages do not exist."""

from __future__ import annotations

import email
import email.policy
import os
import re
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_file

bp = Blueprint("mailbox", __name__, url_prefix="/mailbox")

NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")
SHOWN = 200


def _folder() -> Path:
    if not current_app.config["CVMS_PORTAL"].development:
        abort(404)
    return Path(os.environ.get("CVMS_MAIL_DIR", "var/mail"))


def _read(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def _summary(path: Path) -> dict:
    message = _read(path)
    sent = message["Date"]
    return {
        "name": path.name,
        "to": message["To"],
        "subject": message["Subject"],
        "sent": parsedate_to_datetime(sent) if sent else None,
    }


@bp.get("")
def inbox():
    folder = _folder()
    paths = sorted(folder.glob("*.eml"), reverse=True)[:SHOWN] if folder.is_dir() else []
    return render_template(
        "mailbox/inbox.html", messages=[_summary(p) for p in paths], folder=folder.resolve()
    )


def _path(name: str) -> Path:
    path = _folder() / name
    if not NAME.match(name) or not path.is_file():
        abort(404)
    return path


@bp.get("/<name>")
def message(name: str):
    found = _read(_path(name))
    text = found.get_body(("plain",))
    return render_template(
        "mailbox/message.html",
        name=name,
        message=found,
        text=text.get_content() if text is not None else "",
    )


@bp.get("/<name>/raw")
def raw(name: str):
    return send_file(_path(name), mimetype="message/rfc822", as_attachment=True, download_name=name)
