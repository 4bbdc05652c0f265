"""Users linked to what they act for beyond locations: an organization (organization admins and
partner systems) or a recipient (a recipient's own account).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("organization_id", sa.String(64), nullable=True))
        # One account per recipient: a second claim of the same record is refused by the database.
        batch.add_column(sa.Column("recipient_id", sa.String(36), nullable=True))
        batch.create_unique_constraint("uq_users_recipient_id", ["recipient_id"])
        batch.create_index("ix_users_organization_id", ["organization_id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_organization_id")
        batch.drop_constraint("uq_users_recipient_id", type_="unique")
        batch.drop_column("recipient_id")
        batch.drop_column("organization_id")
