"""What identity answers (and the enrollment form it checks), as the gateway documents it:
provider enrollment, users and their one-time links, locations, API keys, the audit log.

The enrollment form is the CVMS Provider Enrollment form: Section A is the organization;
Section B its locations, each with its initial users. A draft may be saved incomplete
(`partial`), and is checked completely when submitted."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cvms_platform.answers.common import LOCATION_ID
from cvms_platform.codes import API_KEY_SCOPES, INITIAL_ROLES
from cvms_platform.contracts.identity import Address

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
        metadata={
            "description": "One-time: POST it with a password to /auth/password/set. Only "
            "where the deployment sends no e-mail (CVMS_HAND_OUT_PASSWORD_LINKS)"
        }
    )
    expires_at = fields.AwareDateTime()
    sent_by_email = fields.Bool(
        metadata={"description": "The link was e-mailed to the user, and is not answered here"}
    )


class Approval(Schema):
    enrollment_id = fields.UUID()
    organization_id = fields.Str()
    location_ids = fields.List(fields.Str())
    invitations = fields.List(fields.Nested(InvitationLink))


# -- users, links, locations, API keys ------------------------------------------------------------
class PasswordLink(Schema):
    user_id = fields.UUID()
    link_id = fields.UUID()
    token = fields.Str(metadata={"description": "One-time: POST it to /auth/password/set"})
    expires_at = fields.AwareDateTime()
    sent_by_email = fields.Bool(
        metadata={"description": "A new user's link went to them by e-mail, not in this answer"}
    )


class UserView(Schema):
    id = fields.UUID()
    username = fields.Str()
    display_name = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    role = fields.Str()
    active = fields.Bool()
    organization_id = fields.Str(allow_none=True)
    location_ids = fields.List(fields.Str())
    locked_for_seconds = fields.Int(
        metadata={"description": "How long sign-in stays locked after failures (0: not locked)"}
    )
    created_at = fields.AwareDateTime()


class NewLocationUser(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Str(required=True, validate=validate.OneOf(INITIAL_ROLES))
    location_ids = fields.List(
        fields.Str(validate=LOCATION_ID), required=True, validate=validate.Length(min=1, max=100)
    )


class InvitedUser(Schema):
    user = fields.Nested(UserView)
    set_password = fields.Nested(PasswordLink)


class LocationSummary(Schema):
    id = fields.Str()
    name = fields.Str()
    organization_id = fields.Str(allow_none=True)


class NewApiKey(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(
        fields.Str(validate=validate.OneOf(API_KEY_SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(API_KEY_SCOPES)),
    )


class ApiKeyView(Schema):
    id = fields.UUID()
    organization_id = fields.Str()
    name = fields.Str()
    prefix = fields.Str(metadata={"description": "The key's first characters, to tell keys apart"})
    scopes = fields.List(fields.Str())
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    last_used_at = fields.AwareDateTime(allow_none=True)


class IssuedApiKey(ApiKeyView):
    key = fields.Str(metadata={"description": "Shown once: send it as the X-API-Key header"})


# -- the audit log --------------------------------------------------------------------------------
class AuditEventView(Schema):
    id = fields.Int()
    occurred_at = fields.AwareDateTime()
    actor_id = fields.Str(allow_none=True)
    actor_type = fields.Str()
    role = fields.Str(allow_none=True)
    ip = fields.Str()
    request_id = fields.Str(allow_none=True)
    method = fields.Str()
    route = fields.Str()
    action = fields.Str(metadata={"description": "read or change"})
    status = fields.Int()
    recipient_id = fields.Str(allow_none=True)
    location_id = fields.Str(allow_none=True)
    lot_id = fields.Str(allow_none=True)
    object_ids = fields.Dict(keys=fields.Str(), values=fields.Str())


class AuditPage(Schema):
    events = fields.List(fields.Nested(AuditEventView))
    page = fields.Int()
    next_page = fields.Int(allow_none=True)


class AuditQuery(Schema):
    actor = fields.Str(validate=validate.Length(min=1, max=64))
    recipient_id = fields.Str(validate=validate.Length(min=1, max=64))
    location_id = fields.Str(validate=validate.Length(min=1, max=64))
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
