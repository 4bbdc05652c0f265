"""Corrections and voids of recorded doses. A dose is never edited in place without a trace:
each change keeps who made it, when, why, and the fields before and after; inventory learns of
it by event (a voided dose goes back to its lot; a corrected lot moves the dose)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from administration import catalog
from administration.models import VOIDED, Administration, AdministrationChange
from administration.records import CLOCK_SKEW, LotLookup, find_lot, lot_problem
from administration.schemas import CORRECTABLE
from cvms_platform.errors import Conflict, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import utcnow

CORRECTED = "corrected"


def correct(
    session: Session,
    administration_id: str,
    correction: dict,
    *,
    changed_by: str,
    changed_by_user_id: str | None,
    correlation_id: str,
    lookup_lot: LotLookup,
    list_products: catalog.ProductLookup | None = None,
) -> tuple[Administration, bool]:
    """Correct a dose's fields; returns it and False when this correction id was applied already."""
    administration = _dose(session, administration_id)
    if _already_applied(session, correction.get("id"), administration, CORRECTED):
        return administration, False
    if administration.status == VOIDED:
        raise Conflict("A voided dose cannot be corrected.")
    current = snapshot(administration)
    wanted = {name: correction[name] for name in CORRECTABLE if name in correction}
    if "lot_id" in wanted:
        wanted["lot_id"] = str(wanted["lot_id"])
    changed = [name for name in CORRECTABLE if name in wanted and _differs(current, wanted, name)]
    if not changed:
        raise Unprocessable({"_schema": ["Nothing changes: every field given has that value."]})

    errors: dict[str, list[str]] = {}
    given_at: datetime = wanted.get("administered_at", administration.administered_at)
    if given_at > utcnow() + CLOCK_SKEW:
        errors["administered_at"] = ["A dose cannot be recorded in the future."]
    lot = find_lot(session, wanted.get("lot_id", administration.lot_id), lookup_lot)
    if lot is None:
        errors["lot_id"] = ["Unknown lot."]
    elif problem := lot_problem(lot, administration.location_id, given_at.date()):
        errors["lot_id" if "lot_id" in changed else "administered_at"] = [problem]
    elif catalog.product(session, lot.product_id, list_products) is None:
        errors["lot_id"] = [f"Product {lot.product_id} of this lot is not in the catalog."]
    if errors:
        raise Unprocessable(errors)

    previous_lot_id, previous_product_id = administration.lot_id, administration.product_id
    for name in changed:
        if name != "lot_id":
            setattr(administration, name, wanted[name])
    if "lot_id" in changed:
        administration.lot_id = lot.id
        administration.product_id = lot.product_id
        administration.lot_number = lot.lot_number
    now = utcnow()
    after = snapshot(administration)
    _remember(
        session,
        administration,
        CORRECTED,
        correction,
        changed_by=changed_by,
        changed_by_user_id=changed_by_user_id,
        at=now,
        before={name: current[name] for name in _with_lot_facts(changed)},
        after={name: after[name] for name in _with_lot_facts(changed)},
    )
    record_event(
        session,
        "administration_corrected",
        {
            "administration_id": administration.id,
            "recipient_id": administration.recipient_id,
            "location_id": administration.location_id,
            "previous_lot_id": previous_lot_id,
            "lot_id": administration.lot_id,
            "previous_product_id": previous_product_id,
            "product_id": administration.product_id,
            "dose_number": administration.dose_number,
            "administered_at": administration.administered_at,
            "changed": changed,
            "reason": correction["reason"].strip(),
            "corrected_by": changed_by,
            "corrected_at": now,
        },
        correlation_id=correlation_id,
    )
    return administration, True


def void(
    session: Session,
    administration_id: str,
    request: dict,
    *,
    changed_by: str,
    changed_by_user_id: str | None,
    correlation_id: str,
) -> tuple[Administration, bool]:
    """Void a dose entered in error; returns it and False when it was voided by this request
    before. It stays on record, with its history, but no longer counts for the series."""
    administration = _dose(session, administration_id)
    if _already_applied(session, request.get("id"), administration, VOIDED):
        return administration, False
    if administration.status == VOIDED:
        raise Conflict("This dose is voided already.")
    before = {"status": administration.status}
    administration.status = VOIDED
    now = utcnow()
    _remember(
        session,
        administration,
        VOIDED,
        request,
        changed_by=changed_by,
        changed_by_user_id=changed_by_user_id,
        at=now,
        before=before,
        after={"status": VOIDED},
    )
    record_event(
        session,
        "administration_voided",
        {
            "administration_id": administration.id,
            "recipient_id": administration.recipient_id,
            "location_id": administration.location_id,
            "lot_id": administration.lot_id,
            "product_id": administration.product_id,
            "reason": request["reason"].strip(),
            "voided_by": changed_by,
            "voided_at": now,
        },
        correlation_id=correlation_id,
    )
    return administration, True


def snapshot(administration: Administration) -> dict:
    """The correctable fields (and the lot's facts) as JSON values, for the history."""
    return {
        "lot_id": administration.lot_id,
        "product_id": administration.product_id,
        "lot_number": administration.lot_number,
        "dose_number": administration.dose_number,
        "site": administration.site,
        "route": administration.route,
        "dose_volume_ml": administration.dose_volume_ml,
        "administered_at": administration.administered_at.isoformat(),
    }


def _differs(current: dict, wanted: dict, name: str) -> bool:
    value = wanted[name]
    if isinstance(value, datetime):
        return datetime.fromisoformat(current[name]) != value
    return current[name] != value


def _with_lot_facts(changed: list[str]) -> list[str]:
    return [*changed, "product_id", "lot_number"] if "lot_id" in changed else changed


def _dose(session: Session, administration_id: str) -> Administration:
    administration = session.get(Administration, str(administration_id))
    if administration is None:
        raise NotFound(f"administration {administration_id} not found")
    return administration


def _already_applied(
    session: Session, change_id, administration: Administration, action: str
) -> bool:
    """A change id seen before: the same change retried (True), or a clash (Conflict)."""
    if change_id is None:
        return False
    seen = session.get(AdministrationChange, str(change_id))
    if seen is None:
        return False
    if seen.administration_id != administration.id or seen.action != action:
        raise Conflict(f"change id {change_id} is already used for a different change")
    return True


def _remember(
    session: Session,
    administration: Administration,
    action: str,
    request: dict,
    *,
    changed_by: str,
    changed_by_user_id: str | None,
    at: datetime,
    before: dict,
    after: dict,
) -> None:
    change = AdministrationChange(
        administration_id=administration.id,
        action=action,
        reason=request["reason"].strip(),
        changed_by=changed_by,
        changed_by_user_id=changed_by_user_id,
        changed_at=at,
        before=before,
        after=after,
    )
    if request.get("id") is not None:
        change.id = str(request["id"])
    session.add(change)
    session.flush()
    session.expire(administration, ["history"])
