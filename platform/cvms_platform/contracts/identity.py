"""The events of the identity service: providers and locations enrolled, users invited,
password resets."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cvms_platform.envelope import Contract


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


class EmailVerificationRequestedV1(Schema):
    """A help-desk account was registered (or registered again before it was verified): a
    one-time link verifies its address. Ids, the link's expiry and the e-mail's language only."""

    user_id = fields.UUID(required=True)
    link_id = fields.UUID(required=True)
    expires_at = fields.AwareDateTime(required=True)
    language = fields.Str(load_default="en", validate=validate.OneOf(("en", "es")))


CONTRACTS = (
    Contract("identity", "provider_enrolled", 1, ProviderEnrolledV1()),
    Contract("identity", "location_enrolled", 1, LocationEnrolledV1(), ("scheduling",)),
    Contract("identity", "user_invited", 1, UserInvitedV1()),
    Contract("identity", "password_reset_requested", 1, PasswordResetRequestedV1()),
    Contract(
        "identity",
        "email_verification_requested",
        1,
        EmailVerificationRequestedV1(),
        ("notifications",),
    ),
)
