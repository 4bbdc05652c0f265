"""The products projection: inventory's catalog facts, fetched over RPC and kept 10 minutes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
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
    for product in list_products():
        session.merge(
            Product(
                id=product["id"],
                refreshed_at=now,
                cap_color=product.get("cap_color"),
                **{k: product[k] for k in FACTS},
            )
        )
    session.flush()


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
