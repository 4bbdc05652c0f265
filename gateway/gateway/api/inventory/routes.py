"""Inventory's later routes: open vials and the next lot to use (first expired, first out),
stock thresholds and days of supply, transfers between locations, catalog edits by state
admins, and the offline Inventory Levels form (PDF, CSV template, CSV import)."""

from __future__ import annotations

import base64
import csv
import io

from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform import validation
from cvms_platform.timeutil import utcnow
from gateway import schemas
from gateway.access import MANAGERS, STAFF, allow
from gateway.api.inventory import schemas as inventory_schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.routing import API_PREFIX, body, created, services

inventory_api = Blueprint("inventory", __name__, url_prefix=API_PREFIX)


# -- open vials and FEFO --------------------------------------------------------------------------
@inventory_api.get("/locations/<location_id>/open-vials")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "The location's open multi-dose vials whose doses may still be given, the soonest to reach "
    "its beyond-use time first (what is left then is wasted)",
    tag="inventory",
    responses={200: ("Open vials", inventory_schemas.OpenVial(many=True))},
)
def open_vials(location_id: str):
    with services() as s:
        return jsonify(s.inventory.open_vials(location_id))


@inventory_api.get("/locations/<location_id>/products/<product_id>/next-lot")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "The lot the next dose of a product should come from (first expired, first out; a lot "
    "with an open vial first), at ?at= (ISO datetime with offset; default now)",
    tag="inventory",
    responses={
        200: ("The lot, and the open vial to draw from", inventory_schemas.NextLot),
        422: ("No usable lot of the product: `fields.product_id` says why", "Error"),
    },
)
def next_lot(location_id: str, product_id: str):
    query = validation.load(inventory_schemas.NextLotQuery(), request.args.to_dict())
    at = (query["at"] or utcnow()).isoformat()
    with services() as s:
        return jsonify(s.inventory.choose_lot(location_id, product_id, at))


# -- days of supply -------------------------------------------------------------------------------
@inventory_api.put("/locations/<location_id>/stock-threshold")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Set the days of supply under which inventory announces stock_low for the location's "
    "products (default 7)",
    tag="inventory",
    body=inventory_schemas.StockThresholdRequest,
    responses={200: ("The threshold", inventory_schemas.StockThreshold)},
)
def set_stock_threshold(location_id: str):
    data = body(inventory_schemas.StockThresholdRequest())
    with services() as s:
        return jsonify(s.inventory.set_stock_threshold(location_id, data, g.principal.username))


@inventory_api.get("/locations/<location_id>/stock-supply")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Days of supply per product: usable doses on hand over the average daily use of the last "
    "7 days, with the product's next lot to use now (as next-lot chooses it; null when none "
    "is usable), and the location's stock_low threshold",
    tag="inventory",
    responses={200: ("Days of supply", inventory_schemas.StockSupply)},
)
def stock_supply(location_id: str):
    with services() as s:
        return jsonify(s.inventory.stock_supply(location_id))


# -- transfers ------------------------------------------------------------------------------------
@inventory_api.post("/locations/<location_id>/lots/<lot_id>/transfers")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Transfer doses of a lot to another location: out of this lot, into the same lot there, "
    "in one transaction; idempotent by transfer_id",
    tag="inventory",
    body=inventory_schemas.TransferRequest,
    responses={
        201: ("The transfer", inventory_schemas.Transfer),
        200: ("This transfer id was already recorded: the transfer as it was", None),
        404: ("No such lot at this location", "Error"),
        409: ("The transfer id was used for another transfer", "Error"),
        422: ("No such destination, or more doses than can be moved", "Error"),
    },
)
def transfer_lot(location_id: str, lot_id: str):
    data = body(inventory_schemas.TransferRequest())
    if not current_app.extensions["cvms_directory"].exists(data["to_location_id"]):
        raise ApiError(
            422,
            "rule_violated",
            "The request breaks a rule.",
            {"to_location_id": [f"No location {data['to_location_id']}."]},
        )
    with services() as s:
        answer = s.inventory.transfer_lot(location_id, lot_id, data)
    # The destination's stock changed too: its cached inventory is stale.
    current_app.extensions["cvms_inventory_cache"].invalidate(data["to_location_id"])
    if not answer["created"]:
        return jsonify(answer)
    return created(answer, url_for("api.location_inventory", location_id=location_id))


