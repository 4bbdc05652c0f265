"""The gateway publishes events (outbox), enrolls providers (organizations, enrollments, locations
with their details), invites users with one-time links, issues API keys to partner systems and
keeps an append-only audit log.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from cvms_platform.tables import create_messaging_tables, drop_messaging_tables

revision = "0004"
down_revision = "0003"

# The application may only add audit events: PostgreSQL refuses to change or remove one.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
"""


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("address", sa.JSON, nullable=False),
        sa.Column("enrollment_id", sa.String(36), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("organization_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON, nullable=True))
        batch.create_index("ix_locations_organization_id", ["organization_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("display_name", sa.String(200), nullable=True))
    op.create_table(
        "enrollments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("edit_token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("organization", sa.JSON, nullable=False),
        sa.Column("locations", sa.JSON, nullable=False),
        sa.Column("rejection_reason", sa.Text, nullable=True),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_enrollments_status", "enrollments", ["status", "submitted_at"])
    op.create_table(
        "password_links",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_password_links_user_id", "password_links", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organization_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_organization_id", "api_keys", ["organization_id"])
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("role", sa.String(30), nullable=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=True),
        sa.Column("location_id", sa.String(64), nullable=True),
        sa.Column("lot_id", sa.String(64), nullable=True),
        sa.Column("object_ids", sa.JSON, nullable=False),
    )
    for column in ("occurred_at", "actor_id", "recipient_id", "location_id"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_table("audit_events")
    op.drop_table("api_keys")
    op.drop_table("password_links")
    op.drop_index("ix_enrollments_status", table_name="enrollments")
    op.drop_table("enrollments")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name")
        batch.drop_column("email")
    with op.batch_alter_table("locations") as batch:
        batch.drop_index("ix_locations_organization_id")
        batch.drop_column("details")
        batch.drop_column("organization_id")
    op.drop_table("organizations")
    drop_messaging_tables(op)
