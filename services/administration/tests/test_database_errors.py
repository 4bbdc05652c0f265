"""Database errors reach callers as answers they can act on: a clash 409, a refused value 422,
an outage as itself (the gateway's 503) — never an unhandled failure."""

import inspect

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from administration.database_errors import answered
from administration.service import AdministrationService
from cvms_platform.errors import Conflict, Unprocessable


def failing(error: Exception):
    @answered
    def method(self, value: str, extra: int = 0) -> dict:
        raise error

    return method


def test_a_clash_that_outlived_the_retry_is_a_conflict():
    with pytest.raises(Conflict):
        failing(IntegrityError("INSERT", {}, Exception("duplicate key")))(None, "x")


def test_a_value_the_database_refuses_is_unprocessable():
    with pytest.raises(Unprocessable) as refused:
        failing(DataError("INSERT", {}, Exception("value too long")))(None, "x")
    assert "_schema" in refused.value.errors


def test_an_outage_goes_up_as_itself_for_a_503():
    with pytest.raises(OperationalError):
        failing(OperationalError("SELECT 1", {}, Exception("connection refused")))(None, "x")


def test_rpc_methods_keep_their_signature_for_nameko_to_check_calls():
    method = AdministrationService.correct_administration
    assert list(inspect.signature(method).parameters) == [
        "self",
        "administration_id",
        "correction",
        "changed_by",
        "changed_by_user_id",
        "may_override",
    ]
    with pytest.raises(TypeError):
        inspect.getcallargs(method, None)  # nameko's check: too few arguments is refused
