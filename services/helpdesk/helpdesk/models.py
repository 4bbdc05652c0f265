"""The help desk's tables: teams and their agents, routing rules, cases and each case's history
(replies, internal notes and every change, with who and when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        # One default team at most (the migration makes the first).
        Index(
            "uq_teams_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    round_robin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The agent who was given the team's last case (round robin goes on after them).
    last_assignee_id: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TeamAgent(Base):
    """An agent (identity's user id) in a team; an agent may be in several."""

    __tablename__ = "team_agents"

    team_id: Mapped[str] = mapped_column(String(64), ForeignKey("teams.id"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RoutingRule(Base):
    """Conditions (none: any value) naming a team."""

    __tablename__ = "routing_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)
    requester_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)
    team_id: Mapped[str] = mapped_column(String(64), ForeignKey("teams.id"))
    position: Mapped[int] = mapped_column(Integer, default=100)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue", "team_id", "status", "next_due_at"),
        Index("ix_cases_requester", "requester_id", "created_at"),
        UniqueConstraint("reference", name="uq_cases_reference"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20))
    requester_id: Mapped[str] = mapped_column(String(64))
    requester_type: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    location_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    contact_channel: Mapped[str] = mapped_column(String(10))
    contact_phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    team_id: Mapped[str] = mapped_column(String(64), ForeignKey("teams.id"))
    assignee_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_response_due: Mapped[datetime] = mapped_column(UtcDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # None while pending on the requester: the resolution clock is paused (`pending_since`).
    resolution_due: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pending_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Business time left for the resolution when the clock was paused.
    resolution_left_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolution_notes: Mapped[str | None] = mapped_column(Text, nullable=True)


class Attachment(Base):
    """A file the requester attached when filing the case (checked: size, type, first bytes)."""

    __tablename__ = "case_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), index=True)
    # Its place among the case's files, as the requester gave them.
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Article(Base):
    """A knowledge-base article in one language; readers see it once published. On
    PostgreSQL the migration adds a full-text index over title and body in its language."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_status_language", "status", "language"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CaseEntry(Base):
    """One line of a case's history: a reply, a note, or a change (with who and when)."""

    __tablename__ = "case_entries"
    __table_args__ = (Index("ix_case_entries_case", "case_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(30))
    # False: internal (notes, routing, service levels); never shown to the requester.
    public: Mapped[bool] = mapped_column(Boolean)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
