"""Offline operations: doses recorded on paper (the Vaccine Administration form) and typed into
a CSV, imported in chunks. Each row registers or matches its recipient and records the dose by
the same rules as the API (backdated doses allowed); the outcome of every row is kept for the
import's report.

A chunk is one transaction with bulk statements and no RPC per row: the rows are validated
one by one, then recipients, lots, earlier doses and existing records are each loaded in one
query for the whole chunk. Each row carries a client record id; the dose's id is derived from
the location and that id, so importing the same file again (whole or in part, under any import
id) records nothing twice: those rows are reported as duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time
from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import (
    ColumnElement,
    Date,
    Row,
    Select,
    String,
    and_,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from administration import catalog
from administration.models import (
    COMPLETED,
    Administration,
    AdministrationImport,
    ImportRow,
    KnownLot,
    Recipient,
    new_id,
)
from administration.records import (
    BEYOND_SERIES,
    CLOCK_SKEW,
    MAX_DOSE_NUMBER,
    lot_from_inventory,
    lot_problem,
    rules_broken,
)
from administration.registration import contact, same_contact
from administration.schemas import (
    ADMINISTRATION_ROUTES,
    ADMINISTRATION_SITES,
    CHANNELS,
    NAME,
    NewRecipientSchema,
    one_of,
)
from cvms_platform.bulk import among, insert_rows
from cvms_platform.contracts import MAX_IMPORTED_DOSES
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.outbox import record_events
from cvms_platform.timeutil import as_utc, utcnow

RECIPIENT_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "race",
    "ethnicity",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "preferred_language",
    "contact_email",
    "contact_sms",
    "contact_phone",
    "contact_mail",
)
DOSE_COLUMNS = (
    "administered_at",
    "lot_number",
    "dose_number",
    "site",
    "route",
    "dose_volume_ml",
    "performer_name",
)
COLUMNS = ("record_id", *RECIPIENT_COLUMNS, *DOSE_COLUMNS)
REQUIRED_COLUMNS = (
    "record_id",
    "given_name",
    "family_name",
    "birth_date",
    "administered_at",
    "lot_number",
)
MAX_CHUNK = 2000
IMPORTED_DOSE = (
    "recipient_id",
    "location_id",
    "lot_id",
    "product_id",
    "lot_number",
    "dose_number",
    "administered_at",
)
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
# A stored row's outcome, read as columns (ORM objects cost more than the rest of a report).
REPORT_COLUMNS = (
    ImportRow.row_number,
    ImportRow.record_id,
    ImportRow.status,
    ImportRow.administration_id,
    ImportRow.recipient_id,
    ImportRow.errors,
)
# Record ids are per location: the dose's id is a UUID5 of both.
RECORD_NAMESPACE = uuid.UUID("5b0c9d3e-8f0a-4f6e-9a52-1d6f3c8a2e11")
TICKED = {"x", "yes", "y", "true", "1", "si", "sí"}
UNTICKED = {"", "no", "n", "false", "0"}
# A date without a time: midday UTC, the same calendar day in every US time zone.
MIDDAY = time(12, 0, tzinfo=UTC)

LotsAt = Callable[[str], list[dict]]


def dose_id(location_id: str, record_id: str) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{location_id}/{record_id}"))


class GivenAt(fields.Field):
    """An ISO 8601 date and time with its offset, or a date alone (taken as midday UTC)."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return datetime.combine(datetime.fromisoformat(text).date(), MIDDAY)
            given = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                "A date (2026-01-15) or a date and time with its offset "
                "(2026-01-15T10:30:00-05:00)."
            ) from None
        if given.tzinfo is None:
            raise ValidationError("Give the time's UTC offset, e.g. 2026-01-15T10:30:00-05:00.")
        return given


class DoseRowSchema(Schema):
    record_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    administered_at = GivenAt(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    dose_number = fields.Int(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=10)
    )
    site = fields.Str(load_default=None, allow_none=True, validate=one_of(ADMINISTRATION_SITES))
    route = fields.Str(load_default=None, allow_none=True, validate=one_of(ADMINISTRATION_ROUTES))
    dose_volume_ml = fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.05, max=5.0),
    )
    performer_name = fields.Str(load_default=None, allow_none=True, validate=NAME)

    @pre_load
    def _upper_codes(self, data, **_):
        for name in ("site", "route"):
            if data.get(name):
                data[name] = data[name].upper()
        return data


