"""The help desk's answers, as cvms_platform.answers.helpdesk declares them."""

from __future__ import annotations

from marshmallow import fields

from cvms_platform.answers import helpdesk as answers


class TeamView(answers.TeamView):
    default = fields.Bool(attribute="is_default")
