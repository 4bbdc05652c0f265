"""Property-based tests of the running API against its own OpenAPI document (schemathesis):
every operation, called as a state admin with generated input, never answers 5xx, and its
answers (status codes, content types, bodies) match what the document says.

Bounded to a few examples per operation so it runs in about a minute. Operations that destroy
the caller's credentials or lock the test's address out are left out (see EXCLUDED). Each
operation is run on its own and every failure is reported, not only the first."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 4
# Logging out revokes the admin's token mid-run; failed sign-ins would lock the runner's IP
# (and the demo users) out for the other tests of the session.
EXCLUDED = r"^/api/v1/auth/(logout|token|refresh)$"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_keeps_its_documented_contract(admin, cluster):
    schema = schemathesis.openapi.from_url(f"{cluster.gateway_url}/api/v1/openapi.json")
    schema = schema.exclude(path_regex=EXCLUDED)
    failures, tested = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same examples every run: a failure is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case):
            case.call_and_validate(
                base_url=cluster.gateway_url, headers=admin.headers, checks=CHECKS
            )

        tested += 1
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup; collected, all reported below
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert tested > 40
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
