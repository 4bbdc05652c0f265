"""Event contracts: the payload schema of each (event type, version), checked both ways.

A contract names the service that owns the event; only that service publishes it, into the
`<source>.events` exchange that nameko event handlers bind to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from cvms_platform.envelope import ENVELOPE, Event
from cvms_platform.errors import ContractViolation

WASTAGE_REASONS = (
    "broken_vial",
    "drawn_not_administered",
    "open_vial_time_limit",
    "temperature_excursion",
    "expired",
    "other",
)
LEDGER_REASONS = (
    "received",
    "administered",
    "wasted",
    "transferred_out",
    "transferred_in",
    "correction",
    "administration_voided",
)


class LotReceivedV1(Schema):
    lot_id = fields.UUID(required=True)
    shipment_id = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class DoseAdministeredV1(Schema):
    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)


# Doses recorded in bulk (an offline import): one event per chunk of at most this many.
MAX_IMPORTED_DOSES = 1000


class AdministrationsImportedV1(Schema):
    """The doses one import chunk recorded, in the chunk's order (each as dose_administered
    would carry it); the API's single doses keep dose_administered."""

    import_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    doses = fields.List(
        fields.Nested(DoseAdministeredV1),
        required=True,
        validate=validate.Length(min=1, max=MAX_IMPORTED_DOSES),
    )


# One adjustment may stand for several ledger entries of a lot written together (a chunk of
# imported doses): delta is their sum, ledger_entry_id the last of them, doses_on_hand after it.
class InventoryAdjustedV1(Schema):
    ledger_entry_id = fields.UUID(required=True)
    location_id = fields.Str(required=True)
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    reason = fields.Str(required=True, validate=validate.OneOf(LEDGER_REASONS))
    delta = fields.Int(required=True, strict=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class InventoryDiscrepancyRecordedV1(Schema):
    discrepancy_id = fields.UUID(required=True)
    location_id = fields.Str(required=True)
    lot_id = fields.UUID(required=True)
    reason = fields.Str(required=True)
    source_event_id = fields.UUID(required=True)


class DosesWastedV1(Schema):
    ledger_entry_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.Str(required=True, validate=validate.OneOf(WASTAGE_REASONS))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotQuarantinedV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    storage_unit = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    excursion_id = fields.UUID(required=True)
    observed_at = fields.AwareDateTime(required=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotReleasedV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    note = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))


class LotExpiringV1(Schema):
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    expiration_date = fields.Date(required=True)
    days_left = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class VialOpenedV1(Schema):
    """A multi-dose vial was punctured for a dose: its doses must be given by beyond_use_at."""

    vial_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses_in_vial = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    opened_at = fields.AwareDateTime(required=True)
    beyond_use_at = fields.AwareDateTime(required=True)


class StockLowV1(Schema):
    """A location's usable stock of a product lasts fewer days than its threshold, at the
    average daily use of the last 7 days (announced once per location, product and day)."""

    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    doses_on_hand = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    average_daily_use = fields.Float(required=True, validate=validate.Range(min=0))
    days_of_supply = fields.Float(required=True, validate=validate.Range(min=0))
    threshold_days = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class ProductUpdatedV1(Schema):
    """A state admin edited the product catalog: the whole product as it is now."""

    id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True)
    cap_color = fields.Str(required=True)
    manufacturer = fields.Str(required=True)
    mvx_code = fields.Str(required=True)
    cvx_code = fields.Str(required=True)
    ndc_unit_of_sale = fields.Str(required=True)
    ndc_unit_of_use = fields.Str(required=True)
    doses_per_vial = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    dose_volume_ml = fields.Float(required=True)
    min_age_years = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    series_doses = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    min_interval_days = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    storage_min_c = fields.Int(required=True, strict=True)
    storage_max_c = fields.Int(required=True, strict=True)
    beyond_use_hours = fields.Int(required=True, strict=True, validate=validate.Range(min=1))
    active = fields.Bool(required=True)


