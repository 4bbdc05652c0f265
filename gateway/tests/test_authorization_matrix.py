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

from cvms_platform.errors import NotFound
from gateway.models import ROLES, User
from gateway.security import issue_token

# Operations anyone may call. Adding one here is a security decision: review it as such.
PUBLIC_OPERATIONS = {
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
}
DEMO_USER_OF_ROLE = {
    "state_admin": "state.admin",
    "location_manager": "clinic.manager",
    "vaccinator": "clinic.vaccinator",
}
OWN_LOCATION = "demo-clinic"  # the demo manager and vaccinator act for it
FOREIGN_LOCATION = "other-clinic"
METHODS = {"get", "put", "post", "patch", "delete"}


class AnsweringPool:
    """Every service call fails with NotFound (a 404), so a call that passes the access rules
    ends in a 4xx without any real service, and calls are counted."""

    def __init__(self):
        self.calls: list[str] = []

    def services(self, correlation_id):
        pool = self

        class Service:
            def __init__(self, name):
                self.name = name

            def __getattr__(self, method):
                def call(*args):
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
        if operation.get("security") != [{"bearer": []}]:
            problems.append(f"{method.upper()} {path}: no bearer security")
        if "x-location-scoped" not in operation:
            problems.append(f"{method.upper()} {path}: no x-location-scoped")
        elif operation["x-location-scoped"] and "{location_id}" not in path:
            problems.append(f"{method.upper()} {path}: location-scoped without {{location_id}}")
    return problems


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def pool(app):
    pool = AnsweringPool()
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
    """'open' (anything but 401/403), '401' or '403'."""
    if operation is None:  # public
        return "open"
    if role is None:
        return "401"
    if role not in operation["x-roles"]:
        return "403"
    if operation["x-location-scoped"] and location == FOREIGN_LOCATION and role != "state_admin":
        return "403"
    return "open"


def user_of_role(app, role: str | None) -> User | None:
    """The demo user of the role, or (roles without one) a user acting for no location."""
    if role is None:
        return None
    if role in DEMO_USER_OF_ROLE:
        return app.extensions["cvms_directory"].user_by_name(DEMO_USER_OF_ROLE[role])
    return User(
        id=str(uuid.uuid4()),
        username=f"matrix.{role}",
        role=role,
        location_ids=[],
        organization_id="matrix-org" if role in ("org_admin", "partner") else None,
        recipient_id=str(uuid.uuid4()) if role == "recipient" else None,
    )


def url_for(path: str, location: str) -> str:
    def fill(match):
        return location if match.group(1) == "location_id" else str(uuid.uuid4())

    return re.sub(r"\{([^}]+)\}", fill, path)


@pytest.mark.parametrize("location", [OWN_LOCATION, FOREIGN_LOCATION])
@pytest.mark.parametrize("role", [None, *ROLES])
def test_authorization_matrix(app, client, spec, pool, directory_db, role, location):
    directory_db.add_location(FOREIGN_LOCATION)
    settings = app.config["CVMS"]
    user = user_of_role(app, role)
    mismatches, checked = [], 0
    for method, path, operation in operations(spec):
        public = (method, path) in PUBLIC_OPERATIONS
        want = expected(None if public else operation, role, location)
        headers = {}
        if user is not None:  # a fresh token per call: logout revokes the one it is given
            headers["Authorization"] = f"Bearer {issue_token(user, settings.jwt_secret, 60)}"
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


def test_the_matrix_reaches_the_services_for_allowed_callers(app, client, spec, pool):
    """Guards the matrix itself: allowed calls really get past the access rules."""
    settings = app.config["CVMS"]
    admin = app.extensions["cvms_directory"].user_by_name("state.admin")
    headers = {"Authorization": f"Bearer {issue_token(admin, settings.jwt_secret, 60)}"}
    client.get(url_for("/api/v1/locations/{location_id}/inventory", OWN_LOCATION), headers=headers)
    client.get("/api/v1/products", headers=headers)
    assert pool.calls == ["inventory.location_inventory", "inventory.list_products"]
