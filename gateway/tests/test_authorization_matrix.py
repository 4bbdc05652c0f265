"""The authorization matrix, generated from the OpenAPI document: every operation × every role
(and anonymous) × own / foreign location → the status the declaration promises.

Operations are read from /api/v1/openapi.json, never listed here, so a route added later is
checked the day it is added. A route that declares no roles fails `test_every_operation_
declares_who_may_call_it` unless it is knowingly added to PUBLIC_OPERATIONS below.
"""

import copy
import re
import uuid

import pytest

from cvms_platform.codes import API_KEY_SCOPES, ROLES
from cvms_platform.errors import NotFound
from gateway.security import issue_token
from identity.models import User

# Operations anyone may call. Adding one here is a security decision: review it as such.
PUBLIC_OPERATIONS = {
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    # A one-time link's token, or a username (always 202): nothing to sign in with yet.
    ("post", "/api/v1/auth/password/set"),
    ("post", "/api/v1/auth/password/reset-requests"),
    # An applicant's enrollment draft, held by its edit token (X-Enrollment-Token).
    ("post", "/api/v1/enrollments"),
    # A recipient claims their account with details from their vaccination card (no account
    # yet to sign in with); throttled per identity and per address.
    ("post", "/api/v1/recipient-accounts"),
    ("get", "/api/v1/enrollments/{enrollment_id}"),
    ("put", "/api/v1/enrollments/{enrollment_id}"),
    ("post", "/api/v1/enrollments/{enrollment_id}/submit"),
    # The public locator and self-scheduling: no login by design; a booking's confirmation code
    # (or a waitlist entry's code) is its credential. Rate-limited per address.
    ("get", "/api/v1/public/locations"),
    ("get", "/api/v1/public/locations/feed"),
    ("get", "/api/v1/public/locations/{location_id}/slots"),
    ("get", "/api/v1/public/locations/{location_id}"),
    ("get", "/api/v1/public/products"),
    ("post", "/api/v1/public/appointments"),
    ("get", "/api/v1/public/appointments/{code}"),
    ("post", "/api/v1/public/appointments/{code}/cancel"),
    ("post", "/api/v1/public/appointments/{code}/reschedule"),
    ("get", "/api/v1/public/appointments/{code}/next-dose"),
    ("post", "/api/v1/public/appointments/{code}/next-dose"),
    ("post", "/api/v1/public/waitlist"),
    ("get", "/api/v1/public/waitlist/{code}"),
    ("post", "/api/v1/public/waitlist/{code}/accept"),
    # Twilio's inbound SMS webhook (STOP/START): no CVMS caller, but Twilio's signature of the
    # request (X-Twilio-Signature) is required, or 403 before any service is asked.
    ("post", "/api/v1/sms/inbound"),
    ("post", "/api/v1/public/reminders/stop"),
    # Anyone registers a help-desk account (always 202) and verifies its address with the
    # one-time link e-mailed to it.
    ("post", "/api/v1/helpdesk/accounts"),
    ("post", "/api/v1/helpdesk/accounts/verify"),
    # The published knowledge-base articles: anyone reads and searches them.
    ("get", "/api/v1/helpdesk/articles"),
    ("get", "/api/v1/helpdesk/articles/{article_id}"),
}
# Public operations that verify a signature instead: unsigned, as the matrix calls them, they
# are refused (403) to everyone.
SIGNED_OPERATIONS = {("post", "/api/v1/sms/inbound")}
DEMO_USER_OF_ROLE = {
    "state_admin": "state.admin",
    "location_manager": "clinic.manager",
    "vaccinator": "clinic.vaccinator",
    "helpdesk": "helpdesk.agent",
    "org_admin": "org.admin",
}
OWN_LOCATION = "demo-clinic"  # the demo manager and vaccinator act for it
FOREIGN_LOCATION = "other-clinic"
OWN_ORGANIZATION = "demo-org"  # owns demo-clinic; the demo org admin's
FOREIGN_ORGANIZATION = "other-org"
METHODS = {"get", "put", "post", "patch", "delete"}


