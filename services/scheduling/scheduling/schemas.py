"""marshmallow schemas for scheduling's RPC boundary (input) and its answers (output)."""

from __future__ import annotations

from datetime import date, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from cvms_platform.contracts.identity import Address
from cvms_platform.timeutil import utcnow

LOCATION_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", error="Not a valid location id.")
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="A time as HH:MM (24 hours).")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME = validate.Length(min=1, max=100)
MAX_DAYS_PER_REQUEST = 62
MAX_SLOT_CAPACITY = 1000


class OpeningHours(Schema):
    opens = fields.Str(required=True, validate=HHMM)
    closes = fields.Str(required=True, validate=HHMM)

    @validates_schema
    def _closes_after_opening(self, data, **kwargs):
        if data["closes"] <= data["opens"]:
            raise ValidationError("Closes after it opens.", "closes")


class LocationSettingsSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    address = fields.Nested(Address, required=True)
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    time_zone = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9+() .-]{7,30}$", error="Not a phone number."),
    )
    website = fields.Url(load_default=None, allow_none=True, schemes={"https", "http"})
    hours = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.Nested(OpeningHours), validate=validate.Length(max=4)),
        load_default=dict,
    )
    products = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    walk_ins_accepted = fields.Bool(load_default=False)
    accepting_appointments = fields.Bool(load_default=False)
    published = fields.Bool(load_default=False)
    public_notes = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=2000)
    )

    @validates_schema
    def _both_coordinates_or_none(self, data, **kwargs):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError("Give both latitude and longitude, or neither.", "longitude")


class ClinicDaysSchema(Schema):
    """Clinic days with slots in bulk: every `every_minutes` from `opens` to `closes` (local
    time of the location) on each of `dates`, `capacity` people per slot, for one product."""

    dates = fields.List(
        fields.Date(), required=True, validate=validate.Length(min=1, max=MAX_DAYS_PER_REQUEST)
    )
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    opens = fields.Str(required=True, validate=HHMM)
    closes = fields.Str(required=True, validate=HHMM)
    every_minutes = fields.Int(required=True, strict=True, validate=validate.Range(min=5, max=240))
    capacity = fields.Int(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_SLOT_CAPACITY)
    )

    @validates_schema
    def _closes_after_opening(self, data, **kwargs):
        if data.get("opens") and data.get("closes") and data["closes"] <= data["opens"]:
            raise ValidationError("Closes after it opens.", "closes")


class CapacitySchema(Schema):
    capacity = fields.Int(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_SLOT_CAPACITY)
    )


class CloseDaySchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    # Move each booking to the same time (else the nearest free slot) on this other clinic day;
    # without it, or where nothing is free, the booking is cancelled. Either way with an event.
    move_to_clinic_day_id = fields.UUID(load_default=None, allow_none=True)


class PersonSchema(Schema):
    given_name = fields.Str(required=True, validate=NAME)
    family_name = fields.Str(required=True, validate=NAME)
    birth_date = fields.Date(required=True)
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9+() .-]{7,30}$", error="Not a phone number."),
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(load_default="en", validate=validate.OneOf(["en", "es"]))

    @validates("birth_date")
    def _plausible_birth_date(self, value: date, **kwargs):
        today = utcnow().date()
        if value > today:
            raise ValidationError("Not in the future.")
        if value < today - timedelta(days=366 * 130):
            raise ValidationError("Not a plausible birth date.")

    @validates_schema
    def _some_contact(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give a phone number or an e-mail address.", "phone")


class BookingSchema(PersonSchema):
    slot_id = fields.UUID(required=True)


class WaitlistJoinSchema(PersonSchema):
    clinic_day_id = fields.UUID(required=True)
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class SlotChoiceSchema(Schema):
    slot_id = fields.UUID(required=True)


class CancelSchema(Schema):
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class CheckInSchema(Schema):
    recipient_id = fields.UUID(load_default=None, allow_none=True)


class WalkInSchema(Schema):
    product_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    recipient_id = fields.UUID(load_default=None, allow_none=True)


class LocatorQuerySchema(Schema):
    zip = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{5}(-\d{4})?$"))
    latitude = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    longitude = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    radius_miles = fields.Float(load_default=25.0, validate=validate.Range(min=0.1, max=250))
    product_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    date = fields.Date(load_default=None)

    @validates_schema
    def _a_place(self, data, **kwargs):
        has_point = data.get("latitude") is not None and data.get("longitude") is not None
        if not data.get("zip") and not has_point:
            raise ValidationError("Give a ZIP code, or latitude and longitude.", "zip")


class SlotQuerySchema(Schema):
    date_from = fields.Date(load_default=None)
    days = fields.Int(load_default=7, validate=validate.Range(min=1, max=31))
    product_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))


