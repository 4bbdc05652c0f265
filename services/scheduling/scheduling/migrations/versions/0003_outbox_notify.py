"""Wake the relay when outbox rows are committed (PostgreSQL NOTIFY; nothing on SQLite)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from cvms_platform import outbox_wakeup

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    outbox_wakeup.install(op)


def downgrade() -> None:
    outbox_wakeup.uninstall(op)
