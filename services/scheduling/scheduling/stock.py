"""Stock status per location and product, from scheduling's projection of inventory's lots.

The Vaccines.gov rule: In Stock when the location has usable doses and its stock was updated
within 29 days; Call to Confirm when it has usable doses but the update is older; Out of Stock
otherwise. Usable: on hand, not quarantined, not past its expiration date."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvms_platform.envelope import Event
from scheduling.models import StockLot

IN_STOCK, CALL_TO_CONFIRM, OUT_OF_STOCK = "in_stock", "call_to_confirm", "out_of_stock"
FRESH_FOR = timedelta(days=29)


def _lot(session: Session, event: Event) -> StockLot | None:
    """The projected lot, locked, or a new one; None if the event is older than what we know
    (events of one lot may arrive out of order after a retry)."""
    payload = event.payload
    lot = session.get(StockLot, str(payload["lot_id"]), with_for_update=True)
    if lot is None:
        lot = StockLot(
            lot_id=str(payload["lot_id"]),
            location_id=payload["location_id"],
            product_id=payload["product_id"],
            doses_on_hand=payload["doses_on_hand"],
            usable=True,
            updated_at=event.occurred_at,
        )
        session.add(lot)
        return lot
    if event.occurred_at < lot.updated_at:
        return None
    return lot


def apply(session: Session, event: Event) -> None:
    """Apply one of inventory's stock events (each carries the lot's doses on hand after it)."""
    payload = event.payload
    lot = _lot(session, event)
    if event.type == "lot_received":
        # The expiration date travels only here; keep it even if a later event came first.
        stored = lot or session.get(StockLot, str(payload["lot_id"]))
        stored.expiration_date = payload["expiration_date"]
    if lot is None:
        return
    lot.doses_on_hand = payload["doses_on_hand"]
    lot.updated_at = event.occurred_at
    if event.type == "lot_quarantined":
        lot.usable = False
    elif event.type == "lot_released":
        lot.usable = True


def statuses(
    session: Session, location_ids: list[str], now: datetime
) -> dict[str, dict[str, dict]]:
    """{location_id: {product_id: {"status", "doses_usable", "updated_at"}}}."""
    if not location_ids:
        return {}
    lots = session.scalars(select(StockLot).where(StockLot.location_id.in_(location_ids)))
    usable: dict[tuple[str, str], int] = defaultdict(int)
    updated: dict[tuple[str, str], datetime] = {}
    today: date = now.date()
    for lot in lots:
        key = (lot.location_id, lot.product_id)
        expired = lot.expiration_date is not None and lot.expiration_date < today
        if lot.usable and not expired:
            usable[key] += lot.doses_on_hand
        else:
            usable[key] += 0
        if key not in updated or lot.updated_at > updated[key]:
            updated[key] = lot.updated_at
    answer: dict[str, dict[str, dict]] = defaultdict(dict)
    for key, last in updated.items():
        location_id, product_id = key
        answer[location_id][product_id] = {
            "status": status_of(usable[key], last, now),
            "doses_usable": usable[key],
            "updated_at": last,
        }
    return answer


def status_of(doses_usable: int, updated_at: datetime | None, now: datetime) -> str:
    if doses_usable <= 0 or updated_at is None:
        return OUT_OF_STOCK
    return IN_STOCK if now - updated_at <= FRESH_FOR else CALL_TO_CONFIRM
