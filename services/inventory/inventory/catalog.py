"""The product catalog: seeded from products.json, edited by state admins. Every edit is
announced with `product_updated` (the whole product), so services keeping a copy refresh it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.errors import Conflict, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow
from inventory.models import Product

# What a state admin may change; identifiers (id, NDC, CVX, MVX codes) are the product itself.
EDITABLE = (
    "name",
    "cap_color",
    "manufacturer",
    "doses_per_vial",
    "dose_volume_ml",
    "beyond_use_hours",
    "min_age_years",
    "series_doses",
    "min_interval_days",
    "storage_min_c",
    "storage_max_c",
    "active",
)
FIELDS = (
    "id",
    "name",
    "cap_color",
    "manufacturer",
    "mvx_code",
    "cvx_code",
    "ndc_unit_of_sale",
    "ndc_unit_of_use",
    "doses_per_vial",
    "dose_volume_ml",
    "min_age_years",
    "series_doses",
    "min_interval_days",
    "storage_min_c",
    "storage_max_c",
    "beyond_use_hours",
    "active",
)


def as_dict(product: Product) -> dict:
    answer = {name: getattr(product, name) for name in FIELDS}
    answer["dose_volume_ml"] = float(answer["dose_volume_ml"])
    return answer


def update_product(
    session: Session, product_id: str, changes: dict, *, edited_by: str, correlation_id: str
) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise NotFound(f"product {product_id} not found")
    low = changes.get("storage_min_c", product.storage_min_c)
    high = changes.get("storage_max_c", product.storage_max_c)
    if low > high:
        raise Unprocessable({"storage_min_c": ["Above storage_max_c."]})
    name = changes.get("name")
    if name is not None and name != product.name:
        taken = session.scalar(
            select(Product.id).where(Product.name == name, Product.id != product_id)
        )
        if taken is not None:
            raise Conflict(f"product {taken} already has the name {name!r}")
    for field, value in changes.items():
        setattr(product, field, value)
    product.edited_at, product.edited_by = utcnow(), edited_by
    session.flush()
    record_event(session, "product_updated", as_dict(product), correlation_id=correlation_id)
    return product
