"""The knowledge base: articles, with a PostgreSQL full-text index per language

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from cvms_platform.db import UtcDateTime

revision = "0003"
down_revision = "0002"

# The text searched, in the article's own language's configuration.
DOCUMENT = (
    "to_tsvector(CASE WHEN language = 'es' THEN 'spanish'::regconfig "
    "ELSE 'english'::regconfig END, title || ' ' || body)"
)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("topic", sa.String(40), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_articles_status_language", "articles", ["status", "language"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({DOCUMENT}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.drop_index("ix_articles_status_language", "articles")
    op.drop_table("articles")
