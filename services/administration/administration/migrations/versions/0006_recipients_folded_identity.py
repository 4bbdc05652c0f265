"""Recipients by the identity registration matches on (trimmed, lower-case names and the birth
date): an index on those expressions. Without it, matching one registration, or the rows of an
import chunk, read every recipient.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_index(
        "ix_recipients_folded_identity",
        "recipients",
        [
            sa.text("lower(trim(family_name))"),
            sa.text("lower(trim(given_name))"),
            "birth_date",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_recipients_folded_identity", "recipients")
