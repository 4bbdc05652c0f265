"""Inventory's routes: the catalog, shipments received, stock on hand and discrepancies; wastage,
corrections, the lot ledger, excursions and the levels report; open vials and the next lot to
use (first expired, first out), stock thresholds and days of supply, transfers between
locations, catalog edits by state admins, and the offline Inventory Levels form (PDF, CSV
template, CSV import)."""

from __future__ import annotations

import base64
import csv
import io

from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform.products import product_labels
from cvms_platform.timeutil import utcnow
from gateway import routing
from gateway.access import MANAGERS, STAFF, allow
from gateway.api.inventory import schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.routing import API_PREFIX, attachment, body, call, created, wants_csv

inventory_api = Blueprint("inventory", __name__, url_prefix=API_PREFIX)


# -- the catalog, shipments received, stock on hand, discrepancies --------------------------------
@inventory_api.get("/products")
@allow(*STAFF, scopes=("inventory:read",))
@doc(
    "The COVID-19 vaccine product catalog",
    responses={200: ("Products", schemas.Product(many=True))},
)
def list_products():
    catalog = call.inventory.list_products()
    return jsonify([{**product, "labels": product_labels(product)} for product in catalog])


@inventory_api.post("/locations/<location_id>/lots")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Receive a vaccine shipment at a location (idempotent by shipment id)",
    body=schemas.ReceiveLotRequest,
    responses={
        201: ("The lot was recorded", schemas.Lot),
        200: ("This shipment was already recorded", schemas.Lot),
        422: "Unknown product or expired lot",
    },
)
def receive_lot(location_id: str):
    shipment = body()
    result = call.inventory.receive_lot(location_id, shipment)
    location = url_for(".location_inventory", location_id=location_id)
    return created(result["lot"], location, new=result["created"])


@inventory_api.get("/locations/<location_id>/inventory")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Doses on hand per lot at a location",
    responses={200: ("Inventory", schemas.Inventory)},
)
def location_inventory(location_id: str):
    cache = current_app.extensions["cvms_inventory_cache"]
    body = cache.get_or_load(location_id, lambda: call.inventory.location_inventory(location_id))
    return current_app.response_class(body, mimetype="application/json")


@inventory_api.get("/locations/<location_id>/discrepancies")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Open stock discrepancies to reconcile (doses recorded against lots with no stock left)",
    responses={200: ("Discrepancies", schemas.Discrepancy(many=True))},
)
def list_discrepancies(location_id: str):
    include_resolved = request.args.get("include_resolved", "false").lower() == "true"
    return jsonify(call.inventory.list_discrepancies(location_id, include_resolved))


@inventory_api.post("/locations/<location_id>/discrepancies/<discrepancy_id>/resolve")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Mark a discrepancy reconciled, saying how",
    body=schemas.ResolveDiscrepancyRequest,
    responses={200: ("The resolved discrepancy", schemas.Discrepancy)},
)
def resolve_discrepancy(location_id: str, discrepancy_id: str):
    data = body()
    return jsonify(
        call.inventory.resolve_discrepancy(location_id, discrepancy_id, data["resolution"])
    )


# -- inventory operations: wastage, corrections, the lot ledger, excursions ----------------------
@inventory_api.post("/locations/<location_id>/lots/<lot_id>/wastage")
@allow(*STAFF, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Record doses wasted from a lot (broken vial, drawn but not given, open-vial time limit, "
    "temperature excursion, expired, or other with a note)",
    body=schemas.WastageRequest,
    responses={
        201: ("The ledger entry", schemas.LedgerEntry),
        404: "No such lot at this location",
        422: "More doses than the lot holds",
    },
)
def record_wastage(location_id: str, lot_id: str):
    wastage = body()
    entry = call.inventory.record_wastage(location_id, lot_id, wastage)
    return created(entry, url_for(".lot_ledger", location_id=location_id, lot_id=lot_id))


@inventory_api.post("/locations/<location_id>/lots/<lot_id>/corrections")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Correct a lot's stock after a count (a positive or negative number of doses, and why)",
    body=schemas.CorrectionRequest,
    responses={
        201: ("The ledger entry", schemas.LedgerEntry),
        404: "No such lot at this location",
        422: "The stock would go below zero",
    },
)
def correct_stock(location_id: str, lot_id: str):
    correction = body()
    entry = call.inventory.correct_stock(location_id, lot_id, correction)
    return created(entry, url_for(".lot_ledger", location_id=location_id, lot_id=lot_id))


