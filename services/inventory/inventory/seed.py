"""Reference data: the COVID-19 product catalog, loaded and kept current from products.json.

Idempotent, and a product a state admin has edited (`edited_at` set) is left as edited: the
file brings new products and corrects untouched ones, never an admin's decision.

With demo data and CVMS_DEMO_STOCK=1 (`make run` sets it; the test cluster does not, so its
tests start from empty shelves), the demo clinic also receives a few lots, one of them expiring
within 30 days, so a newcomer can record doses and see the expiry warning at once."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from importlib import resources

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cvms_platform.timeutil import utcnow
from inventory import ledger
from inventory.models import Lot, Product

DEMO_LOCATION = "demo-clinic"
# Shipment id, product, lot number, days until expiry, doses.
DEMO_SHIPMENTS = (
    ("DEMO-SHP-1", "pfizer-gray-12plus", "DM1001", 20, 60),
    ("DEMO-SHP-2", "pfizer-gray-12plus", "DM1002", 150, 300),
    ("DEMO-SHP-3", "moderna-red-18plus", "DM2001", 90, 100),
)


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
    if demo and os.environ.get("CVMS_DEMO_STOCK") == "1":
        _demo_stock(engine)


def _demo_stock(engine: Engine) -> None:
    """Each demo shipment received once, as the API receives one (its lot_received event goes
    through the outbox, so scheduling and administration learn of it)."""
    today = utcnow().date()
    with Session(engine) as session, session.begin():
        for shipment_id, product_id, lot_number, days, doses in DEMO_SHIPMENTS:
            if session.get(Product, product_id) is None:
                continue
            received = session.scalar(
                select(Lot.id).where(
                    Lot.location_id == DEMO_LOCATION, Lot.shipment_id == shipment_id
                )
            )
            if received is None:
                shipment = {
                    "shipment_id": shipment_id,
                    "product_id": product_id,
                    "lot_number": lot_number,
                    "expiration_date": today + timedelta(days=days),
                    "doses": doses,
                    "storage_unit": "Fridge 1",
                }
                ledger.receive_lot(
                    session, DEMO_LOCATION, shipment, correlation_id=str(uuid.uuid4())
                )
