"""The recipient portal: claim an account with the vaccination card's details, see every dose,
download the record as a PDF (English or Spanish), keep contact details and preferences up to
date. Always the signed-in recipient's own record (the API's /me routes: no id in any URL).

A recipient's pages default to their preferred language: the first page after sign-in takes it
from the API unless the person chose a language in this session."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh

from portal.auth import api, api_download, signed_in
from portal.forms import FormErrors
from portal.gateway import ApiProblem, gateway
from portal.i18n import LANGUAGES

bp = Blueprint("recipient", __name__, url_prefix="/my")

CHANNELS = [
    ("email", _l("By e-mail")),
    ("sms", _l("By text message (SMS)")),
    ("phone", _l("By phone call")),
    ("mail", _l("By postal mail")),
]
CLAIM_FIELDS = ("username", "family_name", "date_of_birth", "lot_number", "administered_on")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code")
# The states and territories an address may be in: the API's own list (the `enum` of
# RecipientAddress.state in its OpenAPI document), asked once per process.
_us_states: list[str] = []


def us_states() -> list[str]:
    """The codes the API accepts for an address's state, in its order (the USPS list)."""
    if not _us_states:
        schemas = gateway().call("GET", "/openapi.json")["components"]["schemas"]
        _us_states[:] = schemas["RecipientAddress"]["properties"]["state"]["enum"]
    return _us_states


def _adopt_preferred_language(me: dict) -> None:
    """First page after sign-in: the recipient's preferred language, unless they chose one."""
    if session.get("lang"):
        return
    preferred = me.get("preferred_language")
    if preferred in LANGUAGES:
        session["lang"] = preferred
        if g.get("lang") != preferred:
            g.lang = preferred
            refresh()


@bp.get("/")
@signed_in
def home():
    me = api("GET", "/me")
    _adopt_preferred_language(me)
    doses = api("GET", "/me/vaccinations")
    return render_template(
        "recipient/home.html",
        me=me,
        doses=doses,
        channels=CHANNELS,
        languages=LANGUAGES,
        chosen_channels=[
            str(label)
            for channel, label in CHANNELS
            if (me.get("contact_preferences") or {}).get(channel)
        ],
    )


@bp.route("/claim", methods=["GET", "POST"])
def claim():
    errors = FormErrors()
    values = {name: "" for name in CLAIM_FIELDS}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in CLAIM_FIELDS}
        password = request.form.get("password", "")
        if password != request.form.get("confirm_password", ""):
            errors = FormErrors.single("confirm_password", _("The two passwords differ."))
        else:
            body = {name: value for name, value in values.items() if value}
            if password:
                body["password"] = password
            try:
                gateway().call("POST", "/recipient-accounts", json=body)
            except ApiProblem as problem:
                errors = FormErrors.refusal(problem, (400, 409, 422, 429))
                if problem.status == 409:
                    errors.fields["username"] = [errors.summary]
                elif problem.status == 422:
                    # One answer for every reason (no match, wrong details, already claimed).
                    errors.summary = _(
                        "These details do not match a vaccination record that can be claimed. "
                        "Check them against your vaccination card, or call the help desk."
                    )
            else:
                flash(_("Your account is ready. Sign in to see your record."), "success")
                return redirect(url_for("auth.sign_in", next=url_for("recipient.home")))
    return render_template("recipient/claim.html", values=values, errors=errors), (
        400 if errors else 200
    )


@bp.get("/record.pdf")
@signed_in
def record_pdf():
    """The PDF record, streamed through from the API with its type and file name."""
    lang = request.args.get("lang")
    params = {"lang": lang} if lang in LANGUAGES else {}
    return api_download("/me/record.pdf", params, "vaccination-record.pdf")


def _posted_contact() -> dict:
    address = {name: request.form.get(f"address.{name}", "").strip() for name in ADDRESS_FIELDS}
    return {
        "phone": request.form.get("phone", "").strip(),
        "email": request.form.get("email", "").strip(),
        "preferred_language": request.form.get("preferred_language", ""),
        "address": address,
        "contact_preferences": {
            channel: request.form.get(f"contact_preferences.{channel}") == "1"
            for channel, _label in CHANNELS
        },
    }


def _change(values: dict) -> dict:
    """What PATCH /me/contact is sent: every field (an empty one clears it)."""
    address = {name: value for name, value in values["address"].items() if value}
    if address:
        address.setdefault("line2", None)
    change = {
        "phone": values["phone"] or None,
        "email": values["email"] or None,
        "address": address or None,
        "contact_preferences": values["contact_preferences"],
    }
    if values["preferred_language"]:
        change["preferred_language"] = values["preferred_language"]
    return change


def _values(me: dict) -> dict:
    address = me.get("address") or {}
    preferences = me.get("contact_preferences") or {}
    return {
        "phone": me.get("phone") or "",
        "email": me.get("email") or "",
        "preferred_language": me.get("preferred_language") or "en",
        "address": {name: address.get(name) or "" for name in ADDRESS_FIELDS},
        "contact_preferences": {channel: bool(preferences.get(channel)) for channel, _ in CHANNELS},
    }


@bp.route("/contact", methods=["GET", "POST"])
@signed_in
def contact():
    errors = FormErrors()
    if request.method == "POST":
        values = _posted_contact()
        try:
            api("PATCH", "/me/contact", json=_change(values))
        except ApiProblem as problem:
            errors = FormErrors.refusal(problem, (400, 422))
        else:
            flash(_("Your contact details are saved."), "success")
            return redirect(url_for("recipient.home"))
    else:
        me = api("GET", "/me")
        _adopt_preferred_language(me)
        values = _values(me)
    return render_template(
        "recipient/contact.html",
        values=values,
        errors=errors,
        channels=CHANNELS,
        languages=LANGUAGES,
        states=[(state, state) for state in us_states()],
    ), (400 if errors else 200)
