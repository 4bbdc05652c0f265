"""Recording doses: each one once, against a lot known to be at that location."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from administration import catalog, quarantine
from administration.models import COMPLETED, Administration, KnownLot, Product, Recipient
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
QUARANTINED_LOT = quarantine.QUARANTINED_LOT

LotLookup = Callable[[str], dict | None]
# (location_id, product_id, administered_at ISO) -> the lot inventory chooses; raises NoUsableLot.
LotChooser = Callable[[str, str, str], dict]


def remember_lot(session: Session, lot: dict) -> KnownLot:
    """Keep a lot inventory announced or answered, and its quarantine state when it says."""
    quarantine.note_inventory_answer(session, lot)
    return session.merge(lot_from_inventory(lot))


def lot_from_inventory(lot: dict) -> KnownLot:
    """A known lot from inventory's answer (get_lot, choose_lot, location_inventory, or the
    lot_received event)."""
    return KnownLot(
        id=str(lot["id"] if "id" in lot else lot["lot_id"]),
        location_id=lot["location_id"],
        product_id=lot["product_id"],
        lot_number=lot["lot_number"],
        expiration_date=_as_date(lot["expiration_date"]),
    )


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
    choose_lot: LotChooser | None = None,
    recorded_by_user_id: str | None = None,
) -> tuple[Administration, bool]:
    """Record a dose; the same record id recorded again returns the first record unchanged.

    A dose names its lot, or only its product: then inventory chooses the lot (`choose_lot`,
    first expiring first). Clinical rules broken (minimum age, minimum interval, dose sequence,
    a named lot quarantined when the dose was given) are refused with 422 unless the dose
    carries an `override` with a reason and `may_override` is true; then the rules overridden
    and the reason are kept on the record."""
    record_id = str(dose["id"])
    existing = session.get(Administration, record_id)
    if existing is not None:
        if existing.recipient_id != str(dose["recipient_id"]) or not _same_dose(existing, dose):
            raise Conflict(f"record id {record_id} is already used for a different dose")
        return existing, False

    errors: dict[str, list[str]] = {}
    recipient = session.get(Recipient, str(dose["recipient_id"]))
    if recipient is None:
        errors["recipient_id"] = ["Unknown recipient."]
    if dose["administered_at"] > utcnow() + CLOCK_SKEW:
        errors["administered_at"] = ["A dose cannot be recorded in the future."]
    if dose.get("lot_id") is not None:
        lot = find_lot(session, str(dose["lot_id"]), lookup_lot)
        lot_field = "lot_id"
    else:
        lot = _chosen_lot(session, dose, choose_lot, errors)
        lot_field = "product_id"
    if lot is None:
        errors.setdefault(lot_field, ["Unknown lot."])
    else:
        lot_error = lot_problem(lot, dose["location_id"], dose["administered_at"].date())
        if lot_error:
            errors[lot_field] = [lot_error]
    given_before = doses_given(session, str(dose["recipient_id"]))
    dose_number = dose.get("dose_number") or given_before + 1
    if dose_number > MAX_DOSE_NUMBER:
        # The dose_administered contract stops at MAX_DOSE_NUMBER; refuse rather than crash.
        errors["dose_number"] = [f"A recipient has at most {MAX_DOSE_NUMBER} doses recorded."]

    product = None
    if lot is not None and lot_field not in errors:
        product = catalog.product(session, lot.product_id, list_products)
        if product is None:
            errors[lot_field] = [f"Product {lot.product_id} of this lot is not in the catalog."]
    broken: dict[str, tuple[str, str]] = {}
    if recipient is not None and product is not None and not errors:
        broken = clinical_checks(session, recipient, product, dose, dose_number, given_before)
    # A lot inventory chose was usable when it answered: only a named lot is checked here.
    if (
        lot is not None
        and lot_field == "lot_id"
        and lot_field not in errors
        and (problem := quarantine.quarantine_problem(session, lot, dose["administered_at"]))
    ):
        broken[QUARANTINED_LOT] = ("lot_id", problem)

    override = dose.get("override")
    refuse(errors, broken, override, may_override)
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
        site=dose.get("site"),
        route=dose.get("route"),
        dose_volume_ml=dose.get("dose_volume_ml"),
        recorded_by_user_id=recorded_by_user_id,
        performer_name=(dose.get("performer_name") or "").strip() or None,
        status=COMPLETED,
    )
    session.add(administration)
    session.flush()
    # A new dose has no history: say so, rather than have the answer query for it.
    set_committed_value(administration, "history", [])
    record_event(
        session,
        "dose_administered",
        dose_administered_payload(administration),
        correlation_id=correlation_id,
    )
    return administration, True


def refuse(errors: dict, broken: dict, override: dict | None, may_override: bool) -> None:
    """Unprocessable with the field errors and the clinical rules broken, unless the rules are
    overridden by a role that may (an override by one that may not is an error of its own)."""
    if broken and not (override and may_override):
        for field, message in broken.values():
            errors.setdefault(field, []).append(message)
        if override:
            errors["override"] = ["Your role may not override clinical checks."]
    if errors:
        raise Unprocessable(errors)


def dose_administered_payload(administration: Administration) -> dict:
    return dose_facts(administration, "lot_number", "dose_number", "administered_at")


def dose_facts(administration: Administration, *more: str) -> dict:
    """What every event about a dose names: the dose, its recipient, location, lot and product,
    then the `more` attributes asked for."""
    names = ("recipient_id", "location_id", "lot_id", "product_id", *more)
    return {
        "administration_id": administration.id,
        **{name: getattr(administration, name) for name in names},
    }


def _same_dose(existing: Administration, dose: dict) -> bool:
    """A repeated record id names the same dose: the same lot, or the same product when the
    lot was left to inventory to choose."""
    if dose.get("lot_id") is not None:
        return existing.lot_id == str(dose["lot_id"])
    return existing.product_id == dose.get("product_id")


def lot_problem(lot: KnownLot, location_id: str, given_on: date) -> str | None:
    """Why a dose given at `location_id` on `given_on` cannot come from this lot, if it can't."""
    if lot.location_id != location_id:
        return "This lot is not held at that location."
    if given_on > lot.expiration_date:
        return f"This lot expired on {lot.expiration_date.isoformat()}."
    return None