@inventory_api.get("/locations/<location_id>/lots/<lot_id>/ledger")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Every change of a lot's stock, newest first; page with ?limit= (1-200, default 50) and "
    "?before= (the next_before of the previous page)",
    responses={
        200: ("A page of ledger entries", schemas.LedgerPage),
        404: "No such lot at this location",
    },
)
def lot_ledger(location_id: str, lot_id: str):
    query = routing.query(schemas.LedgerQuery())
    return jsonify(
        call.inventory.lot_ledger(location_id, lot_id, query["limit"], query.get("before"))
    )


@inventory_api.post("/locations/<location_id>/storage-units/<storage_unit>/excursions")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Report a temperature excursion in a storage unit: its usable lots are quarantined (not "
    "usable) until released",
    body=schemas.ExcursionRequest,
    responses={201: ("The excursion and the lots it quarantined", schemas.Excursion)},
)
def report_excursion(location_id: str, storage_unit: str):
    reading = body()
    excursion = call.inventory.report_excursion(location_id, storage_unit, reading)
    return created(excursion, url_for(".location_inventory", location_id=location_id))


@inventory_api.post("/locations/<location_id>/lots/<lot_id>/release")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Release a quarantined lot: its doses are fit for use again",
    body=schemas.ReleaseLotRequest,
    responses={
        200: ("The lot, usable again", schemas.Lot),
        404: "No such lot at this location",
        409: "The lot is not quarantined",
    },
)
def release_lot(location_id: str, lot_id: str):
    note = body()["note"]
    return jsonify(call.inventory.release_lot(location_id, lot_id, note))


# -- the inventory levels report ------------------------------------------------------------------
LEVELS_SUMMARY = (
    "per product: on hand at the start and end, received, administered, wasted (by reason), "
    "transferred in and out, corrections, and doses expiring within 30 days of `to`, for "
    "?from=YYYY-MM-DD&to=YYYY-MM-DD (inclusive, UTC, at most 366 days); optional ?product_id=; "
    "page with ?page= and ?limit= (1-200, default 50). `Accept: text/csv` or ?format=csv "
    "downloads it as CSV"
)


@inventory_api.get("/locations/<location_id>/inventory-levels")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    f"A location's inventory levels report: {LEVELS_SUMMARY}",
    responses={200: ("The report (or CSV)", schemas.InventoryLevels)},
)
def location_inventory_levels(location_id: str):
    return _inventory_levels(location_id)


@inventory_api.get("/inventory-levels")
@allow("state_admin")
@doc(
    f"Every location's inventory levels report, with state-wide totals: {LEVELS_SUMMARY}",
    responses={200: ("The report (or CSV)", schemas.InventoryLevels)},
)
def all_inventory_levels():
    return _inventory_levels(None)


def _inventory_levels(location_id: str | None):
    query = routing.query(schemas.InventoryLevelsQuery())
    report = call.inventory.inventory_levels(
        location_id,
        query["date_from"].isoformat(),
        query["date_to"].isoformat(),
        query.get("product_id"),
        query["page"],
        query["limit"],
    )
    if not wants_csv(query):
        return jsonify(report)
    filename = (
        f"inventory-levels-{location_id or 'all'}-{report['date_from']}-{report['date_to']}.csv"
    )
    response = attachment(_levels_csv(report), "text/csv", filename)
    response.headers["X-Total-Rows"] = str(report["total_rows"])
    return response


