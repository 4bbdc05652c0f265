"""The /api/v1 routes: authenticate, authorize, validate, and ask the owning service over RPC."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform import validation
from cvms_platform.products import product_labels
from cvms_platform.timeutil import utcnow
from gateway import schemas
from gateway.access import MANAGERS, STAFF, allow, public, require_location
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.hardening import client_ip
from gateway.models import ROLES
from gateway.routing import API_PREFIX
from gateway.routing import body as _body
from gateway.routing import created as _created
from gateway.routing import services as _services
from gateway.security import issue_token, verify_password
from gateway.sessions import InvalidRefreshToken, Issued, Lockout

log = logging.getLogger(__name__)

api = Blueprint("api", __name__, url_prefix=API_PREFIX)

# Who may record a dose although clinical checks fail (with a reason); vaccinators may not.
MAY_OVERRIDE_CLINICAL_CHECKS = ("state_admin", "location_manager")


@api.post("/auth/token")
@public
@doc(
    "Exchange a username and password for a short-lived access token and a refresh token",
    tag="auth",
    body=schemas.TokenRequest,
    responses={
        200: ("A bearer token and a refresh token", schemas.TokenResponse),
        401: ("Wrong username or password", "Error"),
        429: ("Too many failed sign-ins for this username or address: wait Retry-After", "Error"),
    },
)
def issue_access_token():
    credentials = _body(schemas.TokenRequest())
    throttle = current_app.extensions["cvms_login_throttle"]
    username, ip = credentials["username"], client_ip()
    # Locked or not is decided before the password is checked, the same way for usernames
    # that exist and those that do not.
    if lockout := throttle.locked(username, ip):
        raise _too_many_attempts(lockout)
    user = current_app.extensions["cvms_directory"].user_by_name(username)
    if not verify_password(user, credentials["password"]):
        if lockout := throttle.failed(username, ip):
            raise _too_many_attempts(lockout)
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    throttle.succeeded(username)
    return _session_answer(user, current_app.extensions["cvms_refresh_tokens"].issue(user.id))


def _too_many_attempts(lockout: Lockout) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        "Too many failed sign-ins; try again later.",
        headers={"Retry-After": str(lockout.retry_after)},
    )


def _session_answer(user, refresh: Issued):
    settings = current_app.config["CVMS"]
    # An organization admin acts for the organization's locations as they are at sign-in.
    locations = current_app.extensions["cvms_directory"].acts_for(user)
    return jsonify(
        access_token=issue_token(
            user, settings.jwt_secret, settings.token_ttl_seconds, location_ids=locations
        ),
        token_type="Bearer",
        expires_in=settings.token_ttl_seconds,
        refresh_token=refresh.token,
        refresh_expires_in=max(0, int((refresh.expires_at - utcnow()).total_seconds())),
        role=user.role,
        locations=locations,
    )


@api.post("/auth/refresh")
@public
@doc(
    "Exchange a refresh token for a new access token and a new refresh token (the one presented "
    "stops working; presenting it again ends every session of its user)",
    tag="auth",
    body=schemas.RefreshRequest,
    responses={
        200: ("A bearer token and the next refresh token", schemas.TokenResponse),
        401: ("Unknown, expired or revoked refresh token", "Error"),
    },
)
def refresh_access_token():
    presented = _body(schemas.RefreshRequest())["refresh_token"]
    try:
        user, refresh = current_app.extensions["cvms_refresh_tokens"].rotate(presented)
    except InvalidRefreshToken:
        raise ApiError(
            401, "invalid_refresh_token", "The refresh token is not valid; sign in again."
        ) from None
    return _session_answer(user, refresh)


@api.post("/auth/logout")
@allow(*ROLES)
@doc(
    "Revoke the access token presented, at once, and the refresh token given (if any)",
    tag="auth",
    body=schemas.LogoutRequest,
    responses={204: ("Signed out", None)},
)
def logout():
    body = _body(schemas.LogoutRequest())
    principal = g.principal
    if "refresh_token" in body:
        current_app.extensions["cvms_refresh_tokens"].revoke(
            body["refresh_token"], principal.user_id
        )
    try:
        current_app.extensions["cvms_denylist"].revoke(
            principal.token_id, principal.expires_at, time.time()
        )
    except redis.RedisError as exc:
        # The access token would go on working: say so, so the client retries.
        log.error("logout could not revoke the access token: %s", exc)
        raise ApiError(
            503,
            "service_unavailable",
            "Could not revoke the token; try again shortly.",
            headers={"Retry-After": "5"},
        ) from None
    return "", 204


@api.get("/products")
@allow(*STAFF, scopes=("inventory:read",))
@doc(
    "The COVID-19 vaccine product catalog",
    tag="inventory",
    responses={200: ("Products", schemas.Product(many=True))},
)
def list_products():
    with _services() as services:
        catalog = services.inventory.list_products()
    return jsonify([{**product, "labels": product_labels(product)} for product in catalog])


@api.post("/locations/<location_id>/lots")
@allow(*MANAGERS, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Receive a vaccine shipment at a location (idempotent by shipment id)",
    tag="inventory",
    body=schemas.ReceiveLotRequest,
    responses={
        201: ("The lot was recorded", schemas.Lot),
        200: ("This shipment was already recorded", schemas.Lot),
        422: ("Unknown product or expired lot", "Error"),
    },
)
def receive_lot(location_id: str):
    shipment = _body(schemas.ReceiveLotRequest())
    with _services() as services:
        result = services.inventory.receive_lot(location_id, shipment)
    lot = result["lot"]
    response = jsonify(lot)
    response.status_code = 201 if result["created"] else 200
    response.headers["Location"] = url_for(".location_inventory", location_id=location_id)
    return response


@api.get("/locations/<location_id>/inventory")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Doses on hand per lot at a location",
    tag="inventory",
    responses={200: ("Inventory", schemas.Inventory)},
)
def location_inventory(location_id: str):
    cache = current_app.extensions["cvms_inventory_cache"]

    def load() -> list[dict]:
        with _services() as services:
            return services.inventory.location_inventory(location_id)

    body = cache.get_or_load(location_id, load)
    return current_app.response_class(body, mimetype="application/json")


@api.get("/locations/<location_id>/discrepancies")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Open stock discrepancies to reconcile (doses recorded against lots with no stock left)",
    tag="inventory",
    responses={200: ("Discrepancies", schemas.Discrepancy(many=True))},
)
def list_discrepancies(location_id: str):
    include_resolved = request.args.get("include_resolved", "false").lower() == "true"
    with _services() as services:
        return jsonify(services.inventory.list_discrepancies(location_id, include_resolved))


@api.post("/locations/<location_id>/discrepancies/<discrepancy_id>/resolve")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Mark a discrepancy reconciled, saying how",
    tag="inventory",
    body=schemas.ResolveDiscrepancyRequest,
    responses={200: ("The resolved discrepancy", schemas.Discrepancy)},
)
def resolve_discrepancy(location_id: str, discrepancy_id: str):
    data = _body(schemas.ResolveDiscrepancyRequest())
    with _services() as services:
        return jsonify(
            services.inventory.resolve_discrepancy(location_id, discrepancy_id, data["resolution"])
        )


@api.post("/recipients")
@allow(*STAFF, scopes=("recipients:write",))
@doc(
    "Register a vaccine recipient",
    tag="administration",
    body=schemas.NewRecipientRequest,
    responses={
        201: ("The recipient was registered", schemas.Recipient),
        200: (
            "A likely duplicate (same name, date of birth, and phone or e-mail): the existing "
            "recipient, with matched true",
            schemas.Recipient,
        ),
    },
)
def register_recipient():
    recipient = _body(schemas.NewRecipientRequest())
    with _services() as services:
        answer = services.administration.register_recipient(recipient)
    found = answer["recipient"]
    response = jsonify({**found, "matched": not answer["created"]})
    response.status_code = 201 if answer["created"] else 200
    response.headers["Location"] = url_for(".get_recipient", recipient_id=found["id"])
    return response


@api.get("/recipients/<recipient_id>")
@allow(*STAFF)
@doc("A recipient", tag="administration", responses={200: ("The recipient", schemas.Recipient)})
def get_recipient(recipient_id: str):
    with _services() as services:
        return jsonify(services.administration.get_recipient(recipient_id))


@api.post("/administrations")
@allow("location_manager", "vaccinator", "state_admin", scopes=("administrations:write",))
@doc(
    "Record a dose given (idempotent by the client-chosen record id); inventory takes the dose "
    "from the lot when it learns of it",
    tag="administration",
    body=schemas.RecordAdministrationRequest,
    responses={
        201: ("The dose was recorded", schemas.Administration),
        200: ("This record id was already recorded", schemas.Administration),
        422: (
            "Unknown recipient or lot, lot at another location or expired, or a clinical check "
            "failed (minimum age, minimum interval, dose number, lot quarantined when the dose "
            "was given) without an allowed override",
            "Error",
        ),
    },
)
def record_administration():
    dose = _body(schemas.RecordAdministrationRequest())
    require_location(dose["location_id"])
    may_override = g.principal.role in MAY_OVERRIDE_CLINICAL_CHECKS
    with _services() as services:
        result = services.administration.record_administration(
            dose, g.principal.username, may_override, g.principal.user_id
        )
    response = jsonify(result["administration"])
    response.status_code = 201 if result["created"] else 200
    response.headers["Location"] = url_for(".get_administration", administration_id=dose["id"])
    return response


@api.get("/administrations/<administration_id>")
@allow(*STAFF, scopes=("administrations:read",))
@doc("A recorded dose", tag="administration", responses={200: ("The dose", schemas.Administration)})
def get_administration(administration_id: str):
    with _services() as services:
        administration = services.administration.get_administration(administration_id)
    if not g.principal.may_act_for(administration["location_id"]):
        raise ApiError(403, "forbidden", "This dose was recorded at a location you do not act for.")
    return jsonify(administration)


# -- inventory operations: wastage, corrections, the lot ledger, excursions ----------------------
@api.post("/locations/<location_id>/lots/<lot_id>/wastage")
@allow(*STAFF, location_scoped=True, scopes=("inventory:write",))
@doc(
    "Record doses wasted from a lot (broken vial, drawn but not given, open-vial time limit, "
    "temperature excursion, expired, or other with a note)",
    tag="inventory",
    body=schemas.WastageRequest,
    responses={
        201: ("The ledger entry", schemas.LedgerEntry),
        404: ("No such lot at this location", "Error"),
        422: ("More doses than the lot holds", "Error"),
    },
)
def record_wastage(location_id: str, lot_id: str):
    wastage = _body(schemas.WastageRequest())
    with _services() as services:
        entry = services.inventory.record_wastage(location_id, lot_id, wastage)
    return _created(entry, url_for(".lot_ledger", location_id=location_id, lot_id=lot_id))


@api.post("/locations/<location_id>/lots/<lot_id>/corrections")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Correct a lot's stock after a count (a positive or negative number of doses, and why)",
    tag="inventory",
    body=schemas.CorrectionRequest,
    responses={
        201: ("The ledger entry", schemas.LedgerEntry),
        404: ("No such lot at this location", "Error"),
        422: ("The stock would go below zero", "Error"),
    },
)
def correct_stock(location_id: str, lot_id: str):
    correction = _body(schemas.CorrectionRequest())
    with _services() as services:
        entry = services.inventory.correct_stock(location_id, lot_id, correction)
    return _created(entry, url_for(".lot_ledger", location_id=location_id, lot_id=lot_id))


@api.get("/locations/<location_id>/lots/<lot_id>/ledger")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    "Every change of a lot's stock, newest first; page with ?limit= (1-200, default 50) and "
    "?before= (the next_before of the previous page)",
    tag="inventory",
    responses={
        200: ("A page of ledger entries", schemas.LedgerPage),
        404: ("No such lot at this location", "Error"),
    },
)
def lot_ledger(location_id: str, lot_id: str):
    query = validation.load(schemas.LedgerQuery(), request.args.to_dict())
    with _services() as services:
        return jsonify(
            services.inventory.lot_ledger(location_id, lot_id, query["limit"], query.get("before"))
        )


@api.post("/locations/<location_id>/storage-units/<storage_unit>/excursions")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Report a temperature excursion in a storage unit: its usable lots are quarantined (not "
    "usable) until released",
    tag="inventory",
    body=schemas.ExcursionRequest,
    responses={201: ("The excursion and the lots it quarantined", schemas.Excursion)},
)
def report_excursion(location_id: str, storage_unit: str):
    reading = _body(schemas.ExcursionRequest())
    with _services() as services:
        excursion = services.inventory.report_excursion(location_id, storage_unit, reading)
    return _created(excursion, url_for(".location_inventory", location_id=location_id))


@api.post("/locations/<location_id>/lots/<lot_id>/release")
@allow(*MANAGERS, location_scoped=True)
@doc(
    "Release a quarantined lot: its doses are fit for use again",
    tag="inventory",
    body=schemas.ReleaseLotRequest,
    responses={
        200: ("The lot, usable again", schemas.Lot),
        404: ("No such lot at this location", "Error"),
        409: ("The lot is not quarantined", "Error"),
    },
)
def release_lot(location_id: str, lot_id: str):
    note = _body(schemas.ReleaseLotRequest())["note"]
    with _services() as services:
        lot = services.inventory.release_lot(location_id, lot_id, note)
    return jsonify(lot)


# -- the inventory levels report ------------------------------------------------------------------
LEVELS_SUMMARY = (
    "per product: on hand at the start and end, received, administered, wasted (by reason), "
    "transferred in and out, corrections, and doses expiring within 30 days of `to`, for "
    "?from=YYYY-MM-DD&to=YYYY-MM-DD (inclusive, UTC, at most 366 days); optional ?product_id=; "
    "page with ?page= and ?limit= (1-200, default 50). `Accept: text/csv` or ?format=csv "
    "downloads it as CSV"
)


@api.get("/locations/<location_id>/inventory-levels")
@allow(*STAFF, location_scoped=True, scopes=("inventory:read",))
@doc(
    f"A location's inventory levels report: {LEVELS_SUMMARY}",
    tag="inventory",
    responses={200: ("The report (or CSV)", schemas.InventoryLevels)},
)
def location_inventory_levels(location_id: str):
    return _inventory_levels(location_id)


@api.get("/inventory-levels")
@allow("state_admin")
@doc(
    f"Every location's inventory levels report, with state-wide totals: {LEVELS_SUMMARY}",
    tag="inventory",
    responses={200: ("The report (or CSV)", schemas.InventoryLevels)},
)
def all_inventory_levels():
    return _inventory_levels(None)


def _inventory_levels(location_id: str | None):
    query = validation.load(schemas.InventoryLevelsQuery(), request.args.to_dict())
    with _services() as services:
        report = services.inventory.inventory_levels(
            location_id,
            query["date_from"].isoformat(),
            query["date_to"].isoformat(),
            query.get("product_id"),
            query["page"],
            query["limit"],
        )
    wants_csv = query.get("format") == "csv" or (
        "format" not in query
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    if not wants_csv:
        return jsonify(report)
    filename = (
        f"inventory-levels-{location_id or 'all'}-{report['date_from']}-{report['date_to']}.csv"
    )
    response = current_app.response_class(_levels_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Total-Rows"] = str(report["total_rows"])
    return response


def _levels_csv(report: dict) -> str:
    """A header row, then the page's rows; with every location, the state-wide totals per
    product (location_id `ALL`) and the grand total (location_id and product_id `ALL`)."""
    import csv
    import io

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


# -- registry exports -----------------------------------------------------------------------------
@api.get("/recipients/<recipient_id>/fhir")
@allow(*STAFF)
@doc(
    "A recipient's immunizations as a FHIR R4 Bundle (collection): a Patient and one "
    "Immunization per dose recorded",
    tag="administration",
    responses={200: ("The bundle, as application/fhir+json", schemas.FhirBundle)},
)
def recipient_fhir_bundle(recipient_id: str):
    with _services() as services:
        bundle = services.administration.recipient_fhir_bundle(recipient_id)
    response = jsonify(bundle)
    response.mimetype = "application/fhir+json"
    return response
