"""Find an appointment by the administration that completed it (a voided dose reopens it)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_index("ix_appointments_administration", "appointments", ["administration_id"])


def downgrade() -> None:
    op.drop_index("ix_appointments_administration", table_name="appointments")
