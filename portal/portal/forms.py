"""Turning the API's refusals into messages beside the fields they concern."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from portal.gateway import ApiProblem
from portal.i18n import api_message

# The API's error codes a person may meet, said in their language.
CODE_MESSAGES = {
    "invalid_input": "Some fields need your attention.",
    "rule_violated": "This breaks a rule; see the fields below.",
    "not_found": "We could not find that.",
    "forbidden": "You are not allowed to do that.",
    "too_many_attempts": "Too many attempts. Wait a few minutes and try again.",
    "rate_limited": "Too many requests. Wait a minute and try again.",
}


@dataclass
class FormErrors:
    """Errors of one submitted form: per field, and one summary for the top of the page."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    summary: str | None = None
    code: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.summary)

    def get(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    @classmethod
    def from_problem(cls, problem: ApiProblem, rename: dict[str, str] | None = None) -> FormErrors:
        """`rename` maps an API field name to the form's, where they differ."""
        rename = rename or {}
        fields = {
            rename.get(name, name): [api_message(m) for m in messages]
            for name, messages in problem.field_errors().items()
        }
        general = fields.pop("_schema", [])
        summary = (
            _(CODE_MESSAGES[problem.code])
            if problem.code in CODE_MESSAGES
            else api_message(problem.message)
        )
        if general:
            summary = " ".join([summary, *general])
        return cls(fields=fields, summary=summary, code=problem.code)

    @classmethod
    def refusal(
        cls,
        problem: ApiProblem,
        statuses: tuple[int, ...] = (400, 409, 422),
        rename: dict[str, str] | None = None,
    ) -> FormErrors:
        """A refusal a person may meet on this form (`statuses`) beside its fields; any other
        (a 403, a 404) goes on, to the error pages."""
        if problem.status not in statuses:
            raise problem
        return cls.from_problem(problem, rename=rename)

    @classmethod
    def single(cls, name: str, message: str) -> FormErrors:
        return cls(fields={name: [message]}, summary=_("Some fields need your attention."))


def int_or_text(value: str | None):
    """A whole number if the text is one, else the text as typed: the API says what is wrong
    with it, beside its field."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def float_or_text(value: str | None):
    """A number (a decimal comma too) if the text is one, else the text as typed."""
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return value


# Strings that only exist as values above, marked for the catalog extractor.
def _mark_for_extraction() -> None:  # pragma: no cover - never called
    _("Some fields need your attention.")
    _("This breaks a rule; see the fields below.")
    _("We could not find that.")
    _("You are not allowed to do that.")
    _("Too many attempts. Wait a few minutes and try again.")
    _("Too many requests. Wait a minute and try again.")