def _levels_csv(report: dict) -> str:
    """A header row, then the page's rows; with every location, the state-wide totals per
    product (location_id `ALL`) and the grand total (location_id and product_id `ALL`)."""
    columns = report["columns"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(report["rows"])
    for total in report.get("totals") or []:
        writer.writerow({**total, "location_id": "ALL"})
    if report.get("grand_total"):
        writer.writerow({**report["grand_total"], "location_id": "ALL", "product_id": "ALL"})
    return out.getvalue()


# -- open vials and FEFO --------------------------------------------------------------------------
@inventory_api.get("/locations/<location_id>/open-vials")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "The location's open multi-dose vials whose doses may still be given, the soonest to reach "
    "its beyond-use time first (what is left then is wasted)",
    responses={200: ("Open vials", schemas.OpenVial(many=True))},
)
def open_vials(location_id: str):
    return jsonify(call.inventory.open_vials(location_id))


@inventory_api.get("/locations/<location_id>/products/<product_id>/next-lot")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "The lot the next dose of a product should come from (first expired, first out; a lot "
    "with an open vial first), at ?at= (ISO datetime with offset; default now)",
    responses={
        200: ("The lot, and the open vial to draw from", schemas.NextLot),
        422: "No usable lot of the product: `fields.product_id` says why",
    },
)
def next_lot(location_id: str, product_id: str):
    query = routing.query(schemas.NextLotQuery())
    at = (query["at"] or utcnow()).isoformat()
    return jsonify(call.inventory.choose_lot(location_id, product_id, at))


# -- days of supply -------------------------------------------------------------------------------
@inventory_api.put("/locations/<location_id>/stock-threshold")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Set the days of supply under which inventory announces stock_low for the location's "
    "products (default 7)",
    body=schemas.StockThresholdRequest,
    responses={200: ("The threshold", schemas.StockThreshold)},
)
def set_stock_threshold(location_id: str):
    data = body()
    return jsonify(call.inventory.set_stock_threshold(location_id, data, g.principal.username))


@inventory_api.get("/locations/<location_id>/stock-supply")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Days of supply per product: usable doses on hand over the average daily use of the last "
    "7 days, with the product's next lot to use now (as next-lot chooses it; null when none "
    "is usable), and the location's stock_low threshold",
    responses={200: ("Days of supply", schemas.StockSupply)},
)
def stock_supply(location_id: str):
    return jsonify(call.inventory.stock_supply(location_id))


# -- transfers ------------------------------------------------------------------------------------
@inventory_api.post("/locations/<location_id>/lots/<lot_id>/transfers")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Transfer doses of a lot to another location: out of this lot, into the same lot there, "
    "in one transaction; idempotent by transfer_id",
    body=schemas.TransferRequest,
    responses={
        201: ("The transfer", schemas.Transfer),
        200: ("This transfer id was already recorded: the transfer as it was", None),
        404: "No such lot at this location",
        409: "The transfer id was used for another transfer",
        422: "No such destination, or more doses than can be moved",
    },
)
def transfer_lot(location_id: str, lot_id: str):
    data = body()
    if not current_app.extensions["cvms_directory"].exists(data["to_location_id"]):
        raise ApiError(
            422,
            "rule_violated",
            "The request breaks a rule.",
            {"to_location_id": [f"No location {data['to_location_id']}."]},
        )
    answer = call.inventory.transfer_lot(location_id, lot_id, data)
    # The destination's stock changed too: its cached inventory is stale.
    current_app.extensions["cvms_inventory_cache"].invalidate(data["to_location_id"])
    if not answer["created"]:
        return jsonify(answer)
    return created(answer, url_for(".location_inventory", location_id=location_id))


