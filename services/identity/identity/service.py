"""The identity service: who may sign in and what they act for (users, roles, organizations and
their locations), provider enrollment, one-time password links, partner API keys and the audit
log. The gateway authenticates people through it and signs their short-lived access tokens
itself; it verifies those tokens locally, without asking here per request."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from cvms_platform import validation
from cvms_platform.answers.identity import (
    ApiKeyView,
    Approval,
    AuditEventView,
    AuditQuery,
    EnrollmentStarted,
    EnrollmentSummary,
    EnrollmentView,
    InvitedUser,
    IssuedApiKey,
    LocationSummary,
    NewApiKey,
    NewLocationUser,
    PasswordLink,
    Rejection,
    UserView,
)
from cvms_platform.codes import ROLES
from cvms_platform.errors import Conflict, InvalidInput, NotFound
from cvms_platform.rpc import rpc
from cvms_platform.service import CvmsService
from cvms_platform.validation import limit as _limit
from cvms_platform.validation import text as _text
from identity import accounts, api_keys, audit_log, enrollment, locations, password_links
from identity import refresh_tokens as sessions
from identity.actors import Actor, actor
from identity.models import Organization, User
from identity.passwords import hash_password, verify_password
from identity.schemas import (
    AuditEventRecord,
    Credentials,
    NewPassword,
    RecipientAccount,
    RequesterRegistration,
)

log = logging.getLogger(__name__)

USER = UserView()
USERS = UserView(many=True)
LINK = PasswordLink()
KEY = ApiKeyView()
KEYS = ApiKeyView(many=True)
ISSUED_KEY = IssuedApiKey()
ENROLLMENT = EnrollmentView()
ENROLLMENTS = EnrollmentSummary(many=True)
LOCATIONS = LocationSummary(many=True)
AUDIT_EVENTS = AuditEventView(many=True)
# How long a password link of each kind may be used.
LINK_TTLS = {
    password_links.RESET: password_links.reset_ttl,
    password_links.INVITATION: password_links.invitation_ttl,
}
ENROLLMENT_STATUSES = (enrollment.SUBMITTED, enrollment.REJECTED, enrollment.APPROVED)


def _claims(session, user: User) -> dict:
    """What the gateway puts in an access token: who, their role, what they act for."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "organization_id": user.organization_id,
        "recipient_id": user.recipient_id,
        "location_ids": accounts.acts_for(session, user),
    }


def _session_answer(session, user: User, issued: sessions.Issued) -> dict:
    return {
        "user": _claims(session, user),
        "refresh_token": issued.token,
        "refresh_expires_at": issued.expires_at.isoformat(),
    }


def _link(link: password_links.IssuedLink, *, handed_out: bool = True) -> dict:
    """The link as PasswordLink has it (dump it with LINK, or nested in InvitedUser): with its
    token when it is `handed_out` to the caller, else only that it went by e-mail."""
    answer = {"user_id": link.user_id, "link_id": link.id, "expires_at": link.expires_at}
    if handed_out:
        answer["token"] = link.token
    answer["sent_by_email"] = not handed_out
    return answer


