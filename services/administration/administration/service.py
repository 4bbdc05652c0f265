"""The administration service: recipients and the record of every dose given."""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc

from administration import catalog, fhir, records, registration
from administration.models import Administration, Recipient
from administration.schemas import (
    AdministrationSchema,
    NewRecipientSchema,
    RecipientSchema,
    RecordAdministrationSchema,
)
from cvms_platform import validation
from cvms_platform.consumer import consumes
from cvms_platform.errors import NotFound
from cvms_platform.service import CvmsService

ADMINISTRATION = AdministrationSchema()
RECIPIENT = RecipientSchema()


class AdministrationService(CvmsService):
    name = "administration"

    inventory = RpcProxy("inventory")

    @rpc
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
    def get_recipient(self, recipient_id: str) -> dict:
        recipient = self.db.session.get(Recipient, str(recipient_id))
        if recipient is None:
            raise NotFound(f"recipient {recipient_id} not found")
        return RECIPIENT.dump(recipient)

    @rpc
    def record_administration(
        self, dose: dict, recorded_by: str, may_override: bool = False
    ) -> dict:
        """Record a dose given; returns it and `created` (False for a repeated record id).

        `may_override` (decided by the gateway from the caller's role) lets a dose carrying an
        `override` reason be recorded although clinical checks fail."""
        data = validation.load(RecordAdministrationSchema(), dose)
        self._refresh_catalog()
        # A concurrent request with the same record id may commit first: that record stands.
        administration, created = self.db.idempotent(
            lambda session: records.record_dose(
                session,
                data,
                recorded_by=recorded_by,
                correlation_id=self.correlation_id,
                lookup_lot=self._lookup_lot,
                list_products=self.inventory.list_products,
                may_override=may_override is True,
            )
        )
        return {"administration": ADMINISTRATION.dump(administration), "created": created}

    @rpc
    def get_administration(self, administration_id: str) -> dict:
        administration = self.db.session.get(Administration, str(administration_id))
        if administration is None:
            raise NotFound(f"administration {administration_id} not found")
        return ADMINISTRATION.dump(administration)

    @rpc
    def recipient_fhir_bundle(self, recipient_id: str) -> dict:
        """The recipient and every dose recorded for them as a FHIR R4 Bundle (collection)."""
        recipient = self.db.session.get(Recipient, str(recipient_id))
        if recipient is None:
            raise NotFound(f"recipient {recipient_id} not found")
        self._refresh_catalog()
        return fhir.bundle(self.db.session, recipient)

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event) -> None:
        records.on_lot_received(session, event)

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
