"""The product catalog and the locations' names, as every page names them.

A product is named for a person once, with its cap colour, in the reader's language: the API
gives each product its `labels` ({"en": "... (Gray Cap)", "es": "... (tapa gris)"}, on
GET /products, GET /public/products and a recipient's doses), and `product_label` picks the
page's. No page keeps a list of cap colours of its own.

Both the catalog and a location's name are asked of the API once and kept, so a page costs only
the calls for its own data (at most 3 API calls a rendered page). Staff pages read
GET /products as the signed-in person and keep it in their session; public pages read
GET /public/products, the same for everyone, kept in the process (an anonymous visitor gets no
session for it). Both are asked again after PRODUCTS_TTL_SECONDS.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from flask import Flask, render_template, session
from flask_babel import get_locale

from portal.auth import api

# The clinics' time zone: times are entered and shown in it.
TIME_ZONE = ZoneInfo(os.environ.get("CVMS_PORTAL_TIME_ZONE", "America/New_York"))
PRODUCTS_TTL_SECONDS = 600
# What pages use of a product (the session keeps no more).
KEPT = ("id", "name", "cap_color", "labels", "active", "dose_volume_ml", "doses_per_vial")
SESSION_PRODUCTS = "catalog_products"
SESSION_LOCATION_NAMES = "catalog_location_names"

_public_lock = threading.Lock()
_public: dict = {"at": 0.0, "items": None}


def _by_id(listed: list[dict]) -> dict[str, dict]:
    return {p["id"]: {k: p[k] for k in KEPT if k in p} for p in listed}


def products(public: bool = False) -> dict[str, dict]:
    """The catalog by product id, in the API's order: GET /products as the signed-in person
    (kept in their session), or with `public` GET /public/products (kept in the process)."""
    if public:
        return _public_products()
    cached = session.get(SESSION_PRODUCTS)
    if cached and time.time() - cached.get("at", 0) < PRODUCTS_TTL_SECONDS:
        return cached["items"]
    items = _by_id(api("GET", "/products"))
    session[SESSION_PRODUCTS] = {"at": time.time(), "items": items}
    return items


def _public_products() -> dict[str, dict]:
    with _public_lock:
        if _public["items"] is not None and time.time() - _public["at"] < PRODUCTS_TTL_SECONDS:
            return _public["items"]
    items = _by_id(api("GET", "/public/products"))
    with _public_lock:
        _public.update(at=time.time(), items=items)
    return items


def language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def product_label(
    product: Mapping | str | None, catalog: Mapping[str, Mapping] | None = None
) -> str:
    """A product named for a person: its label in the page's language (the cap colour once).

    `product` is a product of the catalog, or anything carrying its `labels` (a recipient's
    dose), or a product id looked up in `catalog` (an unknown id is shown as it is)."""
    if isinstance(product, str):
        found = (catalog or {}).get(product)
        if found is None:
            return product
        product = found
    if not product:
        return ""
    labels = product.get("labels") or {}
    return (
        labels.get(language())
        or labels.get("en")
        or product.get("name")
        or product.get("product_name")
        or product.get("id")
        or ""
    )


def product_options(catalog: Mapping[str, Mapping], active_only: bool = False) -> list:
    """(id, label) pairs for a select, by label."""
    return sorted(
        (
            (pid, product_label(product))
            for pid, product in catalog.items()
            if not active_only or product.get("active", True)
        ),
        key=lambda option: option[1],
    )


def location_name(location_id: str) -> str:
    """The location's name, asked of the API once per session."""
    names = session.get(SESSION_LOCATION_NAMES) or {}
    if location_id not in names:
        found = api("GET", "/locations", params={"q": location_id, "limit": 20})["locations"]
        name = next((loc["name"] for loc in found if loc["id"] == location_id), location_id)
        names = {**names, location_id: name}
        session[SESSION_LOCATION_NAMES] = names
    return names[location_id]


def location_page(template: str, location_id: str, status: int = 200, **context):
    """A page in the frame of one location (templates/provider/_location.html)."""
    return (
        render_template(
            template,
            location_id=location_id,
            location_name=location_name(location_id),
            time_zone=TIME_ZONE.key,
            **context,
        ),
        status,
    )


def install(app: Flask) -> None:
    app.jinja_env.globals["product_label"] = product_label