RECIPIENT_FORM = NewRecipientSchema()
DOSE_ROW = DoseRowSchema()


def blank_to_none(values: dict) -> dict:
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}


def recipient_part(values: dict) -> tuple[dict, dict]:
    """The row's registration form, as the API takes it; and column errors of the tick boxes."""
    errors: dict[str, list[str]] = {}
    channels = {}
    for channel in CHANNELS:
        raw = (values.get(f"contact_{channel}") or "").strip().lower()
        if raw not in TICKED | UNTICKED:
            errors[f"contact_{channel}"] = ["Tick with x (or yes), or leave empty."]
        channels[channel] = raw in TICKED
    form = {
        "given_name": values.get("given_name"),
        "family_name": values.get("family_name"),
        "birth_date": values.get("birth_date"),
        "sex": (values.get("sex") or "").upper() or None,
        "race": values.get("race"),
        "ethnicity": values.get("ethnicity"),
        "phone": values.get("phone"),
        "email": values.get("email"),
        "preferred_language": (values.get("preferred_language") or "en").lower(),
        "contact_preferences": channels,
    }
    if any(values.get(c) for c in ("address_line1", "city", "state", "postal_code")):
        form["address"] = {
            "line1": values.get("address_line1"),
            "line2": values.get("address_line2"),
            "city": values.get("city"),
            "state": (values.get("state") or "").upper() or None,
            "postal_code": values.get("postal_code"),
        }
    return {k: v for k, v in form.items() if v is not None}, errors


def column_errors(messages: dict) -> dict[str, list[str]]:
    """marshmallow's messages keyed by the CSV's columns (address.line1 -> address_line1)."""
    flat: dict[str, list[str]] = {}
    for field, message in messages.items():
        if isinstance(message, dict):
            for inner, inner_message in column_errors(message).items():
                column = {"address": f"address_{inner}" if inner.startswith("line") else inner}
                name = column.get(field, f"{field}.{inner}")
                if field == "contact_preferences":
                    name = f"contact_{inner}"
                flat.setdefault(name, []).extend(inner_message)
        else:
            flat.setdefault(field, []).extend(message if isinstance(message, list) else [message])
    return flat


def checked_rows(rows) -> list[dict]:
    """The chunk's rows if they are 1 to MAX_CHUNK mappings of column names to text."""
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_CHUNK:
        raise InvalidInput({"rows": [f"Send 1 to {MAX_CHUNK} rows."]})
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in row.items()
        ):
            raise InvalidInput({"rows": {index: ["A row maps column names to text."]}})
    return rows


def import_chunk(
    session: Session,
    location_id: str,
    import_id: str,
    rows: list[dict],
    *,
    recorded_by: str,
    recorded_by_user_id: str | None,
    correlation_id: str,
    lots_at: LotsAt,
    list_products: catalog.ProductLookup | None,
) -> list[dict]:
    """Import rows ({"row": number, "values": {column: text}}); the outcome of each, in order."""
    now = utcnow()
    record = session.get(AdministrationImport, import_id)
    if record is None:
        # Parts of one import may arrive at once: the first to commit creates it.
        _once(
            session,
            AdministrationImport(
                id=import_id,
                location_id=location_id,
                recorded_by=recorded_by,
                created_at=now,
                updated_at=now,
            ),
        )
        record = session.get(AdministrationImport, import_id)
    if record.location_id != location_id:
        raise NotFound(f"import {import_id} not found")

    # A chunk sent again (a retry) keeps the outcomes its rows had. A chunk's rows are
    # numbered in sequence: a range, not a list of a thousand numbers to send and compare.
    numbers = [row["row"] for row in rows]
    earlier = {
        r.row_number: r
        for r in session.execute(
            select(*REPORT_COLUMNS).where(
                ImportRow.import_id == import_id,
                ImportRow.row_number.between(min(numbers), max(numbers)),
            )
        )
    }
    outcomes: dict[int, dict] = {}
    pending, stale = [], []
    for row in rows:
        values = blank_to_none(row["values"])
        previous = earlier.get(row["row"])
        if previous is not None and previous.record_id == (values.get("record_id") or "")[:100]:
            outcomes[row["row"]] = outcome_of(previous)
            continue
        if previous is not None:
            stale.append(row["row"])
        pending.append((row["row"], values))

    checked = _validate(pending, outcomes)
    if checked:
        _record(
            session,
            location_id,
            checked,
            outcomes,
            recorded_by=recorded_by,
            recorded_by_user_id=recorded_by_user_id,
            import_id=import_id,
            correlation_id=correlation_id,
            lots_at=lots_at,
            list_products=list_products,
            now=now,
        )
    fresh = [outcomes[n] for n, _ in pending]
    if stale:  # rows sent again with other contents: their new outcome replaces the old
        session.execute(
            delete(ImportRow).where(
                ImportRow.import_id == import_id, ImportRow.row_number.in_(stale)
            )
        )
    if fresh:
        insert_rows(
            session,
            ImportRow.__table__,
            [
                {
                    "import_id": import_id,
                    "row_number": o["row"],
                    "record_id": o["record_id"],
                    "status": o["status"],
                    "administration_id": o["administration_id"],
                    "recipient_id": o["recipient_id"],
                    "errors": o["errors"],
                }
                for o in fresh
            ],
        )
    # Last, so that parts of one import in flight at once do not queue on the import's row for
    # a whole chunk's transaction, only for its commit.
    session.execute(
        update(AdministrationImport)
        .where(AdministrationImport.id == import_id)
        .values(updated_at=utcnow())
    )
    return [outcomes[n] for n in numbers]


