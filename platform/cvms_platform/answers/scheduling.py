"""What scheduling answers over RPC: clinic days and their slots, walk-ins, appointments (as
their holder and as staff see them) with their history, and waitlist entries.

Scheduling dumps its records with these classes; where one of its answers adds keys to a record
(a clinic day's `slots_added`, or its `capacity` and `booked` in a listing), the class declares
them too and the service dumps the record without them (`exclude`). A field the service computes
from its record (a slot's `available`, an appointment's `next_dose`) is declared here as it is
answered, and the service's subclass says how it is computed. The gateway documents its HTTP
answers with the same classes.

A location's public settings are answered as the form they are saved with
(LocationSettingsRequest, which the gateway checks a request body with) and four fields more;
the service checks the form again, with defaults of its own (scheduling.schemas)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.contracts.identity import Address

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="A time as HH:MM (24 hours).")
PHONE = validate.Regexp(r"^[0-9+() .-]{7,30}$", error="Not a phone number.")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
APPOINTMENT_STATUSES = ("booked", "checked_in", "completed", "cancelled", "no_show")
WAITLIST_STATUSES = ("waiting", "offered", "accepted", "expired", "withdrawn")


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


class BookingContactPreferences(Schema):
    """How the person wants to hear about their booking. A channel left out is chosen when its
    address is given (an e-mail address, a phone number to text)."""

    email = fields.Bool(metadata={"description": "E-mail me about this booking"})
    sms = fields.Bool(metadata={"description": "Text me about this booking"})


class Person(Schema):
    """Who books or joins a waitlist, as the gateway takes it and scheduling checks it again: a
    name, a birth date and a way to reach them (each side adds the contact fields, which it
    defaults differently), and the channels they choose."""

    given_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)
    contact_preferences = fields.Nested(
        BookingContactPreferences, load_default=None, allow_none=True
    )

    @validates_schema
    def _some_contact(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give a phone number or an e-mail address.", "phone")
        chosen = data.get("contact_preferences") or {}
        needs = {
            "email": ("email", "To be e-mailed, give an e-mail address."),
            "sms": ("phone", "To get text messages, give a phone number."),
        }
        missing = [
            message
            for channel, (field, message) in needs.items()
            if chosen.get(channel) and not data.get(field)
        ]
        if missing:
            raise ValidationError(missing, "contact_preferences")


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


# What the service adds to a clinic day's record in some answers (see ClinicDay).
CLINIC_DAY_EXTRAS = ("slots_added", "capacity", "booked")


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


class NextDose(Schema):
    dose_number = fields.Int()
    eligible_from = fields.Date()
    location_id = fields.Str()
    product_id = fields.Str()
    booked = fields.Bool()


class Appointment(Schema):
    """What the holder of the confirmation code sees: what they gave, where and when."""

    confirmation_code = fields.Str(metadata={"example": "K7M2QX9PTA"})
    status = fields.Str(validate=validate.OneOf(APPOINTMENT_STATUSES))
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


class WaitlistEntry(Schema):
    code = fields.Str(metadata={"description": "Keep it: it shows and accepts an offer"})
    status = fields.Str(validate=validate.OneOf(WAITLIST_STATUSES))
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
