"""The HTTP contract of provider enrollment (the CVMS Provider Enrollment form).

Section A is the organization; Section B its locations, each with its initial users. A draft
may be saved incomplete (`partial`), and is checked completely when submitted."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.contracts.identity import Address
from gateway.schemas import INITIAL_ROLES, LOCATION_ID

LOCATION_TYPES = (
    "clinic",
    "pharmacy",
    "hospital",
    "health_department",
    "long_term_care",
    "mass_vaccination_site",
    "mobile_unit",
    "other",
)
PHONE = validate.Regexp(r"^\+?[0-9 ()./-]{7,30}$", error="Not a valid phone number.")
NAME = validate.Length(min=1, max=200)


class ChiefMedicalOfficer(Schema):
    name = fields.Str(required=True, validate=NAME)
    license_number = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class Contact(Schema):
    name = fields.Str(required=True, validate=NAME)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.Str(required=True, validate=PHONE)


class Organization(Schema):
    """Section A."""

    legal_name = fields.Str(required=True, validate=NAME)
    address = fields.Nested(Address, required=True)
    chief_medical_officer = fields.Nested(ChiefMedicalOfficer, required=True)
    primary_contact = fields.Nested(
        Contact,
        required=True,
        metadata={"description": "Becomes the organization's admin when approved"},
    )
    backup_contact = fields.Nested(Contact, required=True)


class StorageCapacity(Schema):
    refrigerated_doses = fields.Int(required=True, validate=validate.Range(min=0, max=10_000_000))
    frozen_doses = fields.Int(required=True, validate=validate.Range(min=0, max=10_000_000))
    ultra_cold_doses = fields.Int(required=True, validate=validate.Range(min=0, max=10_000_000))


class InitialUser(Schema):
    name = fields.Str(required=True, validate=NAME)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Str(required=True, validate=validate.OneOf(INITIAL_ROLES))


class EnrolledLocation(Schema):
    """Section B: one location and its initial users."""

    id = fields.Str(required=True, validate=LOCATION_ID)
    name = fields.Str(required=True, validate=NAME)
    address = fields.Nested(Address, required=True)
    phone = fields.Str(required=True, validate=PHONE)
    type = fields.Str(required=True, validate=validate.OneOf(LOCATION_TYPES))
    storage_capacity = fields.Nested(StorageCapacity, required=True)
    users = fields.List(
        fields.Nested(InitialUser), required=True, validate=validate.Length(min=1, max=200)
    )


class EnrollmentForm(Schema):
    """The whole form: as saved (possibly incomplete) or as submitted (complete)."""

    organization = fields.Nested(Organization, required=True)
    locations = fields.List(
        fields.Nested(EnrolledLocation), required=True, validate=validate.Length(min=1, max=100)
    )

    @validates_schema
    def _consistent(self, data, partial=None, **kwargs):
        if partial:
            return
        errors: dict = {}
        ids = [location["id"] for location in data["locations"]]
        if len(set(ids)) != len(ids):
            errors["locations"] = ["Each location needs its own id."]
        roles: dict[str, str] = {}
        primary = data["organization"]["primary_contact"]["email"].casefold()
        for index, location in enumerate(data["locations"]):
            if not any(u["role"] == "location_manager" for u in location["users"]):
                errors.setdefault(f"locations.{index}.users", []).append(
                    "Each location needs a location manager."
                )
            for user in location["users"]:
                email = user["email"].casefold()
                if email == primary:
                    errors.setdefault(f"locations.{index}.users", []).append(
                        "The primary contact becomes the organization's admin; list other people."
                    )
                elif roles.setdefault(email, user["role"]) != user["role"]:
                    errors.setdefault(f"locations.{index}.users", []).append(
                        f"{user['email']} is listed with two roles; give one."
                    )
        if errors:
            raise ValidationError(errors)


class EnrollmentStarted(Schema):
    id = fields.UUID()
    edit_token = fields.Str(
        metadata={
            "description": "Shown once: send it as X-Enrollment-Token to read, save or submit"
        }
    )
    status = fields.Str()


class EnrollmentView(Schema):
    id = fields.UUID()
    status = fields.Str(metadata={"description": "draft, submitted, approved or rejected"})
    organization = fields.Dict()
    locations = fields.List(fields.Dict())
    rejection_reason = fields.Str(allow_none=True)
    organization_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class EnrollmentSummary(Schema):
    id = fields.UUID()
    status = fields.Str()
    legal_name = fields.Str(allow_none=True)
    location_count = fields.Int()
    submitted_at = fields.AwareDateTime(allow_none=True)


class EnrollmentList(Schema):
    enrollments = fields.List(fields.Nested(EnrollmentSummary))


class Rejection(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class InvitationLink(Schema):
    user_id = fields.UUID()
    username = fields.Str()
    role = fields.Str()
    link_id = fields.UUID()
    set_password_token = fields.Str(
        metadata={"description": "One-time: POST it with a password to /auth/password/set"}
    )
    expires_at = fields.AwareDateTime()


class Approval(Schema):
    enrollment_id = fields.UUID()
    organization_id = fields.Str()
    location_ids = fields.List(fields.Str())
    invitations = fields.List(fields.Nested(InvitationLink))