class RecipientRegisteredV1(Schema):
    """A new recipient (not a registration matched to an existing one).

    Deliberately without personal data: no name, birth date, address, phone or e-mail travel
    on the bus. A consumer (notifications) gets the id, the language to write in and the
    channels the recipient agreed to, and asks administration for contact details it needs."""

    recipient_id = fields.UUID(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(
        fields.Str(validate=validate.OneOf(["email", "sms", "phone", "mail"])), required=True
    )


class AdministrationVoidedV1(Schema):
    """A recorded dose was voided (entered in error, never given): its dose goes back to the lot
    it was taken from."""

    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    lot_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    voided_by = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    voided_at = fields.AwareDateTime(required=True)


class AdministrationCorrectedV1(Schema):
    """A recorded dose was corrected. `previous_lot_id` differs from `lot_id` when the lot was
    corrected: inventory then puts the dose back to the previous lot and takes it from the new
    one. `changed` names the corrected fields (e.g. lot_id, dose_number, site)."""

    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    previous_lot_id = fields.UUID(required=True)
    lot_id = fields.UUID(required=True)
    previous_product_id = fields.Str(required=True)
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    administered_at = fields.AwareDateTime(required=True)
    changed = fields.List(fields.Str(), required=True, validate=validate.Length(min=1))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    corrected_by = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    corrected_at = fields.AwareDateTime(required=True)


class Address(Schema):
    line1 = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    state = fields.Str(required=True, validate=validate.Length(equal=2))
    zip = fields.Str(required=True, validate=validate.Regexp(r"^\d{5}(-\d{4})?$"))


class ProviderEnrolledV1(Schema):
    """A state admin approved a provider enrollment: the organization exists from now on."""

    organization_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    enrollment_id = fields.UUID(required=True)
    legal_name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    address = fields.Nested(Address, required=True)
    location_ids = fields.List(fields.Str(validate=validate.Length(min=1, max=64)), required=True)


class LocationEnrolledV1(Schema):
    """A location of an approved enrollment exists from now on (one event per location).
    Scheduling starts its public settings from these details; inventory accepts its stock."""

    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    organization_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    address = fields.Nested(Address, required=True)
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=30))


class UserInvitedV1(Schema):
    """A user was created with a one-time link to set a password (for a notifications service to
    deliver). No personal data: the user and link ids only."""

    user_id = fields.UUID(required=True)
    link_id = fields.UUID(required=True)
    organization_id = fields.Str(load_default=None, allow_none=True)
    expires_at = fields.AwareDateTime(required=True)


class PasswordResetRequestedV1(Schema):
    """A one-time link to reset a user's password was made. No personal data: ids only."""

    user_id = fields.UUID(required=True)
    link_id = fields.UUID(required=True)
    expires_at = fields.AwareDateTime(required=True)


# -- scheduling: appointments and waitlists. No personal data (names, birth dates, phone numbers,
# e-mail addresses) travels: ids, confirmation codes, places and times, language and channels.
APPOINTMENT_ACTORS = ("recipient", "staff", "system")
CONTACT_CHANNELS = ("email", "sms", "phone", "mail")


