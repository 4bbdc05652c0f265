"""The checks of an RPC's plain arguments: what passes comes back as it was; what fails is
refused with the field's message (InvalidInput) or as no such thing (NotFound)."""

import pytest

from cvms_platform import validation
from cvms_platform.errors import InvalidInput, NotFound


def test_a_text_of_at_most_its_length_passes_and_anything_else_is_refused_by_field():
    assert validation.text("abc", "q", most=3) == "abc"
    for wrong in ("abcd", None, 12):
        with pytest.raises(InvalidInput) as refused:
            validation.text(wrong, "q", most=3)
        assert refused.value.errors == {"q": ["Text of at most 3 characters."]}


def test_a_limit_is_a_whole_number_from_1_to_1000():
    assert validation.limit(1) == 1 and validation.limit(1000) == 1000
    for wrong in (0, 1001, True, "5", 2.0):
        with pytest.raises(InvalidInput) as refused:
            validation.limit(wrong)
        assert refused.value.errors == {"limit": ["A whole number from 1 to 1000."]}


def test_an_id_that_cannot_name_one_is_not_found():
    assert validation.known_id("org-1", "Organization") == "org-1"
    for wrong in ("x" * 65, None, 7):
        with pytest.raises(NotFound, match=f"Organization {wrong} not found."):
            validation.known_id(wrong, "Organization")
