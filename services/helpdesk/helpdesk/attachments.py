"""Files a requester attaches to a case when filing it: at most MAX_FILES, each at most
MAX_BYTES, of the ALLOWED types (checked by their first bytes too, not only by the type the
client names). Stored in the case's transaction: a case is filed with all its attachments or
not at all."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from cvms_platform.answers.helpdesk import ALLOWED_ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from cvms_platform.errors import InvalidInput
from helpdesk.models import Attachment, Case

# What each allowed type's content starts with (plain text: anything that decodes as UTF-8).
MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def decoded(given: list[dict]) -> list[tuple[dict, bytes]]:
    """Each attachment with its content, or InvalidInput naming the one that is wrong."""
    files = []
    for index, attachment in enumerate(given):
        where = f"attachments.{index}"
        try:
            content = base64.b64decode(attachment["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput({where: ["content_base64 is not base64."]}) from None
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput({where: [f"At most {MAX_ATTACHMENT_BYTES} bytes a file."]})
        if not content:
            raise InvalidInput({where: ["The file is empty."]})
        kind = attachment["content_type"]
        if kind not in ALLOWED_ATTACHMENT_TYPES:
            raise InvalidInput({where: [f"Only {', '.join(ALLOWED_ATTACHMENT_TYPES)}."]})
        if kind == "text/plain":
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput({where: ["Not plain text (UTF-8)."]}) from None
        elif not content.startswith(MAGIC[kind]):
            raise InvalidInput({where: [f"The file is not a {kind} file."]})
        files.append((attachment, content))
    return files


def store(
    session: Session, case: Case, files: list[tuple[dict, bytes]], by: str, now: datetime
) -> list[Attachment]:
    rows = [
        Attachment(
            id=str(uuid.uuid4()),
            case_id=case.id,
            position=position,
            filename=attachment["filename"],
            content_type=attachment["content_type"],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            uploaded_by=by,
            created_at=now,
        )
        for position, (attachment, content) in enumerate(files)
    ]
    session.add_all(rows)
    return rows
