"""marshmallow schemas for scheduling's RPC boundary (input) and its answers (output). The
answers' shapes are declared once, in cvms_platform.answers.scheduling (the gateway documents its
HTTP answers with them); here they are only bound to the service's records."""

from __future__ import annotations

from datetime import date, timedelta

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from cvms_platform.answers import scheduling as answers
from cvms_platform.answers.common import LOCATION_ID  # noqa: F401 - the service's, too
from cvms_platform.contracts.identity import Address
from cvms_platform.timeutil import utcnow

HHMM, PHONE, WEEKDAYS = answers.HHMM, answers.PHONE, answers.WEEKDAYS
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
    phone = fields.Str(load_default=None, allow_none=True, validate=PHONE)
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


class PersonSchema(answers.Person):
    phone = fields.Str(load_default=None, allow_none=True, validate=PHONE)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(load_default="en", validate=validate.OneOf(["en", "es"]))

    @post_load
    def _chosen_channels(self, data: dict, **kwargs) -> dict:
        """contact_preferences as the booking keeps them: a channel is chosen unless the person
        said no, and only where its address is given."""
        chosen = data.pop("contact_preferences", None) or {}
        data["contact_email"] = bool(data.get("email")) and chosen.get("email", True)
        data["contact_sms"] = bool(data.get("phone")) and chosen.get("sms", True)
        return data

    @validates("birth_date")
    def _plausible_birth_date(self, value: date, **kwargs):
        today = utcnow().date()
        if value > today:
            raise ValidationError("Not in the future.")
        if value < today - timedelta(days=366 * 130):
            raise ValidationError("Not a plausible birth date.")


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
class LocationSettingsOut(answers.LocationSettings):
    address = fields.Function(
        lambda s: {
            "line1": s.line1,
            "line2": s.line2,
            "city": s.city,
            "state": s.state,
            "zip": s.zip,
        }
    )
    hours = fields.Dict()  # as saved (checked by LocationSettingsSchema)


def _seats_left(slot) -> int:
    return max(0, slot.capacity - slot.booked) if slot.open else 0


class SlotOut(answers.Slot):
    available = fields.Function(_seats_left)


class PublicSlotOut(answers.PublicSlot):
    available = fields.Function(_seats_left)


class ClinicDayOut(answers.ClinicDay):
    """The clinic day's own record: answers add what CLINIC_DAY_EXTRAS name."""

    class Meta:
        exclude = answers.CLINIC_DAY_EXTRAS


class AppointmentPublicOut(answers.Appointment):
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


class AppointmentStaffOut(AppointmentPublicOut, answers.StaffAppointment):
    pass


HistoryOut = answers.HistoryEntry
WaitlistEntryPublicOut = answers.WaitlistEntry
WaitlistEntryStaffOut = answers.StaffWaitlistEntry
WalkInOut = answers.WalkIn