# -- the catalog ----------------------------------------------------------------------------------
@inventory_api.patch("/products/<product_id>")
@allow("state_admin")
@doc(
    "Edit a product of the catalog (name, cap color, doses per vial, beyond-use hours, minimum "
    "age, series, storage range, active); announced to other services as product_updated",
    tag="inventory",
    body=inventory_schemas.ProductChanges,
    responses={
        200: ("The product as edited", schemas.Product),
        404: ("No such product", "Error"),
        409: ("Another product has that name", "Error"),
    },
)
def update_product(product_id: str):
    changes = body(inventory_schemas.ProductChanges())
    with services() as s:
        return jsonify(s.inventory.update_product(product_id, changes, g.principal.username))


# -- the offline Inventory Levels form ------------------------------------------------------------
FORM_PERIOD = "for ?from=&to= (YYYY-MM-DD, UTC; default the 7 days to today)"


@inventory_api.get("/locations/<location_id>/inventory-levels/form.pdf")
@allow(*STAFF, location_scoped=True)
@doc(
    "The printable Inventory Levels form of the location, per lot (product and cap color, lot, "
    f"expiration, on hand, administered, wasted by reason, transferred), {FORM_PERIOD}",
    tag="inventory",
    responses={200: ("application/pdf", None)},
)
def levels_form_pdf(location_id: str):
    answer = _form(location_id, "pdf")
    return _download(base64.b64decode(answer["base64"]), answer)


@inventory_api.get("/locations/<location_id>/inventory-levels/form.csv")
@allow(*STAFF, location_scoped=True)
@doc(
    "The Inventory Levels form as a CSV template: the PDF's columns, a row id per row and the "
    f"columns to fill in (see the README), {FORM_PERIOD}",
    tag="inventory",
    responses={200: ("text/csv", None)},
)
def levels_form_csv(location_id: str):
    answer = _form(location_id, "csv")
    return _download(answer["text"], answer)


@inventory_api.post("/locations/<location_id>/inventory-levels/form.csv")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Import a filled-in Inventory Levels form (a text/csv body): counts, wastage and lots "
    "received. Each row is accepted or rejected with its reason; a row already imported "
    "records nothing again. `Accept: text/csv` or ?format=csv answers as CSV",
    tag="inventory",
    responses={200: ("What became of each row", inventory_schemas.FormImport)},
)
def import_levels_form(location_id: str):
    if request.mimetype not in ("text/csv", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "Send the filled-in form as text/csv.")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_csv", "The form must be UTF-8 text.") from None
    with services() as s:
        answer = s.inventory.import_levels_form(location_id, text, g.principal.username)
    wants_csv = request.args.get("format") == "csv" or (
        "format" not in request.args
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    if not wants_csv:
        return jsonify(answer)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row_id", "status", "reason", "ledger_entry_ids"])
    for row in answer["rows"]:
        writer.writerow(
            [row["row_id"], row["status"], row["reason"] or "", " ".join(row["ledger_entry_ids"])]
        )
    return current_app.response_class(out.getvalue(), mimetype="text/csv")


def _form(location_id: str, fmt: str) -> dict:
    query = validation.load(inventory_schemas.FormQuery(), request.args.to_dict())
    date_from, date_to = query["date_from"], query["date_to"]
    with services() as s:
        return s.inventory.levels_form(
            location_id,
            date_from.isoformat() if date_from else None,
            date_to.isoformat() if date_to else None,
            fmt,
        )


def _download(content, answer: dict):
    response = current_app.response_class(content, mimetype=answer["content_type"])
    response.headers["Content-Disposition"] = f'attachment; filename="{answer["filename"]}"'
    return response


# -- stock over time ------------------------------------------------------------------------------
DAILY_SUMMARY = (
    "doses on hand per product at the end of each day of ?from=YYYY-MM-DD&to=YYYY-MM-DD "
    "(inclusive, UTC, at most 366 days); optional ?product_id="
)


@inventory_api.get("/locations/<location_id>/inventory-levels/daily")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    f"A location's stock over time: {DAILY_SUMMARY}",
    tag="inventory",
    responses={200: ("One series per product", inventory_schemas.DailyLevels)},
)
def location_daily_levels(location_id: str):
    return _daily_levels(location_id)


@inventory_api.get("/inventory-levels/daily")
@allow("state_admin")
@doc(
    f"Stock over time summed over every location: {DAILY_SUMMARY}",
    tag="inventory",
    responses={200: ("One series per product", inventory_schemas.DailyLevels)},
)
def all_daily_levels():
    return _daily_levels(None)


def _daily_levels(location_id: str | None):
    query = validation.load(inventory_schemas.DailyLevelsQuery(), request.args.to_dict())
    with services() as s:
        return jsonify(
            s.inventory.inventory_levels_daily(
                location_id,
                query["date_from"].isoformat(),
                query["date_to"].isoformat(),
                query.get("product_id"),
            )
        )
