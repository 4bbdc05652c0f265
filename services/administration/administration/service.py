"""The administration service: recipients and the record of every dose given."""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc

from administration import records
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
from cvms_platform.timeutil import utcnow

ADMINISTRATION = AdministrationSchema()
RECIPIENT = RecipientSchema()


class AdministrationService(CvmsService):
    name = "administration"

    inventory = RpcProxy("inventory")

    @rpc
    def register_recipient(self, recipient: dict) -> dict:
        data = validation.load(NewRecipientSchema(), recipient)
        with self.db.transaction() as session:
            created = Recipient(**data, created_at=utcnow())
            session.add(created)
        return RECIPIENT.dump(created)

    @rpc
    def get_recipient(self, recipient_id: str) -> dict:
        recipient = self.db.session.get(Recipient, str(recipient_id))
        if recipient is None:
            raise NotFound(f"recipient {recipient_id} not found")
        return RECIPIENT.dump(recipient)

    @rpc
    def record_administration(self, dose: dict, recorded_by: str) -> dict:
        """Record a dose given; returns it and `created` (False for a repeated record id)."""
        data = validation.load(RecordAdministrationSchema(), dose)
        # A concurrent request with the same record id may commit first: that record stands.
        administration, created = self.db.idempotent(
            lambda session: records.record_dose(
                session,
                data,
                recorded_by=recorded_by,
                correlation_id=self.correlation_id,
                lookup_lot=self._lookup_lot,
            )
        )
        return {"administration": ADMINISTRATION.dump(administration), "created": created}

    @rpc
    def get_administration(self, administration_id: str) -> dict:
        administration = self.db.session.get(Administration, str(administration_id))
        if administration is None:
            raise NotFound(f"administration {administration_id} not found")
        return ADMINISTRATION.dump(administration)

    @consumes("inventory", "lot_received")
    def on_lot_received(self, session, event) -> None:
        records.on_lot_received(session, event)

    def _lookup_lot(self, lot_id: str) -> dict | None:
        try:
            return self.inventory.get_lot(lot_id)
        except NotFound:
            return None
