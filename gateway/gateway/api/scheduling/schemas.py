"""The HTTP contract of scheduling: the public locator and self-scheduling, and the clinic's
side (public settings, clinic days and slots, check-in, waitlists)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.answers import scheduling as answers
from cvms_platform.contracts.identity import Address

HHMM = answers.HHMM
PHONE = answers.PHONE
PRODUCT = fields.Str(required=True, validate=validate.Length(min=1, max=64))
LocationSettingsRequest = answers.LocationSettingsRequest
LocationSettings = answers.LocationSettings


class ProductAvailability(Schema):
    product_id = fields.Str()
    stock_status = fields.Str(
        validate=validate.OneOf(["in_stock", "call_to_confirm", "out_of_stock"]),
        metadata={
            "description": "In stock: usable doses, stock updated within 29 days; call to "
            "confirm: usable doses, older update; out of stock otherwise"
        },
    )
    stock_updated_at = fields.AwareDateTime(allow_none=True)
    appointments_available = fields.Int(
        metadata={"description": "Free seats on the date asked for, else in the coming 7 days"}
    )


class PublicLocation(Schema):
    location_id = fields.Str()
    name = fields.Str()
    address = fields.Nested(Address)
    latitude = fields.Float()
    longitude = fields.Float()
    time_zone = fields.Str()
    phone = fields.Str(allow_none=True)
    website = fields.Str(allow_none=True)
    hours = fields.Dict()
    walk_ins_accepted = fields.Bool()
    accepting_appointments = fields.Bool()
    public_notes = fields.Str(allow_none=True)
    products = fields.List(fields.Nested(ProductAvailability))
    distance_miles = fields.Float(metadata={"description": "Locator answers only"})
    updated_at = fields.AwareDateTime(metadata={"description": "When the settings last changed"})


class ClinicDaysRequest(Schema):
    dates = fields.List(fields.Date(), required=True, validate=validate.Length(min=1, max=62))
    product_id = PRODUCT
    opens = fields.Str(required=True, validate=HHMM, metadata={"example": "09:00"})
    closes = fields.Str(required=True, validate=HHMM, metadata={"example": "17:00"})
    every_minutes = fields.Int(required=True, strict=True, validate=validate.Range(min=5, max=240))
    capacity = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "People per slot"},
    )


ClinicDay = answers.ClinicDay
Slot = answers.Slot
PublicSlot = answers.PublicSlot
WalkIn = answers.WalkIn


class ClinicDayDetail(ClinicDay):
    slots = fields.List(fields.Nested(Slot))
    walk_ins = fields.List(fields.Nested(WalkIn))
    waitlist_waiting = fields.Int()


class CapacityRequest(Schema):
    capacity = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=1000))


class CloseDayRequest(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    move_to_clinic_day_id = fields.UUID(
        allow_none=True,
        metadata={
            "description": "Move each booking here (same time, else the nearest free slot); "
            "without it, or where nothing is free, bookings are cancelled. Each gets an event."
        },
    )


class ClosedDay(ClinicDay):
    moved = fields.List(fields.Str(), metadata={"description": "Appointment ids moved"})
    cancelled = fields.List(fields.Str(), metadata={"description": "Appointment ids cancelled"})


class Person(answers.Person):
    phone = fields.Str(allow_none=True, validate=PHONE)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=validate.OneOf(["en", "es"]))


class BookingRequest(Person):
    slot_id = fields.UUID(required=True)


class SlotChoice(Schema):
    slot_id = fields.UUID(required=True)


class CancelRequest(Schema):
    reason = fields.Str(allow_none=True, validate=validate.Length(max=2000))


class StaffCancelRequest(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


NextDose = answers.NextDose
Appointment = answers.Appointment
StaffAppointment = answers.StaffAppointment
HistoryEntry = answers.HistoryEntry


class AppointmentWithHistory(StaffAppointment):
    history = fields.List(fields.Nested(HistoryEntry))


class NextDoseSlots(Schema):
    next_dose = fields.Nested(NextDose)
    slots = fields.List(fields.Nested(PublicSlot))


class CheckInRequest(Schema):
    recipient_id = fields.UUID(
        allow_none=True,
        metadata={"description": "The registered recipient: links the dose recorded next"},
    )


class WalkInRequest(Schema):
    product_id = PRODUCT
    recipient_id = fields.UUID(allow_none=True)


class WaitlistRequest(Person):
    clinic_day_id = fields.UUID(required=True)
    product_id = PRODUCT


WaitlistEntry = answers.WaitlistEntry
StaffWaitlistEntry = answers.StaffWaitlistEntry


class StockStatus(Schema):
    status = fields.Str()
    doses_usable = fields.Int()
    updated_at = fields.AwareDateTime()


class PublicClinicDay(Schema):
    clinic_day_id = fields.Str()
    date = fields.Date()
    product_id = fields.Str()
    available = fields.Int(metadata={"description": "Free seats; 0: full (join its waitlist)"})


class PublicLocationDetail(PublicLocation):
    clinic_days = fields.List(
        fields.Nested(PublicClinicDay),
        metadata={"description": "Open clinic days of the next 14 days, per product"},
    )


class PublicProduct(Schema):
    """What the public may know of a product: its name, cap colour and who it is for."""

    id = fields.Str(metadata={"example": "pfizer-gray-12plus"})
    name = fields.Str()
    manufacturer = fields.Str()
    cap_color = fields.Str()
    labels = fields.Dict(
        keys=fields.Str(),
        values=fields.Str(),
        metadata={"description": "Named for a person, per language (cap colour once)"},
    )
    min_age_years = fields.Int()
    series_doses = fields.Int()
    min_interval_days = fields.Int()
