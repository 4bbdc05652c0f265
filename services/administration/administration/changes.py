"""Corrections and voids of recorded doses. A dose is never edited in place without a trace:
each change keeps who made it, when, why, and the fields before and after; inventory learns of
it by event (a voided dose goes back to its lot; a corrected lot moves the dose)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from administration import catalog
from administration.models import (
    COMPLETED,
    VOIDED,
    Administration,
    AdministrationChange,
    KnownLot,
    Product,
    Recipient,
)
from administration.records import (
    BEYOND_SERIES,
    CLOCK_SKEW,
    DOSE_SEQUENCE,
    INTERVAL_GRACE_DAYS,
    MIN_AGE,
    MIN_INTERVAL,
    LotLookup,
    dose_facts,
    find_lot,
    lot_problem,
    refuse,
    remember_lot,
    rules_broken,
)
from administration.schemas import CORRECTABLE
from cvms_platform.errors import Conflict, NotFound, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import as_utc, utcnow

CORRECTED = "corrected"
# A dose moved to a lot that was quarantined (a temperature excursion) when the dose was given:
# refused as a clinical rule is, unless overridden with a reason.
QUARANTINED_LOT = "quarantined_lot"
# What the history keeps of a dose before and after a change: the correctable fields and the
# lot's facts, in this order.
SNAPSHOT = (
    "lot_id",
    "product_id",
    "lot_number",
    "dose_number",
    "site",
    "route",
    "dose_volume_ml",
    "administered_at",
    "overridden_rules",
    "override_reason",
    "flags",
)

# The fields each clinical rule reads: a correction re-runs the rules whose facts it changes, so
# a dose recorded with an override keeps it while its site or route is corrected.
RULE_FIELDS = {
    MIN_AGE: {"lot_id", "administered_at"},
    MIN_INTERVAL: {"lot_id", "administered_at"},
    DOSE_SEQUENCE: {"dose_number", "administered_at"},
}


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
    may_override: bool = False,
) -> tuple[Administration, bool]:
    """Correct a dose's fields; returns it and False when this correction id was applied already.

    The corrected dose is checked as a dose being recorded is: its lot (unknown, elsewhere,
    expired, or quarantined when given), and the clinical rules its changed fields bear on
    (minimum age, minimum interval with the grace period, dose number against the recipient's
    other doses, voided ones left out). A broken rule is refused with 422 unless the correction
    carries an `override` with a reason and `may_override` is true."""
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
    broken: dict[str, tuple[str, str]] = {}
    if "lot_id" in changed:
        lot, quarantine = _new_lot(session, wanted["lot_id"], given_at, lookup_lot)
        if quarantine:
            broken[QUARANTINED_LOT] = ("lot_id", quarantine)
    else:
        lot = find_lot(session, administration.lot_id, lookup_lot)
    product = None
    if lot is None:
        errors["lot_id"] = ["Unknown lot."]
    elif problem := lot_problem(lot, administration.location_id, given_at.date()):
        errors["lot_id" if "lot_id" in changed else "administered_at"] = [problem]
    elif (product := catalog.product(session, lot.product_id, list_products)) is None:
        errors["lot_id"] = [f"Product {lot.product_id} of this lot is not in the catalog."]
    dose_number = wanted.get("dose_number", administration.dose_number)
    if product is not None and not errors:
        broken |= _clinical_rules(
            session, administration, product, given_at, dose_number, changed, list_products
        )

    override = correction.get("override")
    refuse(errors, broken, override, may_override)

    previous_lot_id, previous_product_id = administration.lot_id, administration.product_id
    for name in changed:
        if name != "lot_id":
            setattr(administration, name, wanted[name])
    if "lot_id" in changed:
        administration.lot_id = lot.id
        administration.product_id = lot.product_id
        administration.lot_number = lot.lot_number
    recorded = _with_lot_facts(changed)
    if broken:
        # Overridden now, with this reason: kept on the dose beside the rules overridden before.
        administration.overridden_rules = sorted(
            {*(administration.overridden_rules or []), *broken}
        )
        administration.override_reason = override["reason"].strip()
        recorded += ["overridden_rules", "override_reason"]
    flags = [BEYOND_SERIES] if dose_number > product.series_doses else None
    if flags != administration.flags:
        administration.flags = flags
        recorded.append("flags")
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
        before={name: current[name] for name in recorded},
        after={name: after[name] for name in recorded},
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
            **dose_facts(administration),
            "reason": request["reason"].strip(),
            "voided_by": changed_by,
            "voided_at": now,
        },
        correlation_id=correlation_id,
    )
    return administration, True


def snapshot(administration: Administration) -> dict:
    """The correctable fields (and the lot's facts) as JSON values, for the history."""
    values = {name: getattr(administration, name) for name in SNAPSHOT}
    values["administered_at"] = administration.administered_at.isoformat()
    return values


def _new_lot(
    session: Session, lot_id: str, given_at: datetime, lookup_lot: LotLookup
) -> tuple[KnownLot | None, str | None]:
    """The lot a dose is moved to, as inventory knows it now (it may have been quarantined since
    it was announced), and why it could not have given the dose, if it was quarantined then."""
    found = lookup_lot(lot_id)
    if found is None:
        return None, None
    lot = remember_lot(session, found)
    quarantined_at = found.get("quarantined_at")
    if found.get("status") != "quarantined" or quarantined_at is None:
        return lot, None
    since = (
        quarantined_at
        if isinstance(quarantined_at, datetime)
        else datetime.fromisoformat(quarantined_at)
    )
    if as_utc(since) > given_at:
        return lot, None
    return lot, (
        f"This lot has been quarantined since {as_utc(since).isoformat()} "
        "(a temperature excursion): its doses may not be fit for use."
    )


def _clinical_rules(
    session: Session,
    administration: Administration,
    product: Product,
    given_at: datetime,
    dose_number: int,
    changed: list[str],
    list_products: catalog.ProductLookup | None,
) -> dict[str, tuple[str, str]]:
    """The clinical rules the corrected dose breaks among those its changed fields bear on,
    against the recipient's other doses (voided ones do not count): its own interval since the
    dose before it, and the interval it leaves before the dose after it."""
    others = (
        Administration.recipient_id == administration.recipient_id,
        Administration.id != administration.id,
        Administration.status == COMPLETED,
    )
    # Its place in the series is where it falls in time among the others.
    given_before = session.scalar(
        select(func.count()).where(*others, Administration.administered_at < given_at)
    )
    previous = session.scalar(
        select(func.max(Administration.administered_at)).where(
            *others, Administration.administered_at <= given_at
        )
    )
    recipient = session.get(Recipient, administration.recipient_id)
    broken = rules_broken(
        recipient.birth_date,
        product,
        given_at,
        dose_number,
        numbered=True,
        given_before=given_before or 0,
        previous_at=as_utc(previous) if previous is not None else None,
    )
    if MIN_INTERVAL not in broken and (
        problem := _too_close_to_next(session, others, given_at, product, list_products)
    ):
        broken[MIN_INTERVAL] = ("administered_at", problem)
    return {rule: problem for rule, problem in broken.items() if RULE_FIELDS[rule] & set(changed)}


def _too_close_to_next(
    session: Session,
    others: tuple,
    given_at: datetime,
    product: Product,
    list_products: catalog.ProductLookup | None,
) -> str | None:
    """Moving a dose later (or to a product with a longer interval) must still leave the dose
    after it its minimum interval, as that dose's product sets it."""
    following = session.execute(
        select(Administration.administered_at, Administration.product_id)
        .where(*others, Administration.administered_at > given_at)
        .order_by(Administration.administered_at)
        .limit(1)
    ).first()
    if following is None:
        return None
    later = catalog.product(session, following.product_id, list_products) or product
    if not later.min_interval_days:
        return None
    next_at = as_utc(following.administered_at)
    days = (next_at.date() - given_at.date()).days
    shortest = later.min_interval_days - INTERVAL_GRACE_DAYS
    if days >= shortest:
        return None
    return (
        f"Only {days} days before the next dose (given {next_at.date().isoformat()}); "
        f"{later.name} needs {later.min_interval_days} days (at least {shortest} with the "
        f"{INTERVAL_GRACE_DAYS}-day grace period)."
    )


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