# -- the catalog ----------------------------------------------------------------------------------
@inventory_api.patch("/products/<product_id>")
@allow("state_admin")
@doc(
    "Edit a product of the catalog (name, cap color, doses per vial, beyond-use hours, minimum "
    "age, series, storage range, active); announced to other services as product_updated",
    body=schemas.ProductChanges,
    responses={
        200: ("The product as edited", schemas.Product),
        404: "No such product",
        409: "Another product has that name",
    },
)
def update_product(product_id: str):
    changes = body()
    return jsonify(call.inventory.update_product(product_id, changes, g.principal.username))


# -- the offline Inventory Levels form ------------------------------------------------------------
FORM_PERIOD = "for ?from=&to= (YYYY-MM-DD, UTC; default the 7 days to today)"


@inventory_api.get("/locations/<location_id>/inventory-levels/form.pdf")
@allow(*STAFF, location_scoped=True)
@doc(
    "The printable Inventory Levels form of the location, per lot (product and cap color, lot, "
    f"expiration, on hand, administered, wasted by reason, transferred), {FORM_PERIOD}",
    responses={200: ("application/pdf", None)},
)
def levels_form_pdf(location_id: str):
    answer = _form(location_id, "pdf")
    return attachment(
        base64.b64decode(answer["base64"]), answer["content_type"], answer["filename"]
    )


@inventory_api.get("/locations/<location_id>/inventory-levels/form.csv")
@allow(*STAFF, location_scoped=True)
@doc(
    "The Inventory Levels form as a CSV template: the PDF's columns, a row id per row and the "
    f"columns to fill in (see the README), {FORM_PERIOD}",
    responses={200: ("text/csv", None)},
)
def levels_form_csv(location_id: str):
    answer = _form(location_id, "csv")
    return attachment(answer["text"], answer["content_type"], answer["filename"])


@inventory_api.post("/locations/<location_id>/inventory-levels/form.csv")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Import a filled-in Inventory Levels form (a text/csv body): counts, wastage and lots "
    "received. Each row is accepted or rejected with its reason; a row already imported "
    "records nothing again. `Accept: text/csv` or ?format=csv answers as CSV",
    responses={200: ("What became of each row", schemas.FormImport)},
)
def import_levels_form(location_id: str):
    if request.mimetype not in ("text/csv", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "Send the filled-in form as text/csv.")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_csv", "The form must be UTF-8 text.") from None
    answer = call.inventory.import_levels_form(location_id, text, g.principal.username)
    if not wants_csv(request.args):
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
    query = routing.query(schemas.FormQuery())
    date_from, date_to = query["date_from"], query["date_to"]
    return call.inventory.levels_form(
        location_id,
        date_from.isoformat() if date_from else None,
        date_to.isoformat() if date_to else None,
        fmt,
    )


# -- stock over time ------------------------------------------------------------------------------
DAILY_SUMMARY = (
    "doses on hand per product at the end of each day of ?from=YYYY-MM-DD&to=YYYY-MM-DD "
    "(inclusive, UTC, at most 366 days); optional ?product_id="
)


@inventory_api.get("/locations/<location_id>/inventory-levels/daily")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    f"A location's stock over time: {DAILY_SUMMARY}",
    responses={200: ("One series per product", schemas.DailyLevels)},
)
def location_daily_levels(location_id: str):
    return _daily_levels(location_id)


@inventory_api.get("/inventory-levels/daily")
@allow("state_admin")
@doc(
    f"Stock over time summed over every location: {DAILY_SUMMARY}",
    responses={200: ("One series per product", schemas.DailyLevels)},
)
def all_daily_levels():
    return _daily_levels(None)


def _daily_levels(location_id: str | None):
    query = routing.query(schemas.DailyLevelsQuery())
    return jsonify(
        call.inventory.inventory_levels_daily(
            location_id,
            query["date_from"].isoformat(),
            query["date_to"].isoformat(),
            query.get("product_id"),
        )
    )