def _validate(pending: list[tuple[int, dict]], outcomes: dict[int, dict]) -> list[dict]:
    checked = []
    seen: set[str] = set()
    for number, values in pending:
        record_id = (values.get("record_id") or "")[:100]
        form, errors = recipient_part(values)
        if set(values) - set(COLUMNS):
            errors["row"] = ["More cells than the header has columns."]
        try:
            recipient = RECIPIENT_FORM.load(form)
        except ValidationError as exc:
            errors.update(column_errors(exc.messages))
        try:
            dose = DOSE_ROW.load({k: values.get(k) for k in ("record_id", *DOSE_COLUMNS)})
        except ValidationError as exc:
            errors.update(column_errors(exc.messages))
        if not errors and record_id in seen:
            errors["record_id"] = ["This record id is on an earlier row of this import."]
        if errors:
            outcomes[number] = _outcome(number, record_id, REJECTED, errors=errors)
            continue
        seen.add(record_id)
        checked.append(
            {"row": number, "record_id": record_id, "recipient": recipient, "dose": dose}
        )
    return checked


def _record(
    session: Session,
    location_id: str,
    checked: list[dict],
    outcomes: dict[int, dict],
    *,
    recorded_by: str,
    recorded_by_user_id: str | None,
    import_id: str,
    correlation_id: str,
    lots_at: LotsAt,
    list_products,
    now: datetime,
) -> None:
    for item in checked:
        item["id"] = dose_id(location_id, item["record_id"])
    existing = dict(
        session.execute(
            select(Administration.id, Administration.recipient_id).where(
                among(session, Administration.id, [item["id"] for item in checked])
            )
        ).all()
    )
    todo = []
    for item in checked:
        if item["id"] in existing:
            outcomes[item["row"]] = _outcome(
                item["row"], item["record_id"], DUPLICATE, item["id"], existing[item["id"]]
            )
        else:
            todo.append(item)
    if not todo:
        return

    lots = _lots(
        session, location_id, {item["dose"]["lot_number"].upper() for item in todo}, lots_at
    )
    products = {
        product_id: catalog.product(session, product_id, list_products)
        for product_id in {lot.product_id for lot in lots.values() if lot is not None}
    }
    forms = [item["recipient"] for item in todo]
    _hold_uncontactable(session, import_id, forms)
    matcher = _RecipientMatcher(session, forms, now, import_id)
    history = _history(session, matcher.existing_ids())

    doses, events = [], []
    for item in todo:
        dose = item["dose"]
        errors: dict[str, list[str]] = {}
        given_at: datetime = dose["administered_at"]
        if given_at > now + CLOCK_SKEW:
            errors["administered_at"] = ["A dose cannot be recorded in the future."]
        lot = lots.get(dose["lot_number"].upper())
        product = products.get(lot.product_id) if lot is not None else None
        if lot is None:
            errors["lot_number"] = [f"No lot {dose['lot_number']} at {location_id}."]
        elif problem := lot_problem(lot, location_id, given_at.date()):
            errors["lot_number"] = [problem]
        elif product is None:
            errors["lot_number"] = [f"Product {lot.product_id} of this lot is not in the catalog."]
        recipient = matcher.match(item["recipient"])
        given = history.setdefault(recipient.id, [])
        dose_number = dose["dose_number"] or len(given) + 1
        if dose_number > MAX_DOSE_NUMBER:
            errors["dose_number"] = [f"A recipient has at most {MAX_DOSE_NUMBER} doses recorded."]
        if not errors:
            earlier = [at for at in given if at <= given_at]
            broken = rules_broken(
                recipient.birth_date,
                product,
                given_at,
                dose_number,
                numbered=dose["dose_number"] is not None,
                given_before=len(given),
                previous_at=max(earlier) if earlier else None,
            )
            for field, message in broken.values():
                errors.setdefault(field, []).append(message)
        if errors:
            outcomes[item["row"]] = _outcome(
                item["row"],
                item["record_id"],
                REJECTED,
                recipient_id=matcher.saved_id(recipient),
                errors=errors,
            )
            continue
        given.append(given_at)
        matcher.keep(recipient)
        doses.append(
            {
                "id": item["id"],
                "recipient_id": recipient.id,
                "location_id": location_id,
                "lot_id": lot.id,
                "product_id": lot.product_id,
                "lot_number": lot.lot_number,
                "dose_number": dose_number,
                "administered_at": given_at,
                "recorded_at": now,
                "recorded_by": recorded_by,
                "recorded_by_user_id": recorded_by_user_id,
                "overridden_rules": None,
                "override_reason": None,
                "flags": [BEYOND_SERIES] if dose_number > product.series_doses else None,
                "site": dose["site"],
                "route": dose["route"],
                "dose_volume_ml": dose["dose_volume_ml"],
                "performer_name": dose["performer_name"],
                "status": COMPLETED,
                "import_id": import_id,
            }
        )
        outcomes[item["row"]] = _outcome(
            item["row"], item["record_id"], ACCEPTED, item["id"], recipient.id
        )

    new_recipients = matcher.kept_new()
    if new_recipients:
        insert_rows(session, Recipient.__table__, new_recipients)
        events += [
            (
                "recipient_registered",
                {
                    "recipient_id": r["id"],
                    "preferred_language": r["preferred_language"],
                    "contact_channels": [c for c in CHANNELS if r[f"contact_{c}"]],
                },
            )
            for r in new_recipients
        ]
    if doses:
        insert_rows(session, Administration.__table__, doses)
        # The chunk's doses travel together: inventory applies them in one transaction.
        given = [{k: d[k] for k in IMPORTED_DOSE} | {"administration_id": d["id"]} for d in doses]
        events += [
            (
                "administrations_imported",
                {
                    "import_id": import_id,
                    "location_id": location_id,
                    "doses": given[start : start + MAX_IMPORTED_DOSES],
                },
            )
            for start in range(0, len(given), MAX_IMPORTED_DOSES)
        ]
    record_events(session, events, correlation_id=correlation_id)


