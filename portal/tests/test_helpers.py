"""Small rules the pages rely on."""

from __future__ import annotations

import pytest

from portal.gateway import ApiProblem, flatten_errors
from portal.views.auth import safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/provider/", "/provider/"),
        ("/my/?x=1", "/my/?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_this_sites_paths_are_followed_after_sign_in(target, expected):
    assert safe_next(target, "/") == expected


def test_nested_api_errors_are_flattened_to_field_names():
    errors = {
        "address": {"zip": ["Not a valid ZIP code."]},
        "lots": {"0": {"doses": ["Must be at least 1."]}},
        "_schema": ["Give a lot or a product."],
        "dates": ["Too many dates.", "Not a date."],
    }
    assert flatten_errors(errors) == {
        "address.zip": ["Not a valid ZIP code."],
        "lots.0.doses": ["Must be at least 1."],
        "_schema": ["Give a lot or a product."],
        "dates": ["Too many dates.", "Not a date."],
    }


def test_an_api_problem_knows_its_fields():
    problem = ApiProblem(
        422, "rule_violated", "The request breaks a rule.", {"lot_id": ["Expired"]}
    )
    assert problem.field_errors() == {"lot_id": ["Expired"]}
