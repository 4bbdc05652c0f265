"""The inventory service: product catalog, lots and the stock ledger of every location."""

from __future__ import annotations

from marshmallow import ValidationError
from nameko.rpc import rpc
from sqlalchemy import select

from cvms_platform import validation
from cvms_platform.consumer import consumes
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.service import CvmsService
from inventory import ledger
from inventory.models import Discrepancy, Lot, Product
from inventory.schemas import (
    LOCATION_ID,
    DiscrepancySchema,
    LotSchema,
    ProductSchema,
    ReceiveLotSchema,
)

PRODUCTS = ProductSchema(many=True)
LOT = LotSchema()
LOTS = LotSchema(many=True)
DISCREPANCIES = DiscrepancySchema(many=True)


def _location(location_id) -> str:
    try:
        LOCATION_ID(location_id if isinstance(location_id, str) else "")
    except ValidationError as exc:
        raise InvalidInput({"location_id": exc.messages}) from None
    return location_id


class InventoryService(CvmsService):
    name = "inventory"

    @rpc
    def list_products(self) -> list[dict]:
        products = self.db.session.scalars(select(Product).order_by(Product.name))
        return PRODUCTS.dump(products)

    @rpc
    def receive_lot(self, location_id: str, shipment: dict) -> dict:
        """Receive a shipment at a location; idempotent by shipment id. Returns the lot and
        `created` (False when this shipment was already recorded)."""
        location_id = _location(location_id)
        data = validation.load(ReceiveLotSchema(), shipment)
        lot, created = self.db.idempotent(
            lambda session: ledger.receive_lot(
                session, location_id, data, correlation_id=self.correlation_id
            )
        )
        return {"lot": LOT.dump(lot), "created": created}

    @rpc
    def get_lot(self, lot_id: str) -> dict:
        lot = self.db.session.get(Lot, lot_id) if isinstance(lot_id, str) else None
        if lot is None:
            raise NotFound(f"lot {lot_id} not found")
        return LOT.dump(lot)

    @rpc
    def location_inventory(self, location_id: str) -> list[dict]:
        """Doses on hand per lot at a location, soonest expiry first."""
        location_id = _location(location_id)
        lots = self.db.session.scalars(
            select(Lot)
            .where(Lot.location_id == location_id)
            .order_by(Lot.expiration_date, Lot.lot_number)
        )
        return LOTS.dump(lots)

    @rpc
    def list_discrepancies(self, location_id: str, include_resolved: bool = False) -> list[dict]:
        location_id = _location(location_id)
        query = select(Discrepancy).where(Discrepancy.location_id == location_id)
        if not include_resolved:
            query = query.where(Discrepancy.resolved_at.is_(None))
        return DISCREPANCIES.dump(self.db.session.scalars(query.order_by(Discrepancy.detected_at)))

    @rpc
    def resolve_discrepancy(self, location_id: str, discrepancy_id: str, resolution: str) -> dict:
        location_id = _location(location_id)
        if not isinstance(resolution, str) or not resolution.strip():
            raise InvalidInput({"resolution": ["Say how the discrepancy was reconciled."]})
        with self.db.transaction() as session:
            discrepancy = ledger.resolve_discrepancy(
                session, location_id, str(discrepancy_id), resolution.strip()
            )
        return DiscrepancySchema().dump(discrepancy)

    @consumes("administration", "dose_administered")
    def on_dose_administered(self, session, event) -> None:
        ledger.take_administered_dose(session, event)
