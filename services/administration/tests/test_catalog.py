"""The products projection: filled by concurrent first doses without a clash (on PostgreSQL,
where the race happens), and kept current by inventory's `product_updated` event."""

import os
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import eventlet
import psycopg
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from administration import catalog
from administration.models import Product
from administration.service import AdministrationService
from cvms_platform.contracts import new_event, to_wire
from cvms_platform.db import DatabaseAccess, make_engine
from cvms_platform.errors import Unprocessable
from cvms_platform.migrate import upgrade

from .conftest import CATALOG, dose, inventory_lot

POSTGRES = os.environ.get("CVMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated administration database of this test's own on PostgreSQL, dropped after."""
    name = f"cvms_unit_administration_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL to test the race on: {exc}")
    url = urlsplit(POSTGRES)._replace(scheme="postgresql+psycopg", path=f"/{name}").geturl()
    try:
        upgrade("administration", url=url)
        yield url
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_concurrent_first_doses_both_fill_the_empty_projection(postgres_url):
    engine = make_engine(postgres_url, pool_size=4)
    make_session = sessionmaker(bind=engine, expire_on_commit=False)
    lot = inventory_lot()
    # Both workers find the projection empty before either fills it: the race of a fresh start.
    both_listing = threading.Barrier(2, timeout=10)

    def list_products():
        both_listing.wait()
        return [dict(product) for product in CATALOG]

    def worker() -> AdministrationService:
        service = worker_factory(
            AdministrationService,
            db=DatabaseAccess(engine, make_session),
            correlation_id="corr-race",
        )
        service.inventory.list_products.side_effect = list_products
        service.inventory.get_lot.return_value = lot
        return service

    first, second = worker(), worker()
    recipients = [
        service.register_recipient(
            {"given_name": "Ada", "family_name": f"Race{n}", "birth_date": "1990-12-10"}
        )["recipient"]
        for n, service in enumerate((first, second))
    ]
    try:
        doses = [
            eventlet.spawn(service.record_administration, dose(recipient, lot), "nurse-1")
            for service, recipient in zip((first, second), recipients, strict=True)
        ]
        results = [green.wait() for green in doses]

        assert [result["created"] for result in results] == [True, True]
        with make_session() as session:
            assert session.scalars(select(Product.id).order_by(Product.id)).all() == sorted(
                product["id"] for product in CATALOG
            )
    finally:
        for service in (first, second):
            service.db.close()
        engine.dispose()


def product_updated_body(**changes) -> dict:
    """The wire body inventory publishes when a state admin edits a product."""
    product = {
        **CATALOG[0],
        "cap_color": "gray",
        "ndc_unit_of_sale": "59267-1025-4",
        "ndc_unit_of_use": "59267-1025-1",
        "doses_per_vial": 6,
        "storage_min_c": -90,
        "storage_max_c": -60,
        "beyond_use_hours": 12,
        "active": True,
        **changes,
    }
    return to_wire(new_event("product_updated", product, correlation_id="corr-catalog"))


def test_a_product_edit_reaches_the_projection_at_once(service, recipient, lot, make_dose, read):
    service.record_administration(make_dose(recipient, lot), "nurse-1")  # the projection is fresh

    service.on_product_updated(product_updated_body(min_age_years=16, cap_color="orange"))

    [product] = read.all(select(Product).where(Product.id == "pfizer-gray-12plus"))
    assert (product.min_age_years, product.cap_color) == (16, "orange")
    assert read.count(Product) == len(CATALOG)


def test_a_product_edit_applies_to_the_next_dose_check(service, make_lot, make_dose):
    teenager = service.register_recipient(
        {"given_name": "Tim", "family_name": "Young", "birth_date": "2010-01-01"}
    )["recipient"]
    lot = make_lot()
    service.inventory.get_lot.return_value = lot
    service.on_product_updated(product_updated_body(min_age_years=18))

    with pytest.raises(Unprocessable) as refused:
        service.record_administration(make_dose(teenager, lot), "nurse-1")

    assert "recipient_id" in refused.value.errors


def test_a_product_first_announced_by_event_is_added(service, read):
    service.on_product_updated(product_updated_body(id="novavax-12plus", name="Novavax"))

    [product] = read.all(select(Product).where(Product.id == "novavax-12plus"))
    assert product.name == "Novavax"


def test_a_refresh_replaces_the_facts_of_products_already_known(service, recipient, lot, make_dose):
    service.record_administration(make_dose(recipient, lot), "nurse-1")
    edited = [dict(product, min_interval_days=60) for product in CATALOG]
    service.inventory.list_products.return_value = edited

    with service.db.transaction() as session:
        catalog.refresh(session, service.inventory.list_products)
        product = session.get(Product, "pfizer-gray-12plus")
        assert product.min_interval_days == 60
