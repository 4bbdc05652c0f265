"""Wake the relay when outbox rows are committed (PostgreSQL NOTIFY; nothing on SQLite)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from cvms_platform import outbox_wakeup

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    outbox_wakeup.install(op)


def downgrade() -> None:
    outbox_wakeup.uninstall(op)