class IdentityService(CvmsService):
    name = "identity"

    # -- signing in ----------------------------------------------------------------------------
    @rpc
    def sign_in(self, credentials: dict) -> dict | None:
        """`{"username", "password"}` -> the user's claims and a new refresh token, or None
        (wrong username or password, or a deactivated user: the same None)."""
        given = validation.load(Credentials(), credentials)
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == given["username"]))
            if not verify_password(user, given["password"]):
                return None
            return _session_answer(session, user, sessions.issue(session, user.id))

    @rpc
    def refresh(self, refresh_token) -> dict | None:
        """Rotate a refresh token: the user's claims as they are now and the next token, or
        None. A rotated token presented again ends every session of its user."""
        token = _text(refresh_token, "refresh_token", most=200)
        try:
            with self.db.transaction() as session:
                user, issued = sessions.rotate(session, token)
                return _session_answer(session, user, issued)
        except sessions.Reused as reused:
            with self.db.transaction() as session:
                sessions.revoke_all(session, reused.user_id)
            return None
        except sessions.InvalidRefreshToken:
            return None

    @rpc
    def revoke_refresh_token(self, refresh_token, user_id) -> bool:
        """End one session of the user (logout); another user's token is left alone."""
        token = _text(refresh_token, "refresh_token", most=200)
        with self.db.transaction() as session:
            return sessions.revoke(session, token, _text(user_id, "user_id", most=64))

    # -- passwords -----------------------------------------------------------------------------
    @rpc
    def set_password(self, request: dict) -> dict:
        """`{"token", "password"}`: the link's user gets the password, becomes active, and
        every session of theirs ends. Answers `{"user_id"}` (the gateway revokes the user's
        access tokens, which it alone keeps track of)."""
        given = validation.load(NewPassword(), request)
        with self.db.transaction() as session:
            user = password_links.redeem(session, given["token"], given["password"])
            return {"user_id": user.id}

    @rpc
    def request_password_reset(self, username) -> None:
        """A reset link for an active user of this username (case folded), announced by
        `password_reset_requested`; nothing at all for an unknown or deactivated one."""
        name = _text(username, "username", most=254)
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(func.lower(User.username) == name.casefold()))
            if user is not None and user.active:
                self._issue(session, user, password_links.RESET, None)

    @rpc
    def issue_password_reset_link(self, caller: dict, user_id) -> dict:
        """A reset link for a user the caller may see, answered to hand on (help desk)."""
        who = actor(caller)
        with self.db.transaction() as session:
            user = accounts.visible(session, who, _text(user_id, "user_id", most=64))
            if not user.active:
                raise Conflict("The user is deactivated (or has not set a password yet).")
            link = self._issue(session, user, password_links.RESET, who.user_id)
            return LINK.dump(_link(link))

    @rpc
    def password_link_for_delivery(self, link_id) -> dict | None:
        """For the notifications service: a token of the link to e-mail (see
        `password_links.for_delivery`), or None if the link can no longer be used."""
        with self.db.transaction() as session:
            return password_links.for_delivery(session, _text(link_id, "link_id", most=64))

    # -- users ---------------------------------------------------------------------------------
    @rpc
    def get_account(self, user_id) -> dict:
        """The signed-in person's user (their display name, for the portal's header)."""
        with self.db.transaction() as session:
            user = _user(session, user_id)
            return USER.dump(accounts.view(session, user))

    @rpc
    def user_contact(self, user_id) -> dict:
        """Where to reach a user (for notifications): e-mail, name and whether they are active."""
        with self.db.transaction() as session:
            user = _user(session, user_id)
            return {
                "user_id": user.id,
                "email": user.email,
                "display_name": user.display_name,
                "active": user.active,
            }

    @rpc
    def location_staff(self, location_id, roles) -> list[str]:
        """The ids of the active users of these roles who act for the location (an
        organization's admins act for its locations): whom notifications tells about the
        location's stock."""
        if not isinstance(roles, list) or not set(roles) <= set(ROLES) or not roles:
            raise InvalidInput({"roles": ["A list of roles."]})
        with self.db.transaction() as session:
            return accounts.staff_of(session, _text(location_id, "location_id", most=64), roles)

    @rpc
    def find_users(self, caller: dict, query, limit) -> list[dict]:
        """Users whose username or e-mail starts with `query` (org admins: their own)."""
        who = actor(caller)
        text = _text(query or "", "q", most=254) or None
        with self.db.transaction() as session:
            found = accounts.find(session, who, text, _limit(limit))
            return USERS.dump([accounts.view(session, user) for user in found])

    @rpc
    def get_user(self, caller: dict, user_id) -> dict:
        with self.db.transaction() as session:
            user = accounts.visible(session, actor(caller), _text(user_id, "user_id", most=64))
            return USER.dump(accounts.view(session, user))

    @rpc
    def deactivate_user(self, caller: dict, user_id) -> dict:
        """No more sign-ins or refreshes for the user; their unused links die. The gateway
        ends their access tokens."""
        who = actor(caller)
        with self.db.transaction() as session:
            user = accounts.visible(session, who, _text(user_id, "user_id", most=64))
            accounts.deactivate(session, who, user)
            return USER.dump(accounts.view(session, user))

    @rpc
    def create_location_user(self, caller: dict, organization_id, new_user: dict) -> dict:
        """A location manager or vaccinator of the organization's locations, inactive until
        they set a password through the link answered (and announced by `user_invited`)."""
        who = actor(caller)
        given = validation.load(NewLocationUser(), new_user)
        with self.db.transaction() as session:
            organization = _organization(session, organization_id)
            user = accounts.create_location_user(
                session,
                organization.id,
                given["name"],
                given["email"],
                given["role"],
                given["location_ids"],
            )
            link = self._issue(session, user, password_links.INVITATION, who.user_id)
            handed_out = password_links.handed_out()
            answer = {
                "user": accounts.view(session, user),
                "set_password": _link(link, handed_out=handed_out),
            }
            return InvitedUser().dump(answer)

    @rpc
    def username_taken(self, username) -> bool:
        with self.db.transaction() as session:
            return accounts.username_taken(session, _text(username, "username", most=254))

    @rpc
    def create_recipient_account(self, account: dict) -> dict:
        """The account of a recipient whose claim administration has verified: `{"username",
        "password", "recipient_id"}`. Conflict `username_taken`, or `recipient_has_account`
        (a record has one account)."""
        given = validation.load(RecipientAccount(), account)
        password = hash_password(given["password"])
        return self.db.idempotent(
            lambda session: accounts.create_recipient_account(session, given, password)
        )

    # -- help-desk accounts (issue 15) ---------------------------------------------------------
    @rpc
    def register_requester(self, registration: dict) -> None:
        """`{"email", "password", "language"}`: a help-desk account, inactive until the address
        is verified by the link e-mailed to it (`email_verification_requested`). Answers
        nothing either way: an address taken already gets no account and no e-mail, an
        unverified one a new link. InvalidInput (`password`) for a password too weak."""
        given = validation.load(RequesterRegistration(), registration)
        email = given["email"].strip().lower()
        candidate = User(username=email, email=email, role="requester")
        if problems := password_links.password_problems(given["password"], candidate):
            raise InvalidInput({"password": problems})
        password = hash_password(given["password"])

        def register(session) -> None:
            user = accounts.register_requester(session, email, password)
            if user is not None:
                password_links.issue(
                    session,
                    user,
                    password_links.VERIFICATION,
                    ttl=password_links.verification_ttl(),
                    created_by=None,
                    correlation_id=self.correlation_id,
                    language=given["language"],
                )

        self.db.idempotent(register)

    @rpc
    def verify_requester(self, token) -> dict:
        """The link's help-desk account is verified and may sign in: `{"user_id", "username"}`.
        InvalidInput (`token`) for a link unknown, used or expired."""
        with self.db.transaction() as session:
            user = password_links.verify(session, _text(token, "token", most=200))
            return {"user_id": user.id, "username": user.username}

    # -- locations -----------------------------------------------------------------------------
    @rpc
    def location_names(self, location_ids) -> dict[str, str]:
        """`{id: name}` of the locations named that exist."""
        if not isinstance(location_ids, list) or len(location_ids) > 1000:
            raise InvalidInput({"location_ids": ["A list of at most 1000 location ids."]})
        ids = [value for value in location_ids if isinstance(value, str)]
        with self.db.transaction() as session:
            return locations.names(session, ids)

    @rpc
    def location_exists(self, location_id) -> bool:
        if not isinstance(location_id, str) or not 0 < len(location_id) <= 64:
            return False
        with self.db.transaction() as session:
            return locations.exists(session, location_id)

    @rpc
    def list_locations(self, caller: dict, text, limit) -> list[dict]:
        """The locations the caller acts for (state admins and the help desk: all), whose id
        or name contains `text`."""
        who: Actor = actor(caller)
        search = _text(text or "", "q", most=100).strip()
        with self.db.transaction() as session:
            found = locations.listed(session, who, search, _limit(limit))
            return LOCATIONS.dump([locations.summary(location) for location in found])

    # -- API keys ------------------------------------------------------------------------------
    @rpc
    def issue_api_key(self, caller: dict, organization_id, new_key: dict) -> dict:
        """A key for a partner system of the organization; the key is in this answer only."""
        who = actor(caller)
        given = validation.load(NewApiKey(), new_key)
        with self.db.transaction() as session:
            organization = _organization(session, organization_id)
            issued = api_keys.issue(
                session, organization.id, given["name"], given["scopes"], who.user_id
            )
            return ISSUED_KEY.dump({**api_keys.view(issued.row), "key": issued.key})

    @rpc
    def list_api_keys(self, organization_id) -> list[dict]:
        with self.db.transaction() as session:
            rows = api_keys.of_organization(session, _text(organization_id, "id", most=64))
            return KEYS.dump([api_keys.view(row) for row in rows])

    @rpc
    def revoke_api_key(self, organization_id, key_id) -> bool:
        """False if the organization has no such key."""
        with self.db.transaction() as session:
            return api_keys.revoke(
                session, _text(organization_id, "id", most=64), _text(key_id, "key_id", most=64)
            )

    @rpc
    def resolve_api_key(self, key) -> dict | None:
        """What an unrevoked key stands for: `{"key_id", "prefix", "organization_id",
        "location_ids", "scopes"}`, or None."""
        if not isinstance(key, str):
            return None
        with self.db.transaction() as session:
            return api_keys.resolve(session, key)

    # -- provider enrollment -------------------------------------------------------------------
    @rpc
    def start_enrollment(self, form: dict) -> dict:
        """A draft holding what was given; its edit token is in this answer only."""
        with self.db.transaction() as session:
            draft, token = enrollment.start(session, form)
            answer = {"id": draft.id, "edit_token": token, "status": draft.status}
            return EnrollmentStarted().dump(answer)

    @rpc
    def read_enrollment(self, enrollment_id, edit_token) -> dict:
        with self.db.transaction() as session:
            held = enrollment.held(session, _enrollment_id(enrollment_id), edit_token)
            return ENROLLMENT.dump(enrollment.view(held))

    @rpc
    def save_enrollment(self, enrollment_id, edit_token, form: dict) -> dict:
        with self.db.transaction() as session:
            held = enrollment.held(session, _enrollment_id(enrollment_id), edit_token, lock=True)
            enrollment.save(held, form)
            return ENROLLMENT.dump(enrollment.view(held))

    @rpc
    def submit_enrollment(self, enrollment_id, edit_token) -> dict:
        with self.db.transaction() as session:
            held = enrollment.held(session, _enrollment_id(enrollment_id), edit_token, lock=True)
            enrollment.submit(session, held)
            return ENROLLMENT.dump(enrollment.view(held))

    @rpc
    def list_enrollments(self, status, limit) -> list[dict]:
        if status not in ENROLLMENT_STATUSES:
            raise InvalidInput({"status": ["Must be submitted, rejected or approved."]})
        with self.db.transaction() as session:
            found = enrollment.submitted(session, status, _limit(limit))
            return ENROLLMENTS.dump([enrollment.summary(e) for e in found])

    @rpc
    def review_enrollment(self, enrollment_id) -> dict:
        with self.db.transaction() as session:
            found = enrollment.for_review(session, _enrollment_id(enrollment_id))
            return ENROLLMENT.dump(enrollment.view(found))

    @rpc
    def approve_enrollment(self, caller: dict, enrollment_id) -> dict:
        """Create the organization, its locations and users (inactive until they set a
        password), their links and the events, in one transaction."""
        who = actor(caller)
        with self.db.transaction() as session:
            found = enrollment.for_review(session, _enrollment_id(enrollment_id), lock=True)
            approved = enrollment.approve(
                session,
                found,
                who.user_id,
                link_ttl=password_links.invitation_ttl(),
                correlation_id=self.correlation_id,
            )
            handed_out = password_links.handed_out()
            answer = {
                "enrollment_id": found.id,
                "organization_id": approved.organization_id,
                "location_ids": approved.location_ids,
                "invitations": [
                    {
                        "user_id": invitation.user.id,
                        "username": invitation.user.username,
                        "role": invitation.user.role,
                        "link_id": invitation.link.id,
                        "expires_at": invitation.link.expires_at,
                        "sent_by_email": not handed_out,
                    }
                    | ({"set_password_token": invitation.link.token} if handed_out else {})
                    for invitation in approved.invitations
                ],
            }
            return Approval().dump(answer)

    @rpc
    def reject_enrollment(self, caller: dict, enrollment_id, rejection: dict) -> dict:
        who = actor(caller)
        reason = validation.load(Rejection(), rejection)["reason"]
        with self.db.transaction() as session:
            found = enrollment.for_review(session, _enrollment_id(enrollment_id), lock=True)
            enrollment.reject(found, reason, who.user_id)
            return ENROLLMENT.dump(enrollment.view(found))

    # -- the audit log -------------------------------------------------------------------------
    @rpc
    def record_audit_event(self, event: dict) -> None:
        """Add one event (the gateway's, for an audited request)."""
        loaded = validation.load(AuditEventRecord(), event)
        with self.db.transaction() as session:
            audit_log.record(session, loaded)

    @rpc
    def search_audit_events(self, query: dict) -> dict:
        """A page of events, newest first: `actor`, `recipient_id`, `location_id`, `from`,
        `to` (ISO 8601 with offset), `page` (50 a page)."""
        loaded = validation.load(AuditQuery(), query)
        with self.db.transaction() as session:
            found = audit_log.search(session, loaded)
            return {**found, "events": AUDIT_EVENTS.dump(found["events"])}

    def _issue(
        self, session, user: User, purpose: str, created_by: str | None
    ) -> password_links.IssuedLink:
        """A password link of `purpose` for the user, valid as long as its kind is."""
        return password_links.issue(
            session,
            user,
            purpose,
            ttl=LINK_TTLS[purpose](),
            created_by=created_by,
            correlation_id=self.correlation_id,
        )


def _user(session, user_id) -> User:
    user = session.get(User, _text(user_id, "user_id", most=64))
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user


def _organization(session, organization_id) -> Organization:
    found = session.get(Organization, validation.known_id(organization_id, "Organization"))
    if found is None:
        raise NotFound(f"Organization {organization_id} not found.")
    return found


def _enrollment_id(value) -> str:
    return validation.known_id(value, "Enrollment")
