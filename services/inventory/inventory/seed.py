"""Reference data: the COVID-19 product catalog, loaded and kept current from products.json."""

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
            session.merge(Product(**item))
