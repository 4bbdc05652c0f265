"""Files attached to a case when it is filed

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from cvms_platform.db import UtcDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_case_attachments_case_id", "case_attachments", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_attachments_case_id", "case_attachments")
    op.drop_table("case_attachments")