class AnsweringPool:
    """Every service call fails with NotFound (a 404), so a call that passes the access rules
    ends in a 4xx without any real service, and calls are counted. Identity's are identity's
    own (which locations exist, the audit log, API keys), and not counted: the gateway asks it
    about every request, refused or not."""

    def __init__(self, identity):
        self.calls: list[str] = []
        self.identity = identity

    def services(self, correlation_id):
        pool = self

        class Service:
            def __init__(self, name):
                self.name = name

            def __getattr__(self, method):
                def call(*args):
                    if self.name == "identity":
                        return pool.identity.call(method, args)
                    pool.calls.append(f"{self.name}.{method}")
                    raise NotFound("Nothing here (authorization matrix).")

                return call

        class Cluster:
            def __getattr__(self, service):
                return Service(service)

        class Context:
            def __enter__(self):
                return Cluster()

            def __exit__(self, *exc):
                return False

        return Context()

    def close(self):
        pass


def operations(spec: dict):
    for path, item in sorted(spec["paths"].items()):
        for method, operation in sorted(item.items()):
            if method in METHODS:
                yield method, path, operation


def undeclared(spec: dict) -> list[str]:
    """Operations that neither declare roles (with bearer security) nor are known public."""
    problems = []
    for method, path, operation in operations(spec):
        if (method, path) in PUBLIC_OPERATIONS:
            if "x-roles" in operation or "security" in operation:
                problems.append(f"{method.upper()} {path}: listed public but declares roles")
            continue
        roles = operation.get("x-roles")
        if not roles:
            problems.append(f"{method.upper()} {path}: no x-roles")
            continue
        if unknown := set(roles) - set(ROLES):
            problems.append(f"{method.upper()} {path}: unknown roles {sorted(unknown)}")
        if (operation.get("security") or [None])[0] != {"bearer": []}:
            problems.append(f"{method.upper()} {path}: no bearer security")
        if "x-location-scoped" not in operation:
            problems.append(f"{method.upper()} {path}: no x-location-scoped")
        elif operation["x-location-scoped"] and "{location_id}" not in path:
            problems.append(f"{method.upper()} {path}: location-scoped without {{location_id}}")
        if operation.get("x-organization-scoped") and "{organization_id}" not in path:
            problems.append(f"{method.upper()} {path}: organization-scoped without the id")

    return problems


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def pool(app):
    pool = AnsweringPool(app.extensions["test_identity"])
    app.extensions["cvms_rpc"] = pool
    return pool


# -- the document is complete and every operation declares its callers ---------------------------
def test_every_api_route_is_in_the_document(app, spec):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint != "openapi":
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(method, path) for method, path, _ in operations(spec)}


def test_every_operation_declares_who_may_call_it(spec):
    assert undeclared(spec) == []
    assert len(list(operations(spec))) > len(PUBLIC_OPERATIONS)


def test_public_operations_exist(spec):
    """A stale entry would silently allow-list a future route of that name."""
    assert {(method, path) for method, path, _ in operations(spec)} >= PUBLIC_OPERATIONS
    assert SIGNED_OPERATIONS <= PUBLIC_OPERATIONS


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda op: op.pop("x-roles"), "no x-roles"),
        (lambda op: op.update({"x-roles": []}), "no x-roles"),
        (lambda op: op.pop("security"), "no bearer security"),
        (lambda op: op.update({"x-roles": ["janitor"]}), "unknown roles"),
        (lambda op: op.pop("x-location-scoped"), "no x-location-scoped"),
    ],
)
def test_an_operation_without_a_declaration_is_caught(spec, change, problem):
    broken = copy.deepcopy(spec)
    change(broken["paths"]["/api/v1/products"]["get"])
    problems = undeclared(broken)
    assert len(problems) == 1
    assert problems[0].startswith(f"GET /api/v1/products: {problem}")


def test_a_new_undeclared_route_is_caught(spec):
    added = copy.deepcopy(spec)
    added["paths"]["/api/v1/new-thing"] = {"get": {"summary": "Forgot its rule", "responses": {}}}
    assert undeclared(added) == ["GET /api/v1/new-thing: no x-roles"]


# -- the matrix -----------------------------------------------------------------------------------
def expected(operation: dict | None, role: str | None, location: str) -> str:
    """'open' (anything but 401/403), '401' or '403'. The partner calls with an API key of the
    own organization holding every scope: only operations declaring x-scopes accept it."""
    if operation is None:  # public
        return "open"
    if role is None:
        return "401"
    if role == "partner":
        if not operation.get("x-scopes"):
            return "403"
    elif role not in operation["x-roles"]:
        return "403"
    foreign = location == FOREIGN_LOCATION and role != "state_admin"
    if foreign and (operation["x-location-scoped"] or operation.get("x-organization-scoped")):
        return "403"
    return "open"


