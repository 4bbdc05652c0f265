"""The administration service: recipients and the record of every dose given."""

from __future__ import annotations

import uuid

from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy

from administration import (
    catalog,
    changes,
    documents,
    fhir,
    hl7,
    imports,
    portal,
    quarantine,
    records,
    registration,
)
from administration.database_errors import answered
from administration.models import Administration, Recipient
from administration.schemas import (
    AdministrationSchema,
    ClaimSchema,
    ContactUpdateSchema,
    CorrectionSchema,
    ExportRangeSchema,
    ImportChunkSchema,
    NewRecipientSchema,
    PaperFormSchema,
    RecipientSchema,
    RecipientSearchSchema,
    RecordAdministrationSchema,
    RecordPdfSchema,
    VoidSchema,
    unreachable_channels,
)
from cvms_platform import errors, validation
from cvms_platform.consumer import consumes
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.timeutil import utcnow

ADMINISTRATION = AdministrationSchema()
RECIPIENT = RecipientSchema()


class AdministrationService(CvmsService):
    name = "administration"

    inventory = RpcProxy("inventory")

    @rpc
    @answered
    def register_recipient(self, recipient: dict) -> dict:
        """Register a recipient; returns it and `created` (False when a likely duplicate, an
        existing recipient, was matched instead: then `matched` is True)."""
        data = validation.load(NewRecipientSchema(), recipient)
        with self.db.transaction() as session:
            found, created = registration.register(
                session, data, correlation_id=self.correlation_id
            )
        return {"recipient": RECIPIENT.dump(found), "created": created, "matched": not created}

    @rpc
    @answered
    def find_recipients(self, query: dict) -> dict:
        """Staff finding a recipient: by folded family name and birth date (given name a prefix),
        or by phone; at most `limit` (20) matches with their contact details masked, and `more`
        when others matched too."""
        data = validation.load(RecipientSearchSchema(), query)
        found, more = registration.search(self.db.session, data)
        return {"recipients": [registration.match_summary(r) for r in found], "more": more}

    @rpc
    @answered
    def get_recipient(self, recipient_id: str) -> dict:
        return RECIPIENT.dump(self._recipient(recipient_id))

    @rpc
    @answered
    def record_administration(
        self,
        dose: dict,
        recorded_by: str,
        may_override: bool = False,
        recorded_by_user_id: str | None = None,
    ) -> dict:
        """Record a dose given; returns it and `created` (False for a repeated record id).

        `may_override` (decided by the gateway from the caller's role) lets a dose carrying an
        `override` reason be recorded although clinical checks fail. A dose naming a product
        and no lot takes the lot inventory chooses (first expiring first)."""
        data = validation.load(RecordAdministrationSchema(), dose)
        self._refresh_catalog()
        # A concurrent request with the same record id may commit first: that record stands.
        return self._changed(
            lambda session: records.record_dose(
                session,
                data,
                recorded_by=recorded_by,
                choose_lot=self._choose_lot,
                recorded_by_user_id=_user_id(recorded_by_user_id),
                correlation_id=self.correlation_id,
                **self._checks(may_override),
            )
        )

    @rpc
    @answered
    def correct_administration(
        self,
        administration_id: str,
        correction: dict,
        changed_by: str,
        changed_by_user_id: str | None = None,
        may_override: bool = False,
    ) -> dict:
        """Correct a recorded dose (lot, dose number, site, route, volume, time) with a reason;
        the history keeps the fields before and after. `created` is False for a correction id
        applied before. The corrected dose is checked as a new one is; `may_override` (decided by
        the gateway from the caller's role) lets a correction carrying an `override` reason
        through clinical checks it fails."""
        data = validation.load(CorrectionSchema(), correction)
        self._refresh_catalog()
        checks = self._checks(may_override)
        return self._change(
            changes.correct, administration_id, data, changed_by, changed_by_user_id, **checks
        )

    @rpc
    @answered
    def void_administration(
        self,
        administration_id: str,
        void: dict,
        changed_by: str,
        changed_by_user_id: str | None = None,
    ) -> dict:
        """Void a dose entered in error, with a reason; it no longer counts for the series and
        inventory puts the dose back. `created` is False for a void id applied before."""
        data = validation.load(VoidSchema(), void)
        return self._change(changes.void, administration_id, data, changed_by, changed_by_user_id)

    @rpc
    @answered
    def get_administration(self, administration_id: str) -> dict:
        administration = self.db.session.get(Administration, str(administration_id))
        if administration is None:
            raise NotFound(f"administration {administration_id} not found")
        return ADMINISTRATION.dump(administration)

    @rpc
    @answered
    def recipient_fhir_bundle(self, recipient_id: str) -> dict:
        """The recipient and every dose recorded for them as a FHIR R4 Bundle (collection)."""
        recipient = self._described(recipient_id)
        return fhir.bundle(self.db.session, recipient)

    @rpc
    @answered
    def recipient_hl7(self, recipient_id: str) -> str:
        """The recipient's doses as one HL7 v2.5.1 VXU^V04 message (CDC IIS guide)."""
        recipient = self._described(recipient_id)
        return hl7.recipient_export(self.db.session, recipient)

    @rpc
    @answered
    def location_hl7_batch(self, location_id: str, date_from: str, date_to: str) -> str:
        """The doses given at a location in a date range (inclusive) as an HL7 batch: one
        VXU^V04 per recipient inside FHS/BHS ... BTS/FTS."""
        query = validation.load(
            ExportRangeSchema(),
            {"location_id": location_id, "date_from": date_from, "date_to": date_to},
        )
        self._refresh_catalog()
        return hl7.location_export(
            self.db.session, query["location_id"], query["date_from"], query["date_to"]
        )

    @rpc
    @answered
    def verify_recipient_claim(self, claim: dict) -> str | None:
        """The recipient id when exactly one recipient with this family name and date of birth
        has a dose of this lot on that day; None for no match and for wrong details alike."""
        data = validation.load(ClaimSchema(), claim)
        return portal.verify_claim(
            self.db.session,
            data["family_name"],
            data["date_of_birth"],
            data["lot_number"],
            data["administered_on"],
        )

    @rpc
    @answered
    def recipient_vaccinations(self, recipient_id: str) -> list[dict]:
        """The recipient's doses (not voided ones) with product name, cap color, lot, location."""
        self._described(recipient_id)
        return portal.vaccinations(self.db.session, str(recipient_id))

    @rpc
    @answered
    def update_recipient_contact(self, recipient_id: str, change: dict) -> dict:
        """Change a recipient's address, phone, e-mail, language or contact preferences."""
        data = validation.load(ContactUpdateSchema(), change)
        with self.db.transaction() as session:
            recipient = self._recipient(recipient_id)
            portal.update_contact(session, recipient, data)
            if problems := unreachable_channels(recipient):
                raise InvalidInput({"contact_preferences": problems})
        return RECIPIENT.dump(recipient)

    @rpc
    @answered
    def record_pdf(
        self,
        recipient_id: str,
        language: str | None = None,
        location_names: dict | None = None,
    ) -> dict:
        """The recipient's vaccination record as a PDF: who they are and every dose given (not
        voided ones), in `language` (en, es; None: the recipient's preferred language). A dose's
        location is named by `location_names` ({location_id: name}; locations are the
        gateway's), by its id when not there. {filename, content_type, base64}."""
        query = {"recipient_id": recipient_id, "language": language}
        if location_names is not None:
            query["location_names"] = location_names
        data = validation.load(RecordPdfSchema(), query)
        recipient = self._described(data["recipient_id"])
        doses = portal.vaccinations(self.db.session, recipient.id)
        return documents.record(
            RECIPIENT.dump(recipient),
            doses,
            data["location_names"],
            data["language"] or recipient.preferred_language or "en",
            utcnow(),
        )

    @rpc
    def paper_form(self, kind: str, language: str = "en") -> dict:
        """A printable form of offline operations, `recipient-registration` or
        `vaccine-administration`, in `language` (en, es); each box names the CSV column it is
        typed into. {filename, content_type, base64}."""
        data = validation.load(PaperFormSchema(), {"kind": kind, "language": language})
        return documents.paper_form(data["kind"], data["language"])

    def _checks(self, may_override: bool) -> dict:
        """What recording or correcting a dose needs to check it as a new dose is checked."""
        return {
            "lookup_lot": self._lookup_lot,
            "list_products": self.inventory.list_products,
            "may_override": may_override is True,
        }

    def _change(
        self,
        change,
        administration_id: str,
        data: dict,
        changed_by: str,
        changed_by_user_id,
        **more,
    ) -> dict:
        """A correction or a void of a recorded dose (`change`: changes.correct or changes.void)."""
        return self._changed(
            lambda session: change(
                session,
                str(administration_id),
                data,
                changed_by=changed_by,
                changed_by_user_id=_user_id(changed_by_user_id),
                correlation_id=self.correlation_id,
                **more,
            )
        )

    def _changed(self, work) -> dict:
        """Run a dose's change once (a repeated id changes nothing): the dose and `created`."""
        administration, created = self.db.idempotent(work)
        return {"administration": ADMINISTRATION.dump(administration), "created": created}

    def _described(self, recipient_id: str) -> Recipient:
        """The recipient, with the products projection fresh enough to describe their doses."""
        recipient = self._recipient(recipient_id)
        self._refresh_catalog()
        return recipient

    def _recipient(self, recipient_id: str) -> Recipient:
        recipient = self.db.session.get(Recipient, str(recipient_id))
        if recipient is None:
            raise NotFound(f"recipient {recipient_id} not found")
        return recipient

    @rpc
    @answered
    def import_administrations(
        self,
        location_id: str,
        rows: list[dict],
        recorded_by: str,
        import_id: str | None = None,
        first_row: int = 2,
        recorded_by_user_id: str | None = None,
    ) -> dict:
        """Import a chunk of an offline CSV (rows: {column: text}, numbered from `first_row`, the
        file's line number) in one transaction; the outcome of every row. Rows of one import
        share its `import_id` (a new one when not given)."""
        # The rows' shape is checked by hand: marshmallow over every cell of a chunk would cost
        # as much as importing it. Their contents are validated row by row by the import.
        data = validation.load(
            ImportChunkSchema(),
            {
                "location_id": location_id,
                "rows": [],
                "import_id": import_id,
                "first_row": first_row,
            },
        )
        chunk = imports.ImportChunk(
            location_id=data["location_id"],
            import_id=str(data["import_id"] or uuid.uuid4()),
            first_row=data["first_row"],
            rows=imports.checked_rows(rows),
            recorded_by=recorded_by,
            recorded_by_user_id=_user_id(recorded_by_user_id),
            correlation_id=self.correlation_id,
        )
        inventory = imports.InventoryLookups(
            lots_at=self.inventory.location_inventory,
            list_products=self.inventory.list_products,
        )
        self._refresh_catalog()
        outcomes = self.db.idempotent(
            lambda session: imports.import_chunk(session, chunk, inventory)
        )
        return imports.summary(chunk.import_id, chunk.location_id, outcomes)

    @rpc
    @answered
    def import_report(self, location_id: str, import_id: str) -> dict:
        """Every row of an import so far, with its outcome (accepted, duplicate, rejected)."""
        return imports.report(self.db.session, str(location_id), str(import_id))

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event) -> None:
        records.on_lot_received(session, event)

    @consumes("inventory", "lot_quarantined")
    def on_lot_quarantined(self, session, event) -> None:
        quarantine.on_lot_quarantined(session, event)

    @consumes("inventory", "lot_released")
    def on_lot_released(self, session, event) -> None:
        quarantine.on_lot_released(session, event)

    @consumes("inventory", "product_updated")
    def on_product_updated(self, session, event) -> None:
        catalog.on_product_updated(session, event.payload)

    def _refresh_catalog(self) -> None:
        """Keep the products projection at most 10 minutes old. The usual answer, "fresh", is read
        in the transaction the dose goes on to use; only a due refresh gets a transaction of its
        own (committed first, so a refused dose does not throw the refresh away)."""
        if catalog.is_fresh(self.db.session):
            return
        with self.db.transaction() as session:
            catalog.refresh_if_stale(session, self.inventory.list_products)

    def _lookup_lot(self, lot_id: str) -> dict | None:
        try:
            return self.inventory.get_lot(lot_id)
        except NotFound:
            return None

    def _choose_lot(self, location_id: str, product_id: str, administered_at: str) -> dict:
        """The lot inventory chooses (FEFO); NoUsableLot when it holds none usable."""
        try:
            return self.inventory.choose_lot(location_id, product_id, administered_at)
        except errors.NoUsableLot as exc:
            messages = exc.errors.get("product_id") if isinstance(exc.errors, dict) else None
            raise records.NoUsableLot(*(messages[:1] if messages else ())) from None
        except NotFound as exc:
            raise records.NoUsableLot(
                str(exc.args[0]) if exc.args else "Unknown product."
            ) from None
        except RemoteError as exc:
            # An inventory older than the shared error type names it only by its class name.
            if exc.exc_type == "NoUsableLot":
                raise records.NoUsableLot() from None
            raise


def _user_id(value) -> str | None:
    return str(value)[:36] if value else None
