"""Wake the relay when outbox rows are committed (PostgreSQL NOTIFY; nothing on SQLite)

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from cvms_platform import outbox_wakeup

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    outbox_wakeup.install(op)


def downgrade() -> None:
    outbox_wakeup.uninstall(op)
