"""The knowledge base: drafts are for their writers, published articles are found by their
words in their language (on SQLite every word must match; PostgreSQL's full text runs in the
cross-service tests)."""

import pytest

from cvms_platform.errors import InvalidInput, NotFound

from .conftest import AGENT


def write(service, title, body, language="en", topic=None):
    return service.create_article(
        AGENT, {"title": title, "body": body, "language": language, "topic": topic}
    )


def test_a_draft_is_found_only_once_published(service, clock):
    article = write(service, "Unlock your account", "After five failed sign-ins, wait an hour.")
    assert article["status"] == "draft" and article["published_at"] is None
    assert service.search_articles("unlock account") == []
    with pytest.raises(NotFound):
        service.article(article["id"])
    assert service.article(article["id"], True)["title"] == "Unlock your account"

    clock.advance(minutes=5)
    published = service.update_article(AGENT, article["id"], {"status": "published"})
    assert published["published_at"] is not None
    [found] = service.search_articles("UNLOCK sign-ins")
    assert found["id"] == article["id"] and found["excerpt"].startswith("After five")
    assert service.article(article["id"])["body"].startswith("After five")

    service.update_article(AGENT, article["id"], {"status": "draft"})
    assert service.search_articles("unlock") == []


def test_search_by_language_and_listing(service):
    english = write(service, "Report a temperature excursion", "Quarantine the lot first.")
    spanish = write(
        service, "Informar una excursión de temperatura", "Ponga el lote en cuarentena.", "es"
    )
    for article in (english, spanish):
        service.update_article(AGENT, article["id"], {"status": "published"})
    assert [a["id"] for a in service.search_articles("temperatura", "es")] == [spanish["id"]]
    assert service.search_articles("temperatura", "en") == []
    assert service.search_articles("   ") == []
    write(service, "Not yet", "A draft.")
    assert len(service.list_articles()) == 3
    assert [a["title"] for a in service.list_articles(None, "draft")] == ["Not yet"]


def test_articles_are_checked_field_by_field(service):
    with pytest.raises(InvalidInput) as refused:
        service.create_article(AGENT, {"title": "x", "body": "", "language": "fr"})
    assert set(refused.value.errors) == {"title", "body", "language"}
    with pytest.raises(InvalidInput):
        service.search_articles("x", "fr")
