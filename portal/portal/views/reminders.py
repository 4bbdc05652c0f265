"""Stopping reminders: the page a reminder e-mail's link opens. The link names the message
(`?m=`); stopping takes a click on the page, so that a mail scanner following links stops
nothing. What a booking needs (its confirmation and changes) still comes."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request

from portal.auth import api
from portal.forms import FormErrors
from portal.gateway import ApiProblem

bp = Blueprint("reminders", __name__)

MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@bp.route("/unsubscribe", methods=["GET", "POST"])
def stop_reminders():
    message_id = request.values.get("m", "").strip().lower()
    if not MESSAGE_ID.match(message_id):
        return render_template("reminders/unknown.html"), 404
    if request.method == "POST":
        try:
            stopped = api("POST", "/public/reminders/stop", json={"message_id": message_id})
        except ApiProblem as problem:
            if problem.status == 404:
                return render_template("reminders/unknown.html"), 404
            if problem.status == 429:
                errors = FormErrors.from_problem(problem)
                return render_template("reminders/stop.html", m=message_id, errors=errors), 429
            raise
        return render_template("reminders/stopped.html", stopped=stopped)
    return render_template("reminders/stop.html", m=message_id, errors=FormErrors())
