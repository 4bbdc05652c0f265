"""Recording doses: each one once, against a lot known to be at that location."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from administration import catalog
from administration.models import Administration, KnownLot, Product, Recipient
from cvms_platform.envelope import Event
from cvms_platform.errors import Conflict, Unprocessable
from cvms_platform.outbox import record_event
from cvms_platform.timeutil import as_utc, utcnow

CLOCK_SKEW = timedelta(minutes=5)
MAX_DOSE_NUMBER = 10
INTERVAL_GRACE_DAYS = 4  # a dose up to 4 days before the minimum interval still counts

# Clinical rules: a caller allowed to override them may record the dose anyway, with a reason.
MIN_AGE = "min_age"
MIN_INTERVAL = "min_interval"
DOSE_SEQUENCE = "dose_sequence"
# Not an error: a dose past the product's series (a booster) is recorded with this flag.
BEYOND_SERIES = "beyond_series"

LotLookup = Callable[[str], dict | None]


def remember_lot(session: Session, lot: dict) -> KnownLot:
    known = KnownLot(
        id=str(lot["id"] if "id" in lot else lot["lot_id"]),
        location_id=lot["location_id"],
        product_id=lot["product_id"],
        lot_number=lot["lot_number"],
        expiration_date=_as_date(lot["expiration_date"]),
    )
    return session.merge(known)


def on_lot_received(session: Session, event: Event) -> None:
    remember_lot(session, event.payload)


def record_dose(
    session: Session,
    dose: dict,
    *,
    recorded_by: str,
    correlation_id: str,
    lookup_lot: LotLookup,
    list_products: catalog.ProductLookup | None = None,
    may_override: bool = False,
) -> tuple[Administration, bool]:
    """Record a dose; the same record id recorded again returns the first record unchanged.

    Clinical rules broken (minimum age, minimum interval, dose sequence) are refused with 422
    unless the dose carries an `override` with a reason and `may_override` is true; then the
    rules overridden and the reason are kept on the record."""
    record_id = str(dose["id"])
    existing = session.get(Administration, record_id)
    if existing is not None:
        if existing.recipient_id != str(dose["recipient_id"]) or existing.lot_id != str(
            dose["lot_id"]
        ):
            raise Conflict(f"record id {record_id} is already used for a different dose")
        return existing, False

    errors: dict[str, list[str]] = {}
    recipient = session.get(Recipient, str(dose["recipient_id"]))
    if recipient is None:
        errors["recipient_id"] = ["Unknown recipient."]
    if dose["administered_at"] > utcnow() + CLOCK_SKEW:
        errors["administered_at"] = ["A dose cannot be recorded in the future."]
    lot = _find_lot(session, str(dose["lot_id"]), lookup_lot)
    if lot is None:
        errors["lot_id"] = ["Unknown lot."]
    elif lot.location_id != dose["location_id"]:
        errors["lot_id"] = ["This lot is not held at that location."]
    elif dose["administered_at"].date() > lot.expiration_date:
        errors["lot_id"] = [f"This lot expired on {lot.expiration_date.isoformat()}."]
    given_before = _doses_given(session, str(dose["recipient_id"]))
    dose_number = dose.get("dose_number") or given_before + 1
    if dose_number > MAX_DOSE_NUMBER:
        # The dose_administered contract stops at MAX_DOSE_NUMBER; refuse rather than crash.
        errors["dose_number"] = [f"A recipient has at most {MAX_DOSE_NUMBER} doses recorded."]

    product = None
    if lot is not None and "lot_id" not in errors:
        product = catalog.product(session, lot.product_id, list_products)
        if product is None:
            errors["lot_id"] = [f"Product {lot.product_id} of this lot is not in the catalog."]
    broken: dict[str, tuple[str, str]] = {}
    if recipient is not None and product is not None and not errors:
        broken = clinical_checks(session, recipient, product, dose, dose_number, given_before)

    override = dose.get("override")
    if broken and not (override and may_override):
        for field, message in broken.values():
            errors.setdefault(field, []).append(message)
        if override:
            errors["override"] = ["Your role may not override clinical checks."]
    if errors:
        raise Unprocessable(errors)
    flags = [BEYOND_SERIES] if product is not None and dose_number > product.series_doses else None

    administration = Administration(
        id=record_id,
        recipient_id=str(dose["recipient_id"]),
        location_id=dose["location_id"],
        lot_id=lot.id,
        product_id=lot.product_id,
        lot_number=lot.lot_number,
        dose_number=dose_number,
        administered_at=dose["administered_at"],
        recorded_at=utcnow(),
        recorded_by=recorded_by,
        overridden_rules=sorted(broken) or None,
        override_reason=override["reason"].strip() if broken else None,
        flags=flags,
    )
    session.add(administration)
    session.flush()
    record_event(
        session,
        "dose_administered",
        {
            "administration_id": administration.id,
            "recipient_id": administration.recipient_id,
            "location_id": administration.location_id,
            "lot_id": administration.lot_id,
            "product_id": administration.product_id,
            "lot_number": administration.lot_number,
            "dose_number": administration.dose_number,
            "administered_at": administration.administered_at,
        },
        correlation_id=correlation_id,
    )
    return administration, True


def _find_lot(session: Session, lot_id: str, lookup_lot: LotLookup) -> KnownLot | None:
    known = session.get(KnownLot, lot_id)
    if known is not None:
        return known
    # The lot_received event may not have arrived yet: ask inventory, and remember the answer.
    lot = lookup_lot(lot_id)
    return remember_lot(session, lot) if lot else None


def clinical_checks(
    session: Session,
    recipient: Recipient,
    product: Product,
    dose: dict,
    dose_number: int,
    given_before: int,
) -> dict[str, tuple[str, str]]:
    """The clinical rules this dose breaks: rule name -> (field, message)."""
    broken: dict[str, tuple[str, str]] = {}
    given_at = dose["administered_at"]
    age = age_in_years(recipient.birth_date, given_at.date())
    if age < product.min_age_years:
        broken[MIN_AGE] = (
            "recipient_id",
            f"The recipient is {age} years old on {given_at.date().isoformat()}; "
            f"{product.name} is for ages {product.min_age_years} and up.",
        )
    previous = session.scalar(
        select(func.max(Administration.administered_at)).where(
            Administration.recipient_id == recipient.id,
            Administration.administered_at <= given_at,
        )
    )
    if previous is not None and product.min_interval_days:
        days = (given_at.date() - as_utc(previous).date()).days
        shortest = product.min_interval_days - INTERVAL_GRACE_DAYS
        if days < shortest:
            broken[MIN_INTERVAL] = (
                "administered_at",
                f"Only {days} days since the previous dose; {product.name} needs "
                f"{product.min_interval_days} days (at least {shortest} with the "
                f"{INTERVAL_GRACE_DAYS}-day grace period).",
            )
    if dose.get("dose_number") is not None and dose_number != given_before + 1:
        broken[DOSE_SEQUENCE] = (
            "dose_number",
            f"The recipient has {given_before} doses recorded; this would be dose "
            f"{given_before + 1}, not {dose_number}.",
        )
    return broken


def age_in_years(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _doses_given(session: Session, recipient_id: str) -> int:
    given = session.scalar(select(func.count()).where(Administration.recipient_id == recipient_id))
    return given or 0


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
