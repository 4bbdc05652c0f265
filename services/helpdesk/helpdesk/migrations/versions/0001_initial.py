"""Teams, routing rules, cases and their history; the outbox and inbox; the default team

Revision ID: 0001
Revises:
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cvms_platform import outbox_wakeup
from cvms_platform.db import UtcDateTime
from cvms_platform.tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    teams = op.create_table(
        "teams",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("round_robin", sa.Boolean, nullable=False),
        sa.Column("last_assignee_id", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index(
        "uq_teams_default",
        "teams",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.create_table(
        "team_agents",
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("added_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_team_agents_agent_id", "team_agents", ["agent_id"])
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(40), nullable=True),
        sa.Column("requester_type", sa.String(20), nullable=True),
        sa.Column("language", sa.String(5), nullable=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.String(64), nullable=False),
        sa.Column("requester_type", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("location_id", sa.String(64), nullable=True),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("contact_channel", sa.String(10), nullable=False),
        sa.Column("contact_phone", sa.String(30), nullable=True),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("assignee_id", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("first_response_due", UtcDateTime, nullable=False),
        sa.Column("first_responded_at", UtcDateTime, nullable=True),
        sa.Column("resolution_due", UtcDateTime, nullable=True),
        sa.Column("pending_since", UtcDateTime, nullable=True),
        sa.Column("resolution_left_s", sa.Integer, nullable=True),
        sa.Column("next_due_at", UtcDateTime, nullable=True),
        sa.Column("first_response_breached", sa.Boolean, nullable=False),
        sa.Column("resolution_breached", sa.Boolean, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("resolution_notes", sa.Text, nullable=True),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
    )
    op.create_index("ix_cases_queue", "cases", ["team_id", "status", "next_due_at"])
    op.create_index("ix_cases_requester", "cases", ["requester_id", "created_at"])
    op.create_index("ix_cases_assignee_id", "cases", ["assignee_id"])
    op.create_table(
        "case_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("actor_role", sa.String(30), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_case_entries_case", "case_entries", ["case_id", "seq"])
    create_messaging_tables(op)
    outbox_wakeup.install(op)
    # Cases no rule names go to the default team; there is always one.
    op.bulk_insert(
        teams,
        [
            {
                "id": "general",
                "name": "General",
                "is_default": True,
                "round_robin": False,
                "last_assignee_id": None,
                "created_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    outbox_wakeup.uninstall(op)
    drop_messaging_tables(op)
    op.drop_index("ix_case_entries_case", "case_entries")
    op.drop_table("case_entries")
    op.drop_index("ix_cases_assignee_id", "cases")
    op.drop_index("ix_cases_requester", "cases")
    op.drop_index("ix_cases_queue", "cases")
    op.drop_table("cases")
    op.drop_table("routing_rules")
    op.drop_index("ix_team_agents_agent_id", "team_agents")
    op.drop_table("team_agents")
    op.drop_index("uq_teams_default", "teams")
    op.drop_table("teams")