def user_of_role(app, role: str | None) -> User | None:
    """The demo user of the role, or (roles without one) a user acting for no location."""
    if role is None:
        return None
    if role in DEMO_USER_OF_ROLE:
        return app.extensions["test_identity"].user_by_name(DEMO_USER_OF_ROLE[role])
    return User(
        id=str(uuid.uuid4()),
        username=f"matrix.{role}",
        role=role,
        location_ids=[],
        organization_id="matrix-org" if role in ("org_admin", "partner") else None,
        recipient_id=str(uuid.uuid4()) if role == "recipient" else None,
    )


def url_for(path: str, location: str) -> str:
    """The own or foreign location, with its organization; a fresh id for anything else."""
    organization = OWN_ORGANIZATION if location == OWN_LOCATION else FOREIGN_ORGANIZATION

    def fill(match):
        if match.group(1) == "location_id":
            return location
        if match.group(1) == "organization_id":
            return organization
        return str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", fill, path)


@pytest.mark.parametrize("location", [OWN_LOCATION, FOREIGN_LOCATION])
@pytest.mark.parametrize("role", [None, *ROLES])
def test_authorization_matrix(app, client, spec, pool, directory_db, role, location):
    directory_db.add_location(FOREIGN_LOCATION)
    settings = app.config["CVMS"]
    user = user_of_role(app, role) if role != "partner" else None
    partner_key = partner_key_of(app, OWN_ORGANIZATION) if role == "partner" else None
    directory = app.extensions["test_identity"]
    mismatches, checked = [], 0
    for method, path, operation in operations(spec):
        public = (method, path) in PUBLIC_OPERATIONS
        want = expected(None if public else operation, role, location)
        if (method, path) in SIGNED_OPERATIONS:
            want = "403"
        headers = {}
        if user is not None:  # a fresh token per call: logout revokes the one it is given
            acts_for = directory.acts_for(user)
            token = issue_token(user, settings.jwt_secret, 60, location_ids=acts_for)
            headers["Authorization"] = f"Bearer {token}"
        if partner_key is not None:
            headers["X-API-Key"] = partner_key
        body = {} if "requestBody" in operation else None
        calls_before = len(pool.calls)
        response = client.open(url_for(path, location), method=method, headers=headers, json=body)
        status = response.status_code
        checked += 1
        got = str(status) if status in (401, 403) else "open"
        if got != want or status >= 500:
            mismatches.append(f"{method.upper()} {path}: expected {want}, got {status}")
        if want != "open" and len(pool.calls) != calls_before:
            mismatches.append(f"{method.upper()} {path}: a service was called although refused")
        if want == "401" and response.get_json()["error"] != "unauthenticated":
            mismatches.append(f"{method.upper()} {path}: 401 for another reason")
    assert mismatches == []
    assert checked == len(list(operations(spec)))


def partner_key_of(app, organization_id: str) -> str:
    """A key of the organization holding every scope there is."""
    issuer = {"user_id": "test", "role": "state_admin"}
    new_key = {"name": "matrix", "scopes": list(API_KEY_SCOPES)}
    return app.extensions["test_identity"].call(
        "issue_api_key", (issuer, organization_id, new_key)
    )["key"]


def test_a_partner_token_without_a_key_reaches_nothing_but_public_routes(app, client, spec, pool):
    """Partners sign in with API keys only: a bearer token claiming the role gets nowhere."""
    settings = app.config["CVMS"]
    token = issue_token(user_of_role(app, "partner"), settings.jwt_secret, 60)
    opened = []
    for method, path, _ in operations(spec):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        response = client.open(
            url_for(path, OWN_LOCATION),
            method=method,
            headers={"Authorization": f"Bearer {token}"},
            json={},
        )
        if response.status_code not in (401, 403):
            opened.append(f"{method.upper()} {path}: {response.status_code}")
    assert opened == []
    assert pool.calls == []


def test_the_matrix_reaches_the_services_for_allowed_callers(app, client, spec, pool):
    """Guards the matrix itself: allowed calls really get past the access rules."""
    settings = app.config["CVMS"]
    admin = app.extensions["test_identity"].user_by_name("state.admin")
    headers = {"Authorization": f"Bearer {issue_token(admin, settings.jwt_secret, 60)}"}
    client.get(url_for("/api/v1/locations/{location_id}/inventory", OWN_LOCATION), headers=headers)
    client.get("/api/v1/products", headers=headers)
    assert pool.calls == ["inventory.location_inventory", "inventory.list_products"]
