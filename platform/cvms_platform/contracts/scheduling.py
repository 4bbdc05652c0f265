"""The events the scheduling service publishes: appointments and waitlists. No personal data
(names, birth dates, phone numbers, e-mail addresses) travels: ids, confirmation codes, places
and times, language and channels."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.codes import APPOINTMENT_ACTORS, CHANNELS
from cvms_platform.envelope import Contract


class AppointmentBookedV1(Schema):
    appointment_id = fields.UUID(required=True)
    confirmation_code = fields.Str(required=True, validate=validate.Length(min=6, max=20))
    location_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    product_id = fields.Str(required=True)
    dose_number = fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=10))
    slot_id = fields.UUID(load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(required=True)
    preferred_language = fields.Str(required=True, validate=validate.OneOf(["en", "es"]))
    contact_channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), required=True)


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
    contact_channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), required=True)


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
    contact_channels = fields.List(fields.Str(validate=validate.OneOf(CHANNELS)), required=True)


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


CONTRACTS = (
    Contract("scheduling", "appointment_booked", 1, AppointmentBookedV1()),
    Contract("scheduling", "appointment_cancelled", 1, AppointmentCancelledV1()),
    Contract("scheduling", "appointment_rescheduled", 1, AppointmentRescheduledV1()),
    Contract("scheduling", "appointment_reminder_due", 1, AppointmentReminderDueV1()),
    Contract("scheduling", "waitlist_offer_made", 1, WaitlistOfferMadeV1()),
    Contract("scheduling", "appointment_completed", 1, AppointmentCompletedV1()),
    Contract("scheduling", "appointment_reopened", 1, AppointmentReopenedV1()),
)
