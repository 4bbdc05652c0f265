"""Reference data: the COVID-19 product catalog, loaded and kept current from products.json.

Idempotent, and a product a state admin has edited (`edited_at` set) is left as edited: the
file brings new products and corrects untouched ones, never an admin's decision."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from inventory.models import Product


def catalog() -> list[dict]:
    return json.loads(resources.files("inventory").joinpath("data/products.json").read_text())


def run(engine: Engine, *, demo: bool = False) -> None:
    with Session(engine) as session, session.begin():
        for item in catalog():
            product = session.get(Product, item["id"])
            if product is None:
                session.add(Product(**item, active=True))
            elif product.edited_at is None:
                for field, value in item.items():
                    setattr(product, field, value)