def _lots(session: Session, location_id: str, numbers: set[str], lots_at: LotsAt) -> dict:
    """Lot number (upper case) -> the lot at the location; one RPC for the chunk when the
    projection (fed by lot_received) does not know a number yet."""

    def known() -> dict[str, KnownLot]:
        found = session.scalars(
            select(KnownLot).where(
                KnownLot.location_id == location_id, func.upper(KnownLot.lot_number).in_(numbers)
            )
        )
        by_number: dict[str, KnownLot] = {}
        for lot in found:
            # One number for lots of two products at a location is ambiguous: not guessed.
            previous = by_number.get(lot.lot_number.upper())
            by_number[lot.lot_number.upper()] = (
                lot if previous is None or previous.product_id == lot.product_id else None
            )
        return by_number

    lots = known()
    if numbers - set(lots):
        for lot in lots_at(location_id):
            if lot["lot_number"].upper() in numbers and session.get(KnownLot, lot["id"]) is None:
                _once(session, lot_from_inventory(lot))
        lots = known()
    return lots


def _once(session: Session, row) -> None:
    """Insert a row unless a concurrent transaction (another part of the import) did: in a
    savepoint, so losing that race does not undo the chunk's work."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass


def _history(session: Session, recipient_ids: list[str]) -> dict[str, list[datetime]]:
    history: dict[str, list[datetime]] = {rid: [] for rid in recipient_ids}
    if recipient_ids:
        for rid, at in session.execute(
            select(Administration.recipient_id, Administration.administered_at).where(
                among(session, Administration.recipient_id, recipient_ids),
                Administration.status == COMPLETED,
            )
        ):
            history[rid].append(as_utc(at))
    return history


class _RecipientMatcher:
    """Matches rows to recipients by the registration rules (same names and birth date, and the
    same phone or e-mail), loading the candidates of a whole chunk in one query; rows of the
    import for the same new person share one new recipient. A person with neither phone nor
    e-mail matches nobody registered otherwise, but the rows of one import (one clinic's paper
    log) with the same names and birth date and no contact details are one person, whichever
    chunk they fall in."""

    def __init__(self, session: Session, forms: list[dict], now: datetime, import_id: str):
        self.now = now
        self.candidates: dict[tuple, list[Row]] = {}
        wanted = {_identity(f["given_name"], f["family_name"], f["birth_date"]) for f in forms}
        for r in session.execute(_candidates(session, wanted).order_by(Recipient.created_at)):
            key = _identity(r.given_name, r.family_name, r.birth_date)
            if key in wanted:
                self.candidates.setdefault(key, []).append(r)
        uncontactable = [r.id for r in self._found() if not any(contact(r.phone, r.email))]
        self.this_import: set[str] = set()
        if uncontactable and any(not any(contact(f.get("phone"), f.get("email"))) for f in forms):
            self.this_import = set(
                session.scalars(
                    select(Administration.recipient_id).where(
                        Administration.import_id == import_id,
                        among(session, Administration.recipient_id, uncontactable),
                    )
                )
            )
        self.new: dict[tuple, SimpleNamespace] = {}
        self.new_ids: set[str] = set()
        self.kept: dict[str, SimpleNamespace] = {}

    def _found(self) -> list[Row]:
        return [r for found in self.candidates.values() for r in found]

    def existing_ids(self) -> list[str]:
        return [r.id for r in self._found()]

    def match(self, form: dict) -> Row | SimpleNamespace:
        key = _identity(form["given_name"], form["family_name"], form["birth_date"])
        phone, email = contact(form.get("phone"), form.get("email"))
        for candidate in self.candidates.get(key, []):
            if phone or email:
                if same_contact(candidate, phone, email):
                    return candidate
            elif candidate.id in self.this_import:
                return candidate
        new_key = (*key, phone, email)
        if new_key not in self.new:
            self.new[new_key] = _new_recipient(form, self.now)
            self.new_ids.add(self.new[new_key].id)
        return self.new[new_key]

    def saved_id(self, recipient: Row | SimpleNamespace) -> str | None:
        """The recipient's id if it is on record (a new one is only once a dose is accepted)."""
        is_new = recipient.id in self.new_ids
        return recipient.id if not is_new or recipient.id in self.kept else None

    def keep(self, recipient: Row | SimpleNamespace) -> None:
        if recipient.id in self.new_ids:
            self.kept[recipient.id] = recipient

    def kept_new(self) -> list[dict]:
        return [vars(r) for r in self.kept.values()]


