"""Finding each row's recipient by the registration rules, or registering a new one, for a whole
chunk at once: the candidates are loaded in one query, and the new recipients are inserted in
bulk with the doses accepted for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, Row, Select, String, and_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from administration.models import Administration, Recipient, new_id
from administration.registration import contact, recipient_columns, same_contact
from cvms_platform.bulk import among


@dataclass
class NewRecipient:
    """A recipient row to insert, with a Recipient's attributes: not an ORM instance (the ORM's
    instrumentation was a noticeable part of an import's time, for rows inserted in bulk)."""

    id: str
    given_name: str
    family_name: str
    birth_date: date
    created_at: datetime
    sex: str | None
    race: str | None
    ethnicity: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    phone: str | None
    email: str | None
    preferred_language: str
    contact_email: bool
    contact_sms: bool
    contact_phone: bool
    contact_mail: bool

    @classmethod
    def registered_by(cls, form: dict, now: datetime) -> NewRecipient:
        """The recipient a row's registration form (as NewRecipientSchema loads it) registers."""
        return cls(id=new_id(), created_at=now, **recipient_columns(form))

    def as_row(self) -> dict:
        """The columns to insert: the instance's own attribute dict, read and never changed
        (a copy per row would cost an import of 100,000 rows for nothing)."""
        return vars(self)


# A recipient on record (a row of _MATCHED), or one this chunk registers.
MatchedRecipient = Row | NewRecipient


class RecipientMatcher:
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
        self.new: dict[tuple, NewRecipient] = {}
        self.new_ids: set[str] = set()
        self.kept: dict[str, NewRecipient] = {}

    def _found(self) -> list[Row]:
        return [r for found in self.candidates.values() for r in found]

    def existing_ids(self) -> list[str]:
        return [r.id for r in self._found()]

    def match(self, form: dict) -> MatchedRecipient:
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
            self.new[new_key] = NewRecipient.registered_by(form, self.now)
            self.new_ids.add(self.new[new_key].id)
        return self.new[new_key]

    def saved_id(self, recipient: MatchedRecipient) -> str | None:
        """The recipient's id if it is on record (a new one is only once a dose is accepted)."""
        is_new = recipient.id in self.new_ids
        return recipient.id if not is_new or recipient.id in self.kept else None

    def keep(self, recipient: MatchedRecipient) -> None:
        if recipient.id in self.new_ids:
            self.kept[recipient.id] = recipient

    def kept_new(self) -> list[dict]:
        return [r.as_row() for r in self.kept.values()]


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


def hold_uncontactable(session: Session, import_id: str, forms: list[dict]) -> None:
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