# -- answers --------------------------------------------------------------------------------------
class LocationSettingsOut(Schema):
    location_id = fields.Str()
    organization_id = fields.Str(allow_none=True)
    name = fields.Str()
    address = fields.Function(
        lambda s: {
            "line1": s.line1,
            "line2": s.line2,
            "city": s.city,
            "state": s.state,
            "zip": s.zip,
        }
    )
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    time_zone = fields.Str()
    phone = fields.Str(allow_none=True)
    website = fields.Str(allow_none=True)
    hours = fields.Dict()
    products = fields.List(fields.Str())
    walk_ins_accepted = fields.Bool()
    accepting_appointments = fields.Bool()
    published = fields.Bool()
    public_notes = fields.Str(allow_none=True)
    updated_at = fields.AwareDateTime()
    updated_by = fields.Str()


class SlotOut(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Int()
    booked = fields.Int()
    available = fields.Function(lambda s: max(0, s.capacity - s.booked) if s.open else 0)
    open = fields.Bool()


class PublicSlotOut(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    product_id = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    available = fields.Function(lambda s: max(0, s.capacity - s.booked) if s.open else 0)


class ClinicDayOut(Schema):
    id = fields.Str()
    location_id = fields.Str()
    date = fields.Date()
    status = fields.Str()
    created_at = fields.AwareDateTime()
    created_by = fields.Str()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_by = fields.Str(allow_none=True)
    close_reason = fields.Str(allow_none=True)


class AppointmentPublicOut(Schema):
    """What the holder of a confirmation code sees: what they gave, and where and when."""

    confirmation_code = fields.Str()
    status = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    dose_number = fields.Int()
    slot_id = fields.Str(allow_none=True)
    starts_at = fields.AwareDateTime()
    given_name = fields.Str()
    family_name = fields.Str()
    birth_date = fields.Date()
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    preferred_language = fields.Str()
    next_dose = fields.Method("_next_dose")

    def _next_dose(self, appointment):
        if appointment.next_dose_from is None:
            return None
        return {
            "dose_number": appointment.next_dose_number,
            "eligible_from": appointment.next_dose_from.isoformat(),
            "location_id": appointment.location_id,
            "product_id": appointment.product_id,
            "booked": appointment.next_dose_appointment_id is not None,
        }


class AppointmentStaffOut(AppointmentPublicOut):
    id = fields.Str()
    recipient_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class HistoryOut(Schema):
    action = fields.Str()
    actor = fields.Str()
    reason = fields.Str(allow_none=True)
    details = fields.Dict()
    at = fields.AwareDateTime()


class WaitlistEntryPublicOut(Schema):
    code = fields.Str()
    status = fields.Str()
    location_id = fields.Str()
    clinic_day_id = fields.Str()
    product_id = fields.Str()
    joined_at = fields.AwareDateTime()
    offer_kind = fields.Str(allow_none=True)
    offered_slot_id = fields.Str(allow_none=True)
    offer_expires_at = fields.AwareDateTime(allow_none=True)


class WaitlistEntryStaffOut(WaitlistEntryPublicOut):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    appointment_id = fields.Str(allow_none=True)


class WalkInOut(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    recipient_id = fields.Str(allow_none=True)
    recorded_at = fields.AwareDateTime()
    recorded_by = fields.Str()
