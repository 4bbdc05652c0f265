"""The HTTP contract of the audit log: a page of events and the search's query, as identity,
which keeps the log, answers and checks them."""

from __future__ import annotations

from cvms_platform.answers.identity import AuditEventView, AuditPage, AuditQuery

__all__ = ["AuditEventView", "AuditPage", "AuditQuery"]
