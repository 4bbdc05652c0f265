"""The /api/v1 routes, one package per area of the API: `routes.py` (its blueprint) and
`schemas.py` (its HTTP contract) side by side. Access rules that several areas use are in
`gateway.access`, what every route module needs in `gateway.routing`, schema pieces every area
shares in `gateway.schemas`; no area imports another's."""

from __future__ import annotations

from flask import Flask

from gateway.api.administration.routes import administration_api
from gateway.api.audit.routes import audit as audit_api
from gateway.api.enrollment.routes import enrollments
from gateway.api.helpdesk.routes import helpdesk as helpdesk_api
from gateway.api.identity.routes import identity as identity_api
from gateway.api.inventory.routes import inventory_api
from gateway.api.marketplace.routes import marketplace as marketplace_api
from gateway.api.notifications.routes import notifications as notifications_api
from gateway.api.scheduling.routes import scheduling as scheduling_api

# Names other than the areas' own: `identity` here would hide the package gateway.api.identity.
BLUEPRINTS = (
    inventory_api,
    identity_api,
    enrollments,
    audit_api,
    administration_api,
    scheduling_api,
    notifications_api,
    marketplace_api,
    helpdesk_api,
)


def register(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
