"""What notifications answers is declared once, in `cvms_platform.answers.notifications` (the
gateway documents it from there)."""

from __future__ import annotations

from cvms_platform.answers.notifications import MessageView

__all__ = ["MessageView"]
