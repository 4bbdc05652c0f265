"""The channels a person chose when booking (e-mail, text messages); bookings made before
chose every channel they gave an address for.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

TABLES = ("appointments", "waitlist_entries")


def upgrade() -> None:
    for table in TABLES:
        for column in ("contact_email", "contact_sms"):
            op.add_column(
                table, sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade() -> None:
    for table in TABLES:
        for column in ("contact_email", "contact_sms"):
            op.drop_column(table, column)