def _chosen_lot(
    session: Session, dose: dict, choose_lot: LotChooser | None, errors: dict
) -> KnownLot | None:
    """The lot inventory chooses for a dose naming only its product (first expiring first)."""
    if choose_lot is None:
        errors["lot_id"] = ["Name the lot this dose came from."]
        return None
    try:
        chosen = choose_lot(
            dose["location_id"], dose["product_id"], dose["administered_at"].isoformat()
        )
    except NoUsableLot as exc:
        errors["product_id"] = [exc.message]
        return None
    return remember_lot(session, {**chosen, "location_id": dose["location_id"]})


class NoUsableLot(Exception):
    """Inventory holds no usable lot of the product at the location (raised by a LotChooser)."""

    def __init__(self, message: str = "No usable lot of this product at this location."):
        super().__init__(message)
        self.message = message


def find_lot(session: Session, lot_id: str, lookup_lot: LotLookup) -> KnownLot | None:
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
    previous = session.scalar(
        select(func.max(Administration.administered_at)).where(
            Administration.recipient_id == recipient.id,
            Administration.status == COMPLETED,
            Administration.administered_at <= dose["administered_at"],
        )
    )
    return rules_broken(
        recipient.birth_date,
        product,
        dose["administered_at"],
        dose_number,
        numbered=dose.get("dose_number") is not None,
        given_before=given_before,
        previous_at=as_utc(previous) if previous is not None else None,
    )


def rules_broken(
    birth_date: date,
    product: Product,
    given_at: datetime,
    dose_number: int,
    *,
    numbered: bool,
    given_before: int,
    previous_at: datetime | None,
) -> dict[str, tuple[str, str]]:
    """The clinical rules a dose breaks, from the facts they need (so a bulk import checks
    rows against facts it loaded once): rule name -> (field, message)."""
    broken: dict[str, tuple[str, str]] = {}
    age = age_in_years(birth_date, given_at.date())
    if age < product.min_age_years:
        broken[MIN_AGE] = (
            "recipient_id",
            f"The recipient is {age} years old on {given_at.date().isoformat()}; "
            f"{product.name} is for ages {product.min_age_years} and up.",
        )
    if previous_at is not None and product.min_interval_days:
        days = (given_at.date() - previous_at.date()).days
        shortest = product.min_interval_days - INTERVAL_GRACE_DAYS
        if days < shortest:
            broken[MIN_INTERVAL] = (
                "administered_at",
                f"Only {days} days since the previous dose; {product.name} needs "
                f"{product.min_interval_days} days (at least {shortest} with the "
                f"{INTERVAL_GRACE_DAYS}-day grace period).",
            )
    if numbered and dose_number != given_before + 1:
        broken[DOSE_SEQUENCE] = (
            "dose_number",
            f"The recipient has {given_before} doses recorded; this would be dose "
            f"{given_before + 1}, not {dose_number}.",
        )
    return broken


def age_in_years(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def doses_given(session: Session, recipient_id: str) -> int:
    """Doses that count for the recipient's series: voided ones do not."""
    given = session.scalar(
        select(func.count()).where(
            Administration.recipient_id == recipient_id, Administration.status == COMPLETED
        )
    )
    return given or 0


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