# What matching and the rules need of a recipient on record.
_MATCHED = (
    Recipient.id,
    Recipient.given_name,
    Recipient.family_name,
    Recipient.birth_date,
    Recipient.phone,
    Recipient.email,
)


def _candidates(session: Session, wanted: set[tuple]) -> Select:
    """The recipients on record of the identities wanted (given, family, birth date), as rows
    of the columns matching needs."""
    if session.get_bind().dialect.name != "postgresql":
        return select(*_MATCHED).where(
            among(session, _folded(Recipient.given_name), {key[0] for key in wanted}),
            among(session, _folded(Recipient.family_name), {key[1] for key in wanted}),
            among(session, Recipient.birth_date, {key[2] for key in wanted}),
        )
    # Joined to the identities: one probe of the folded-identity index each, however many
    # recipients there are. (Three lists of values cannot use that index, and read every
    # recipient: 80 ms a chunk at 100,000.)
    keys = list(wanted)
    identities = (
        func.unnest(
            bindparam(None, [key[1] for key in keys], type_=ARRAY(String)),
            bindparam(None, [key[0] for key in keys], type_=ARRAY(String)),
            bindparam(None, [key[2] for key in keys], type_=ARRAY(Date)),
        )
        .table_valued("family", "given", "birth")
        .render_derived()
    )
    return select(*_MATCHED).join(
        identities,
        and_(
            _folded(Recipient.family_name) == identities.c.family,
            _folded(Recipient.given_name) == identities.c.given,
            Recipient.birth_date == identities.c.birth,
        ),
    )


