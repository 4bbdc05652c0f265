"""The products projection: inventory's catalog facts, fetched over RPC and kept 10 minutes, and
updated at once by inventory's `product_updated` event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from administration.models import Product
from cvms_platform.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=10)
FACTS = (
    "name",
    "manufacturer",
    "mvx_code",
    "cvx_code",
    "dose_volume_ml",
    "min_age_years",
    "series_doses",
    "min_interval_days",
)

ProductLookup = Callable[[], list[dict]]


def refresh(session: Session, list_products: ProductLookup) -> None:
    """Replace the projection's facts with the catalog as inventory answers it now."""
    now = utcnow()
    upsert(session, [_facts(product, now) for product in list_products()])


def upsert(session: Session, rows: list[dict]) -> None:
    """Insert or update products in one statement. Concurrent first doses all find the
    projection empty and all fill it: INSERT ... ON CONFLICT lets the later ones update the rows
    the first committed instead of failing on the primary key."""
    if not rows:
        return
    # The same order in every transaction, so two refreshes never wait on each other's rows.
    rows = sorted(rows, key=lambda row: row["id"])
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Product).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[Product.id],
        set_={name: statement.excluded[name] for name in rows[0] if name != "id"},
    )
    session.execute(statement)
    # Products this session loaded before now hold older facts: read them again when used.
    for known in list(session.identity_map.values()):
        if isinstance(known, Product):
            session.expire(known)


def on_product_updated(session: Session, payload: dict) -> None:
    """A catalog edit by a state administrator, applied at once rather than at the next refresh.
    The event carries the whole product, so it replaces the facts as a refresh would."""
    upsert(session, [_facts(payload, utcnow())])


def _facts(product: dict, refreshed_at) -> dict:
    return {
        "id": product["id"],
        "refreshed_at": refreshed_at,
        "cap_color": product.get("cap_color"),
        **{name: product[name] for name in FACTS},
    }


def is_fresh(session: Session) -> bool:
    """Whether the projection holds facts younger than MAX_AGE."""
    oldest = session.scalar(select(func.min(Product.refreshed_at)))
    return oldest is not None and as_utc(oldest) > utcnow() - MAX_AGE


def refresh_if_stale(session: Session, list_products: ProductLookup) -> None:
    """Refresh when the projection is empty or older than MAX_AGE. If inventory does not answer,
    facts already known are used as they are; with none known, the error goes up."""
    oldest = session.scalar(select(func.min(Product.refreshed_at)))
    if oldest is not None and as_utc(oldest) > utcnow() - MAX_AGE:
        return
    try:
        refresh(session, list_products)
    except Exception:
        if oldest is None:
            raise
        log.warning("inventory did not list its products; using the catalog as of %s", oldest)


def product(
    session: Session, product_id: str, list_products: ProductLookup | None
) -> Product | None:
    """A product's facts; a product not seen yet makes one refresh (a new catalog entry)."""
    known = session.get(Product, product_id)
    if known is None and list_products is not None:
        refresh(session, list_products)
        known = session.get(Product, product_id)
    return known
