"""The HTTP contract of scheduling: the public locator and self-scheduling, and the clinic's
side (public settings, clinic days and slots, check-in, waitlists)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.contracts.identity import Address

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="A time as HH:MM (24 hours).")
PHONE = validate.Regexp(r"^[0-9+() .-]{7,30}$", error="Not a phone number.")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRODUCT = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class OpeningHours(Schema):
    opens = fields.Str(required=True, validate=HHMM, metadata={"example": "09:00"})
    closes = fields.Str(required=True, validate=HHMM, metadata={"example": "17:00"})


class LocationSettingsRequest(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    address = fields.Nested(Address, required=True)
    latitude = fields.Float(
        allow_none=True,
        validate=validate.Range(-90, 90),
        metadata={"description": "Default: the ZIP code's centroid"},
    )
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    time_zone = fields.Str(
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "IANA zone; default: the ZIP code's"},
    )
    phone = fields.Str(allow_none=True, validate=PHONE)
    website = fields.Url(allow_none=True, schemes={"https", "http"})
    hours = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.Nested(OpeningHours)),
        metadata={"description": "Opening hours per weekday (local time); absent: closed"},
    )
    products = fields.List(fields.Str(validate=validate.Length(min=1, max=64)))
    walk_ins_accepted = fields.Bool()
    accepting_appointments = fields.Bool()
    published = fields.Bool(metadata={"description": "Shown on the public locator and feed"})
    public_notes = fields.Str(allow_none=True, validate=validate.Length(max=2000))


class LocationSettings(LocationSettingsRequest):
    location_id = fields.Str()
    organization_id = fields.Str(allow_none=True)
    updated_at = fields.AwareDateTime()
    updated_by = fields.Str()


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


class ClinicDay(Schema):
    id = fields.Str()
    location_id = fields.Str()
    date = fields.Date()
    status = fields.Str(validate=validate.OneOf(["open", "closed"]))
    created_at = fields.AwareDateTime()
    created_by = fields.Str()
    closed_at = fields.AwareDateTime(allow_none=True)
    closed_by = fields.Str(allow_none=True)
    close_reason = fields.Str(allow_none=True)
    slots_added = fields.Int(metadata={"description": "Creation answers only"})
    capacity = fields.Int(metadata={"description": "Listing answers only"})
    booked = fields.Int(metadata={"description": "Listing answers only"})


class Slot(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Int()
    booked = fields.Int()
    available = fields.Int()
    open = fields.Bool()


class PublicSlot(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    product_id = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    available = fields.Int()


class WalkIn(Schema):
    id = fields.Str()
    clinic_day_id = fields.Str()
    location_id = fields.Str()
    product_id = fields.Str()
    recipient_id = fields.Str(allow_none=True)
    recorded_at = fields.AwareDateTime()
    recorded_by = fields.Str()


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


class Person(Schema):
    given_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)
    phone = fields.Str(allow_none=True, validate=PHONE)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    preferred_language = fields.Str(validate=validate.OneOf(["en", "es"]))

    @validates_schema
    def _some_contact(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give a phone number or an e-mail address.", "phone")


class BookingRequest(Person):
    slot_id = fields.UUID(required=True)


class SlotChoice(Schema):
    slot_id = fields.UUID(required=True)


class CancelRequest(Schema):
    reason = fields.Str(allow_none=True, validate=validate.Length(max=2000))


class StaffCancelRequest(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class NextDose(Schema):
    dose_number = fields.Int()
    eligible_from = fields.Date()
    location_id = fields.Str()
    product_id = fields.Str()
    booked = fields.Bool()


class Appointment(Schema):
    """What the holder of the confirmation code sees: what they gave, where and when."""

    confirmation_code = fields.Str(metadata={"example": "K7M2QX9PTA"})
    status = fields.Str(
        validate=validate.OneOf(["booked", "checked_in", "completed", "cancelled", "no_show"])
    )
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
    next_dose = fields.Nested(NextDose, allow_none=True)


class StaffAppointment(Appointment):
    id = fields.Str()
    recipient_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class HistoryEntry(Schema):
    action = fields.Str()
    actor = fields.Str()
    reason = fields.Str(allow_none=True)
    details = fields.Dict()
    at = fields.AwareDateTime()


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


class WaitlistEntry(Schema):
    code = fields.Str(metadata={"description": "Keep it: it shows and accepts an offer"})
    status = fields.Str(
        validate=validate.OneOf(["waiting", "offered", "accepted", "expired", "withdrawn"])
    )
    location_id = fields.Str()
    clinic_day_id = fields.Str()
    product_id = fields.Str()
    joined_at = fields.AwareDateTime()
    offer_kind = fields.Str(allow_none=True)
    offered_slot_id = fields.Str(allow_none=True)
    offer_expires_at = fields.AwareDateTime(allow_none=True)


class StaffWaitlistEntry(WaitlistEntry):
    id = fields.Str()
    given_name = fields.Str()
    family_name = fields.Str()
    appointment_id = fields.Str(allow_none=True)


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