def _folded(name: ColumnElement) -> ColumnElement:
    """A name as the database compares it: trimmed, lower case (as registration matches)."""
    return func.lower(func.trim(name), type_=String)


def _hold_uncontactable(session: Session, import_id: str, forms: list[dict]) -> None:
    """Chunks of one import run side by side: before looking for the people without phone or
    e-mail, wait for any other chunk of this import registering the same names and birth date
    to commit, so both do not register them (PostgreSQL advisory locks, held to commit, taken
    in one order; SQLite runs one transaction at a time anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    uncontactable = [f for f in forms if not any(contact(f.get("phone"), f.get("email")))]
    keys = sorted({_person_key(import_id, form) for form in uncontactable})
    if keys:
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
            ),
            {"keys": keys},
        )


def _person_key(import_id: str, form: dict) -> str:
    identity = _identity(form["given_name"], form["family_name"], form["birth_date"])
    return "|".join(map(str, (import_id, *identity)))


def _identity(given: str, family: str, birth) -> tuple:
    return (given.strip().lower(), family.strip().lower(), birth)


def _new_recipient(form: dict, now: datetime) -> SimpleNamespace:
    """A recipient row to insert, with a Recipient's attributes: not an ORM instance (the ORM's
    instrumentation was a noticeable part of an import's time, for rows inserted in bulk)."""
    address = form.get("address") or {}
    channels = form["contact_preferences"]
    return SimpleNamespace(
        id=new_id(),
        given_name=form["given_name"].strip(),
        family_name=form["family_name"].strip(),
        birth_date=form["birth_date"],
        created_at=now,
        sex=form.get("sex"),
        race=form.get("race"),
        ethnicity=form.get("ethnicity"),
        address_line1=address.get("line1"),
        address_line2=address.get("line2"),
        city=address.get("city"),
        state=address.get("state"),
        postal_code=address.get("postal_code"),
        phone=form.get("phone"),
        email=form.get("email"),
        preferred_language=form["preferred_language"],
        **{f"contact_{channel}": bool(channels.get(channel)) for channel in CHANNELS},
    )


def _outcome(
    row: int,
    record_id: str,
    status: str,
    administration_id: str | None = None,
    recipient_id: str | None = None,
    errors: dict | None = None,
) -> dict:
    return {
        "row": row,
        "record_id": record_id,
        "status": status,
        "administration_id": administration_id,
        "recipient_id": recipient_id,
        "errors": errors or None,
    }


def outcome_of(row) -> dict:
    """The outcome of a stored row (an ImportRow, or a row of REPORT_COLUMNS)."""
    return _outcome(
        row.row_number,
        row.record_id,
        row.status,
        row.administration_id,
        row.recipient_id,
        row.errors,
    )


def report(session: Session, location_id: str, import_id: str) -> dict:
    record = session.get(AdministrationImport, import_id)
    if record is None or record.location_id != location_id:
        raise NotFound(f"import {import_id} not found")
    rows = [
        outcome_of(r)
        for r in session.execute(
            select(*REPORT_COLUMNS)
            .where(ImportRow.import_id == import_id)
            .order_by(ImportRow.row_number)
        )
    ]
    return summary(import_id, location_id, rows)


def summary(import_id: str, location_id: str, rows: list[dict]) -> dict:
    counts = {status: 0 for status in (ACCEPTED, DUPLICATE, REJECTED)}
    for row in rows:
        counts[row["status"]] += 1
    return {"import_id": import_id, "location_id": location_id, **counts, "rows": rows}