class AppointmentBookedV1(Schema):
    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    slot_id = fields.UUID(load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(
        fields.Str(validate=validate.OneOf(CONTACT_CHANNELS)), required=True
    )


class AppointmentCancelledV1(Schema):
    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    slot_id = fields.UUID(load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    cancelled_by = fields.Str(required=True, validate=validate.OneOf(APPOINTMENT_ACTORS))


class AppointmentRescheduledV1(Schema):
    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    previous_slot_id = fields.UUID(required=True)
    previous_starts_at = fields.AwareDateTime(required=True)
    slot_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    rescheduled_by = fields.Str(required=True, validate=validate.OneOf(APPOINTMENT_ACTORS))


class AppointmentReminderDueV1(Schema):
    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    starts_at = fields.AwareDateTime(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(
        fields.Str(validate=validate.OneOf(CONTACT_CHANNELS)), required=True
    )


class WaitlistOfferMadeV1(Schema):
    """A place (a seat freed by a cancellation, or a leftover dose of an opened vial) is offered
    to a person on a clinic day's waitlist, who must accept it before `expires_at`."""

    waitlist_entry_id = fields.UUID(required=True)
    waitlist_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    clinic_day_id = fields.UUID(required=True)
    product_id = fields.Str(required=True)
    slot_id = fields.UUID(load_default=None, allow_none=True)
    kind = fields.Str(required=True, validate=validate.OneOf(["cancellation", "leftover_doses"]))
    expires_at = fields.AwareDateTime(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(
        fields.Str(validate=validate.OneOf(CONTACT_CHANNELS)), required=True
    )


class AppointmentCompletedV1(Schema):
    """The dose of an appointment was recorded. `next_dose_from` (the first day the series' next
    dose may be given) is set when the series has another dose."""

    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    administration_id = fields.UUID(required=True)
    recipient_id = fields.UUID(required=True)
    next_dose_from = fields.Date(load_default=None, allow_none=True)


class AppointmentReopenedV1(Schema):
    """The dose that completed an appointment was voided (entered in error, never given): the
    appointment is open again (`status` booked or checked_in), reversing appointment_completed.
    An unbooked next dose is withdrawn (`next_dose_withdrawn`); a next dose booked already is
    kept and named (`next_dose_appointment_id`) for the clinic to review."""

    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    status = fields.Str(required=True, validate=validate.OneOf(["booked", "checked_in"]))
    voided_administration_id = fields.UUID(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    next_dose_withdrawn = fields.Bool(required=True)
    next_dose_appointment_id = fields.UUID(load_default=None, allow_none=True)


@dataclass(frozen=True)
class Contract:
    source: str
    type: str
    version: int
    schema: Schema
    # The services that consume this event. The relay waits (a grace period) for their queues
    # to be bound before it gives an unroutable event up; an event nobody consumes yet is
    # published once and recorded as unroutable, not retried.
    subscribers: tuple[str, ...] = ()


CONTRACTS: dict[tuple[str, int], Contract] = {
    (c.type, c.version): c
    for c in (
        Contract("inventory", "lot_received", 1, LotReceivedV1(), ("administration", "scheduling")),
        Contract("inventory", "inventory_adjusted", 1, InventoryAdjustedV1(), ("scheduling",)),
        Contract(
            "inventory", "inventory_discrepancy_recorded", 1, InventoryDiscrepancyRecordedV1()
        ),
        Contract("inventory", "doses_wasted", 1, DosesWastedV1(), ("scheduling",)),
        Contract(
            "inventory", "lot_quarantined", 1, LotQuarantinedV1(), ("scheduling", "administration")
        ),
        Contract("inventory", "lot_released", 1, LotReleasedV1(), ("scheduling", "administration")),
        Contract("inventory", "lot_expiring", 1, LotExpiringV1()),
        Contract("inventory", "vial_opened", 1, VialOpenedV1()),
        Contract("inventory", "stock_low", 1, StockLowV1()),
        Contract("inventory", "product_updated", 1, ProductUpdatedV1(), ("administration",)),
        Contract(
            "administration",
            "dose_administered",
            1,
            DoseAdministeredV1(),
            ("inventory", "scheduling"),
        ),
        Contract(
            "administration",
            "administrations_imported",
            1,
            AdministrationsImportedV1(),
            ("inventory", "scheduling"),
        ),
        Contract("administration", "recipient_registered", 1, RecipientRegisteredV1()),
        Contract(
            "administration",
            "administration_voided",
            1,
            AdministrationVoidedV1(),
            ("inventory", "scheduling"),
        ),
        Contract(
            "administration",
            "administration_corrected",
            1,
            AdministrationCorrectedV1(),
            ("inventory",),
        ),
        # The gateway owns identity and enrollment, and publishes through its own outbox.
        Contract("gateway", "provider_enrolled", 1, ProviderEnrolledV1()),
        Contract("gateway", "location_enrolled", 1, LocationEnrolledV1(), ("scheduling",)),
        Contract("scheduling", "appointment_booked", 1, AppointmentBookedV1()),
        Contract("scheduling", "appointment_cancelled", 1, AppointmentCancelledV1()),
        Contract("scheduling", "appointment_rescheduled", 1, AppointmentRescheduledV1()),
        Contract("scheduling", "appointment_reminder_due", 1, AppointmentReminderDueV1()),
        Contract("scheduling", "waitlist_offer_made", 1, WaitlistOfferMadeV1()),
        Contract("scheduling", "appointment_completed", 1, AppointmentCompletedV1()),
        Contract("scheduling", "appointment_reopened", 1, AppointmentReopenedV1()),
        Contract("gateway", "user_invited", 1, UserInvitedV1()),
        Contract("gateway", "password_reset_requested", 1, PasswordResetRequestedV1()),
    )
}


def has_subscribers(event_type: str, version: int) -> bool:
    contract = CONTRACTS.get((event_type, version))
    return bool(contract and contract.subscribers)


def latest(event_type: str) -> Contract:
    versions = [c for (t, _), c in CONTRACTS.items() if t == event_type]
    if not versions:
        raise KeyError(f"no contract for event type {event_type!r}")
    return max(versions, key=lambda c: c.version)


def new_event(event_type: str, payload: dict[str, Any], *, correlation_id: str) -> Event:
    """Build an event of the latest contract version; raise ValueError if the payload breaks it."""
    contract = latest(event_type)
    try:
        wire = contract.schema.dump(payload)
    except (TypeError, ValueError, AttributeError) as exc:  # e.g. a date given as text
        raise ValueError(
            f"{event_type} v{contract.version} payload breaks its contract: {exc}"
        ) from exc
    errors = contract.schema.validate(wire)
    if errors:
        raise ValueError(f"{event_type} v{contract.version} payload breaks its contract: {errors}")
    return Event(
        type=event_type,
        version=contract.version,
        source=contract.source,
        payload=wire,
        correlation_id=correlation_id,
    )


def to_wire(event: Event) -> dict[str, Any]:
    return ENVELOPE.dump(
        {
            "id": event.id,
            "type": event.type,
            "version": event.version,
            "occurred_at": event.occurred_at,
            "source": event.source,
            "correlation_id": event.correlation_id,
            "payload": event.payload,
        }
    )


def parse(body: Any, *, source: str, event_type: str) -> Event:
    """Check an incoming message against the envelope and its contract; the payload is loaded."""
    if not isinstance(body, dict):
        raise ContractViolation("event body is not a JSON object")
    try:
        envelope = ENVELOPE.load(body)
    except ValidationError as exc:
        raise ContractViolation(f"bad envelope: {exc.messages}") from None
    if envelope["type"] != event_type or envelope["source"] != source:
        raise ContractViolation(
            f"expected {source}/{event_type}, got {envelope['source']}/{envelope['type']}"
        )
    contract = CONTRACTS.get((event_type, envelope["version"]))
    if contract is None:
        raise ContractViolation(f"unknown contract {event_type} v{envelope['version']}")
    try:
        payload = contract.schema.load(envelope["payload"])
    except ValidationError as exc:
        raise ContractViolation(
            f"payload breaks {event_type} v{contract.version}: {exc.messages}"
        ) from None
    return Event(
        id=str(envelope["id"]),
        type=event_type,
        version=envelope["version"],
        source=source,
        payload=payload,
        correlation_id=envelope["correlation_id"],
        occurred_at=envelope["occurred_at"],
    )
