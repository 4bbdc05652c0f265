"""The /api/v1 routes: authenticate, authorize, validate, and ask the owning service over RPC."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform import validation
from gateway import schemas
from gateway.access import allow, public, require_location
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.security import issue_token, verify_password

api = Blueprint("api", __name__, url_prefix="/api/v1")

STAFF = ("state_admin", "location_manager", "vaccinator")
MANAGERS = ("state_admin", "location_manager")


def _services():
    return current_app.extensions["cvms_rpc"].services(g.request_id)


def _body(schema) -> dict:
    """The JSON body, once `schema` accepts it. Unknown fields are refused, so what comes back
    is exactly the documented fields, still in their JSON form for passing on over RPC."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    validation.load(schema, data)
    return data


@api.post("/auth/token")
@public
@doc(
    "Exchange a username and password for a signed access token",
    tag="auth",
    body=schemas.TokenRequest,
    responses={
        200: ("A bearer token", schemas.TokenResponse),
        401: ("Wrong username or password", "Error"),
    },
)
def issue_access_token():
    credentials = _body(schemas.TokenRequest())
    directory = current_app.extensions["cvms_directory"]
    user = directory.user_by_name(credentials["username"])
    if not verify_password(user, credentials["password"]):
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    settings = current_app.config["CVMS"]
    return jsonify(
        access_token=issue_token(user, settings.jwt_secret, settings.token_ttl_seconds),
        token_type="Bearer",
        expires_in=settings.token_ttl_seconds,
        role=user.role,
        locations=sorted(user.location_ids or []),
    )


@api.get("/products")
@allow(*STAFF)
@doc(
    "The COVID-19 vaccine product catalog",
    tag="inventory",
    responses={200: ("Products", schemas.Product(many=True))},
)
def list_products():
    with _services() as services:
        return jsonify(services.inventory.list_products())


@api.post("/locations/<location_id>/lots")
@allow(*MANAGERS, location_scoped=True)
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
    current_app.extensions["cvms_inventory_cache"].invalidate(location_id)
    lot = result["lot"]
    response = jsonify(lot)
    response.status_code = 201 if result["created"] else 200
    response.headers["Location"] = url_for(".location_inventory", location_id=location_id)
    return response


@api.get("/locations/<location_id>/inventory")
@allow(*STAFF, location_scoped=True)
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
@allow(*STAFF)
@doc(
    "Register a vaccine recipient",
    tag="administration",
    body=schemas.NewRecipientRequest,
    responses={201: ("The recipient", schemas.Recipient)},
)
def register_recipient():
    recipient = _body(schemas.NewRecipientRequest())
    with _services() as services:
        created = services.administration.register_recipient(recipient)
    response = jsonify(created)
    response.status_code = 201
    response.headers["Location"] = url_for(".get_recipient", recipient_id=created["id"])
    return response


@api.get("/recipients/<recipient_id>")
@allow(*STAFF)
@doc("A recipient", tag="administration", responses={200: ("The recipient", schemas.Recipient)})
def get_recipient(recipient_id: str):
    with _services() as services:
        return jsonify(services.administration.get_recipient(recipient_id))


@api.post("/administrations")
@allow("location_manager", "vaccinator", "state_admin")
@doc(
    "Record a dose given (idempotent by the client-chosen record id); inventory takes the dose "
    "from the lot when it learns of it",
    tag="administration",
    body=schemas.RecordAdministrationRequest,
    responses={
        201: ("The dose was recorded", schemas.Administration),
        200: ("This record id was already recorded", schemas.Administration),
        422: ("Unknown recipient or lot, lot at another location or expired", "Error"),
    },
)
def record_administration():
    dose = _body(schemas.RecordAdministrationRequest())
    require_location(dose["location_id"])
    with _services() as services:
        result = services.administration.record_administration(dose, g.principal.username)
    response = jsonify(result["administration"])
    response.status_code = 201 if result["created"] else 200
    response.headers["Location"] = url_for(".get_administration", administration_id=dose["id"])
    return response


@api.get("/administrations/<administration_id>")
@allow(*STAFF)
@doc("A recorded dose", tag="administration", responses={200: ("The dose", schemas.Administration)})
def get_administration(administration_id: str):
    with _services() as services:
        administration = services.administration.get_administration(administration_id)
    if not g.principal.may_act_for(administration["location_id"]):
        raise ApiError(403, "forbidden", "This dose was recorded at a location you do not act for.")
    return jsonify(administration)
