"""The knowledge base: articles written as drafts and published, in English or Spanish, found
by full-text search (PostgreSQL's, in the article's language, ranked; on SQLite, every word
matched anywhere in the title or body)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from cvms_platform.errors import NotFound
from helpdesk.models import Article

PUBLISHED, DRAFT = "published", "draft"
# The same expression as the migration's index (0003), so that PostgreSQL uses it.
CONFIG = "CASE WHEN language = 'es' THEN 'spanish'::regconfig ELSE 'english'::regconfig END"
DOCUMENT = f"to_tsvector({CONFIG}, title || ' ' || body)"
CONFIG_OF = {"en": "english", "es": "spanish"}
MAX_WORDS = 8


def create(session: Session, given: dict, author: dict, now: datetime) -> Article:
    article = Article(
        id=str(uuid.uuid4()),
        title=given["title"],
        body=given["body"],
        language=given["language"],
        topic=given["topic"],
        status=DRAFT,
        author_id=author["id"],
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    session.flush()
    return article


def change(session: Session, article: Article, given: dict, now: datetime) -> None:
    for name in ("title", "body", "topic"):
        if name in given:
            setattr(article, name, given[name])
    if "status" in given and given["status"] != article.status:
        article.status = given["status"]
        article.published_at = now if article.status == PUBLISHED else None
    article.updated_at = now


def get(session: Session, article_id: str, *, published_only: bool) -> Article:
    article = session.get(Article, article_id)
    if article is None or (published_only and article.status != PUBLISHED):
        raise NotFound(f"Article {article_id} not found.")
    return article


def listing(session: Session, language: str | None, status: str | None, limit: int) -> list:
    query = select(Article)
    if language:
        query = query.where(Article.language == language)
    if status:
        query = query.where(Article.status == status)
    return list(session.scalars(query.order_by(Article.updated_at.desc()).limit(limit)))


def search(session: Session, words: str, language: str | None, limit: int) -> list[dict]:
    """Published articles matching `words`, best first."""
    if session.get_bind().dialect.name == "postgresql":
        config = f"'{CONFIG_OF[language]}'::regconfig" if language else CONFIG
        rows = session.execute(
            text(
                "SELECT id, title, language, topic, status, left(body, 200) AS excerpt "
                "FROM articles "
                f"WHERE status = 'published' AND (CAST(:language AS text) IS NULL "
                f"OR language = :language) "
                f"AND {DOCUMENT} @@ websearch_to_tsquery({config}, :words) "
                f"ORDER BY ts_rank({DOCUMENT}, websearch_to_tsquery({config}, :words)) DESC, "
                "updated_at DESC LIMIT :limit"
            ),
            {"words": words, "language": language, "limit": limit},
        )
        return [dict(row._mapping) for row in rows]
    query = select(Article).where(Article.status == PUBLISHED)
    if language:
        query = query.where(Article.language == language)
    for word in words.split()[:MAX_WORDS]:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Article.title.ilike(pattern), Article.body.ilike(pattern)))
    found = session.scalars(query.order_by(Article.updated_at.desc()).limit(limit))
    return [summary(article) for article in found]


def summary(article: Article) -> dict:
    return {
        "id": article.id,
        "title": article.title,
        "language": article.language,
        "topic": article.topic,
        "status": article.status,
        "excerpt": article.body[:200],
    }
