"""What the development mail catcher kept for this run: the e-mails a test waits for."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from tests.harness import wait_until

SET_PASSWORD = re.compile(r"/password/set\?token=([A-Za-z0-9_-]+)")


def mail_to(cluster, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(cluster.mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def emailed_set_password_token(cluster, address: str) -> str:
    """The token in the set-password link e-mailed to `address` (an invitation or a reset),
    once it has arrived; the newest if there are several."""

    def tokens() -> list[str]:
        return [
            token
            for message in mail_to(cluster, address)
            for token in SET_PASSWORD.findall(message.get_body(("plain",)).get_content())
        ]

    return wait_until(tokens, what=f"a set-password e-mail to {address}")[-1]
