"""The administration area's routes: registering recipients and recording doses, corrections and
voids, registry exports, recipient accounts and the recipient portal, paper forms, offline
imports."""

from __future__ import annotations

import base64
import csv
import io
import uuid

from flask import Blueprint, current_app, g, jsonify, request, url_for

from cvms_platform import config
from cvms_platform.contracts.administration import IMPORT_COLUMNS, REQUIRED_IMPORT_COLUMNS
from cvms_platform.errors import Conflict
from cvms_platform.products import product_labels
from gateway import routing
from gateway.access import MANAGERS, STAFF, allow, public, require_location
from gateway.api.administration import schemas
from gateway.docs import doc
from gateway.errors import ApiError
from gateway.hardening import client_ip
from gateway.routing import API_PREFIX, attachment, body, call, created, services
from gateway.sessions import LoginThrottle

administration_api = Blueprint("administration", __name__, url_prefix=API_PREFIX)

# Who may record a dose although clinical checks fail (with a reason); vaccinators may not.
MAY_OVERRIDE_CLINICAL_CHECKS = ("state_admin", "location_manager")


def _dose_of_a_location_i_act_for(administration_id: str) -> dict:
    administration = call.administration.get_administration(administration_id)
    if not g.principal.may_act_for(administration["location_id"]):
        raise ApiError(403, "forbidden", "This dose was recorded at a location you do not act for.")
    return administration


def _changed(result: dict):
    """The dose recorded or changed: 201, or 200 when its id was recorded or applied already."""
    dose = result["administration"]
    location = url_for(".get_administration", administration_id=dose["id"])
    return created(dose, location, new=result["created"])


# -- recipients and the doses recorded ------------------------------------------------------------
@administration_api.post("/recipients")
@allow(*STAFF, scopes=("recipients:write",))
@doc(
    "Register a vaccine recipient",
    body=schemas.NewRecipientRequest,
    responses={
        201: ("The recipient was registered", schemas.Recipient),
        200: (
            "A likely duplicate (same name, date of birth, and phone or e-mail): the existing "
            "recipient, with matched true",
            schemas.Recipient,
        ),
    },
)
def register_recipient():
    recipient = body()
    answer = call.administration.register_recipient(recipient)
    found = answer["recipient"]
    location = url_for(".get_recipient", recipient_id=found["id"])
    return created({**found, "matched": not answer["created"]}, location, new=answer["created"])


@administration_api.get("/recipients/<recipient_id>")
@allow(*STAFF)
@doc("A recipient", responses={200: ("The recipient", schemas.Recipient)})
def get_recipient(recipient_id: str):
    return jsonify(call.administration.get_recipient(recipient_id))


@administration_api.post("/administrations")
@allow("location_manager", "vaccinator", "state_admin", scopes=("administrations:write",))
@doc(
    "Record a dose given (idempotent by the client-chosen record id); inventory takes the dose "
    "from the lot when it learns of it",
    body=schemas.RecordAdministrationRequest,
    responses={
        201: ("The dose was recorded", schemas.Administration),
        200: ("This record id was already recorded", schemas.Administration),
        422: (
            "Unknown recipient or lot, lot at another location or expired, or a clinical check "
            "failed (minimum age, minimum interval, dose number, lot quarantined when the dose "
            "was given) without an allowed override"
        ),
    },
)
def record_administration():
    dose = body()
    require_location(dose["location_id"])
    may_override = g.principal.role in MAY_OVERRIDE_CLINICAL_CHECKS
    result = call.administration.record_administration(
        dose, g.principal.username, may_override, g.principal.user_id
    )
    location = url_for(".get_administration", administration_id=dose["id"])
    return created(result["administration"], location, new=result["created"])


@administration_api.get("/administrations/<administration_id>")
@allow(*STAFF, scopes=("administrations:read",))
@doc("A recorded dose", responses={200: ("The dose", schemas.Administration)})
def get_administration(administration_id: str):
    return jsonify(_dose_of_a_location_i_act_for(administration_id))


# -- corrections and voids ------------------------------------------------------------------------
@administration_api.post("/administrations/<administration_id>/corrections")
@allow(*MANAGERS, scopes=("administrations:write",))
@doc(
    "Correct a recorded dose (lot, dose number, site, route, dose volume, time given) with a "
    "reason; its history keeps who, when, why, and the fields before and after. Inventory moves "
    "the dose when the lot changes",
    body=schemas.DoseCorrectionRequest,
    responses={
        201: ("The dose as corrected, with its history", schemas.Administration),
        200: ("This correction id was applied already", schemas.Administration),
        409: "The dose is voided",
        422: (
            "The lot is unknown, elsewhere, expired or was quarantined when the dose was given, "
            "nothing changes, or the corrected dose fails a clinical check (minimum age, "
            "minimum interval, dose number) without an allowed override"
        ),
    },
)
def correct_administration(administration_id: str):
    correction = body()
    _dose_of_a_location_i_act_for(administration_id)
    may_override = g.principal.role in MAY_OVERRIDE_CLINICAL_CHECKS
    result = call.administration.correct_administration(
        administration_id,
        correction,
        g.principal.username,
        g.principal.user_id,
        may_override,
    )
    return _changed(result)


@administration_api.post("/administrations/<administration_id>/void")
@allow(*MANAGERS, scopes=("administrations:write",))
@doc(
    "Void a dose entered in error, with a reason: it stays on record with its history, no "
    "longer counts for the recipient's series, and inventory puts the dose back",
    body=schemas.DoseVoidRequest,
    responses={
        201: ("The voided dose, with its history", schemas.Administration),
        200: ("This void id was applied already", schemas.Administration),
        409: "The dose is voided already",
    },
)
def void_administration(administration_id: str):
    request_body = body()
    _dose_of_a_location_i_act_for(administration_id)
    result = call.administration.void_administration(
        administration_id, request_body, g.principal.username, g.principal.user_id
    )
    return _changed(result)


# -- staff finding a recipient --------------------------------------------------------------------
@administration_api.get("/recipients")
@allow(*STAFF, scopes=("recipients:read",))
@doc(
    "Find a recipient: ?family_name= and ?birth_date= (folded: case and surrounding spaces "
    "ignored; ?given_name= narrows as a prefix), or ?phone= (its digits). At most ?limit= (1-20, "
    "default 20) matches, contact details masked; `more` says others matched too. Never a list "
    "of every recipient",
    responses={
        200: ("The matches", schemas.RecipientMatches),
        400: "Neither the family name and birth date nor a phone number",
    },
)
def find_recipients():
    query = routing.query(schemas.RecipientSearchQuery())
    if "birth_date" in query:
        query["birth_date"] = query["birth_date"].isoformat()
    return jsonify(call.administration.find_recipients(query))


@administration_api.get("/recipients/<recipient_id>/vaccinations")
@allow(*STAFF, scopes=("recipients:read",))
@doc(
    "A recipient's doses (voided ones left out), oldest first: date, product with its cap "
    "color, lot, dose number, location, site and route",
    responses={200: ("The doses", schemas.Vaccination(many=True))},
)
def recipient_vaccinations(recipient_id: str):
    return jsonify(_my_vaccinations(recipient_id))


# -- registry exports: FHIR R4 --------------------------------------------------------------------
@administration_api.get("/recipients/<recipient_id>/fhir")
@allow(*STAFF)
@doc(
    "A recipient's immunizations as a FHIR R4 Bundle (collection): a Patient and one "
    "Immunization per dose recorded",
    responses={200: ("The bundle, as application/fhir+json", schemas.FhirBundle)},
)
def recipient_fhir_bundle(recipient_id: str):
    return _fhir_bundle(recipient_id)


def _fhir_bundle(recipient_id: str):
    """The recipient's FHIR R4 Bundle, answered as application/fhir+json."""
    response = jsonify(call.administration.recipient_fhir_bundle(recipient_id))
    response.mimetype = "application/fhir+json"
    return response


# -- registry exports: HL7 v2.5.1 -----------------------------------------------------------------
HL7_MIMETYPE = "x-application/hl7-v2+er7"


@administration_api.get("/recipients/<recipient_id>/hl7")
@allow(*STAFF)
@doc(
    "A recipient's immunizations as one HL7 v2.5.1 VXU^V04 message (CDC IIS implementation "
    "guide, profile Z22): MSH, PID, PD1, and per dose ORC, RXA (CVX, MVX, lot) and RXR",
    responses={200: ("The message (x-application/hl7-v2+er7)", None)},
)
def recipient_hl7(recipient_id: str):
    text = call.administration.recipient_hl7(recipient_id)
    return attachment(text, HL7_MIMETYPE, f"vxu-{recipient_id}.hl7")


@administration_api.get("/locations/<location_id>/administrations/hl7")
@allow(*MANAGERS, location_scoped=True, scopes=("administrations:read",))
@doc(
    "The doses given at a location in ?from=YYYY-MM-DD&to=YYYY-MM-DD (inclusive, UTC, at most "
    "366 days) as an HL7 v2.5.1 batch: FHS, BHS, one VXU^V04 per recipient, BTS, FTS",
    responses={
        200: ("The batch file (x-application/hl7-v2+er7)", None),
        400: "A bad or too long range",
    },
)
def location_hl7_batch(location_id: str):
    query = routing.query(schemas.HL7RangeQuery())
    date_from, date_to = query["date_from"].isoformat(), query["date_to"].isoformat()
    text = call.administration.location_hl7_batch(location_id, date_from, date_to)
    return attachment(text, HL7_MIMETYPE, f"vxu-{location_id}-{date_from}-{date_to}.hl7")


# -- recipient accounts ---------------------------------------------------------------------------
USERNAME_TAKEN = "This username is taken; choose another."
CLAIM_REFUSED = (
    "These details do not match a vaccination record that can be claimed. Check them against "
    "the vaccination card, or ask the help desk."
)


def _claim_throttle() -> LoginThrottle:
    """Failed claims per identity (family name and birth date) and per client address: a claim
    is a guess at someone's card, so far fewer are allowed than sign-ins."""
    throttle = current_app.extensions.get("cvms_claim_throttle")
    if throttle is None:
        settings = current_app.config["CVMS"]
        throttle = LoginThrottle(
            current_app.extensions["cvms_redis"],
            f"{settings.redis_prefix}:claims",
            max_failures=config.int_setting("CVMS_CLAIM_MAX_FAILURES", 5),
            max_failures_per_ip=config.int_setting("CVMS_CLAIM_MAX_FAILURES_PER_IP", 10),
            window_seconds=3600,
            lockout_seconds=3600,
        )
        current_app.extensions["cvms_claim_throttle"] = throttle
    return throttle


@administration_api.post("/recipient-accounts")
@public
@doc(
    "Claim a recipient account: prove the family name, date of birth, and a lot number and day "
    "printed on your vaccination card. Exactly one recipient must match; a record has one "
    "account. Then sign in at /auth/token. Strictly rate-limited per address",
    tag="recipient portal",
    body=schemas.RecipientAccountRequest,
    responses={
        201: ("The account (sign in with it)", schemas.RecipientAccount),
        409: "The username is taken",
        422: "The details match no claimable record (one answer for every reason)",
        429: "Too many failed claims: wait Retry-After",
    },
)
def claim_recipient_account():
    claim = body()
    throttle = _claim_throttle()
    identity = f"{claim['family_name'].strip().casefold()}|{claim['date_of_birth']}"
    ip = client_ip()
    if lockout := throttle.locked(identity, ip):
        raise ApiError(
            429,
            "too_many_attempts",
            "Too many failed claims; try again later.",
            headers={"Retry-After": str(lockout.retry_after)},
        )
    with services() as s:
        if s.identity.username_taken(claim["username"]):
            raise ApiError(409, "conflict", USERNAME_TAKEN)
        recipient_id = s.administration.verify_recipient_claim(
            {name: claim[name] for name in CLAIM_FIELDS}
        )
    if recipient_id is None:
        throttle.failed(identity, ip)
        raise ApiError(422, "claim_refused", CLAIM_REFUSED)
    account = {
        "username": claim["username"],
        "password": claim["password"],
        "recipient_id": recipient_id,
    }
    try:
        created_account = call.identity.create_recipient_account(account)
    except Conflict as clash:
        if len(clash.args) > 1 and clash.args[1] == "username_taken":
            raise ApiError(409, "conflict", USERNAME_TAKEN) from None
        # The record has an account: answered as a mismatch, so the answer does not confirm
        # whose card the details are.
        throttle.failed(identity, ip)
        raise ApiError(422, "claim_refused", CLAIM_REFUSED) from None
    throttle.succeeded(identity)
    response = jsonify(username=created_account["username"], role=created_account["role"])
    response.status_code = 201
    return response


CLAIM_FIELDS = ("family_name", "date_of_birth", "lot_number", "administered_on")


# -- the recipient portal: /me, always the signed-in recipient's own record ----------------------
def _me() -> str:
    recipient_id = g.principal.recipient_id
    if not recipient_id:
        raise ApiError(403, "forbidden", "This account is not linked to a recipient.")
    return recipient_id


def _location_names(location_ids: set[str]) -> dict[str, str]:
    if not location_ids:
        return {}
    return call.identity.location_names(sorted(location_ids))


def _my_vaccinations(recipient_id: str) -> list[dict]:
    doses = call.administration.recipient_vaccinations(recipient_id)
    names = _location_names({dose["location_id"] for dose in doses})
    return [
        {
            **dose,
            "location_name": names.get(dose["location_id"], dose["location_id"]),
            # The product named for a person as the catalog's labels name it (cap colour once).
            "labels": product_labels(
                {"name": dose.get("product_name"), "cap_color": dose.get("cap_color")}
            ),
        }
        for dose in doses
    ]


@administration_api.get("/me")
@allow("recipient")
@doc(
    "Your recipient details",
    tag="recipient portal",
    responses={200: ("You, as registered", schemas.Recipient)},
)
def my_details():
    return jsonify(call.administration.get_recipient(_me()))


@administration_api.get("/me/vaccinations")
@allow("recipient")
@doc(
    "Every dose you were given: date, product with its cap color, lot, dose number, location",
    tag="recipient portal",
    responses={200: ("Your doses, oldest first", schemas.Vaccination(many=True))},
)
def my_vaccinations():
    return jsonify(_my_vaccinations(_me()))


@administration_api.patch("/me/contact")
@allow("recipient")
@doc(
    "Change your address, phone, e-mail, preferred language or contact preferences (only the "
    "fields given); a contact channel needs its detail (e-mail, phone, address)",
    tag="recipient portal",
    body=schemas.ContactChangeRequest,
    responses={200: ("You, as changed", schemas.Recipient)},
)
def change_my_contact():
    change = body()
    return jsonify(call.administration.update_recipient_contact(_me(), change))


@administration_api.get("/me/record.pdf")
@allow("recipient")
@doc(
    "Your vaccination record as a PDF; ?lang=en|es (default: your preferred language)",
    tag="recipient portal",
    responses={200: ("The PDF (application/pdf)", None), 400: "An unknown language"},
)
def my_record_pdf():
    query = routing.query(schemas.RecordPdfQuery())
    recipient_id = _me()
    # Administration renders the record (in the recipient's preferred language unless one is
    # asked for); the names of the doses' locations are the gateway's to give.
    doses = call.administration.recipient_vaccinations(recipient_id)
    names = _location_names({dose["location_id"] for dose in doses})
    document = call.administration.record_pdf(recipient_id, query.get("lang"), names)
    return _pdf(document, "attachment")


@administration_api.get("/me/fhir")
@allow("recipient")
@doc(
    "Your immunizations as a FHIR R4 Bundle (a Patient and one Immunization per dose)",
    tag="recipient portal",
    responses={200: ("The bundle, as application/fhir+json", schemas.FhirBundle)},
)
def my_fhir_bundle():
    return _fhir_bundle(_me())


# -- offline operations: paper forms, the CSV template, imports ----------------------------------
RPC_CHUNK = 1000  # rows per call to administration: one transaction each
REPORT_COLUMNS = ("row", "record_id", "status", "administration_id", "recipient_id", "errors")


def _pdf(document: dict, disposition: str = "inline"):
    """A PDF administration rendered ({filename, content_type, base64})."""
    content = base64.b64decode(document["base64"])
    return attachment(content, "application/pdf", document["filename"], disposition=disposition)


def _paper_form(kind: str):
    language = routing.query(schemas.FormQuery())["lang"]
    return _pdf(call.administration.paper_form(kind, language))


@administration_api.get("/forms/recipient-registration.pdf")
@allow(*STAFF)
@doc(
    "The printable Recipient Registration form (?lang=en|es), for offline operations",
    tag="offline operations",
    responses={
        200: ("The form (application/pdf)", None),
        400: "An unknown language",
    },
)
def recipient_registration_form():
    return _paper_form("recipient-registration")


@administration_api.get("/forms/vaccine-administration.pdf")
@allow(*STAFF)
@doc(
    "The printable Vaccine Administration form (?lang=en|es), for offline operations",
    tag="offline operations",
    responses={
        200: ("The form (application/pdf)", None),
        400: "An unknown language",
    },
)
def vaccine_administration_form():
    return _paper_form("vaccine-administration")


@administration_api.get("/forms/administration-import.csv")
@allow(*STAFF)
@doc(
    "The CSV template of offline imports: the forms' fields as columns ("
    + ", ".join(IMPORT_COLUMNS)
    + ")",
    tag="offline operations",
    responses={200: ("The template (text/csv)", None)},
)
def administration_import_template():
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(IMPORT_COLUMNS)
    return attachment(out.getvalue(), "text/csv", "administration-import.csv")


@administration_api.post("/locations/<location_id>/administration-imports")
@allow(*STAFF, location_scoped=True, scopes=("administrations:write",))
@doc(
    "Import doses recorded on paper: a CSV (text/csv) of the template's columns. Each row "
    "registers or matches its recipient and records the dose by the API's rules (backdated "
    "allowed); rows are reported accepted, duplicate (its record id was imported before) or "
    "rejected with the reason per column. Send a large file in parts with ?import_id= and "
    "?first_row= (`cvms import` does)",
    tag="offline operations",
    responses={
        201: ("The report of the rows sent", schemas.ImportReport),
        400: "Not sent as text/csv, or not the template's columns",
    },
)
def import_administrations(location_id: str):
    query = routing.query(schemas.ImportQuery())
    rows = _csv_rows(request.get_data(cache=False))
    import_id = str(query.get("import_id") or uuid.uuid4())
    outcomes = {"accepted": 0, "duplicate": 0, "rejected": 0, "rows": []}
    with services() as s:
        for start in range(0, len(rows), RPC_CHUNK):
            chunk = s.administration.import_administrations(
                location_id,
                rows[start : start + RPC_CHUNK],
                g.principal.username,
                import_id,
                query["first_row"] + start,
                g.principal.user_id,
            )
            for status in ("accepted", "duplicate", "rejected"):
                outcomes[status] += chunk[status]
            outcomes["rows"] += chunk["rows"]
    report = {"import_id": import_id, "location_id": location_id, **outcomes}
    location = url_for(
        ".administration_import_report", location_id=location_id, import_id=import_id
    )
    return created(report, location)


def _csv_rows(data: bytes) -> list[dict]:
    if request.mimetype not in ("text/csv", "application/csv"):
        raise ApiError(400, "invalid_csv", "Send the file as text/csv.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_csv", "The file is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader, [])]
    unknown = sorted(set(header) - set(IMPORT_COLUMNS))
    missing = [name for name in REQUIRED_IMPORT_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        fields = {}
        if unknown:
            fields["header"] = [f"Unknown columns: {', '.join(unknown)}."]
        if missing:
            fields.setdefault("header", []).append(f"Missing columns: {', '.join(missing)}.")
        if len(set(header)) != len(header):
            fields.setdefault("header", []).append("A column is named twice.")
        raise ApiError(400, "invalid_csv", "The header is not the template's.", fields)
    rows = []
    for values in reader:
        # A short row is padded (trailing empty cells dropped by spreadsheets); a long one is an
        # error the administration service reports for its row.
        padded = values + [""] * (len(header) - len(values))
        rows.append(dict(zip(header, padded[: len(header)], strict=True)))
        if len(values) > len(header):
            rows[-1]["_extra_cells"] = ",".join(values[len(header) :])
    while rows and not any(value.strip() for value in rows[-1].values()):
        rows.pop()  # blank lines at the end of the file
    if not rows:
        raise ApiError(400, "invalid_csv", "The file has no rows under its header.")
    return rows


@administration_api.get("/locations/<location_id>/administration-imports/<import_id>")
@allow(*STAFF, location_scoped=True, scopes=("administrations:read",))
@doc(
    "An import's report: every row sent so far, accepted, duplicate or rejected with why",
    tag="offline operations",
    responses={200: ("The report", schemas.ImportReport)},
)
def administration_import_report(location_id: str, import_id: str):
    return jsonify(call.administration.import_report(location_id, import_id))


@administration_api.get("/locations/<location_id>/administration-imports/<import_id>/report.csv")
@allow(*STAFF, location_scoped=True, scopes=("administrations:read",))
@doc(
    "An import's report as CSV: row, record_id, status, administration_id, recipient_id, errors",
    tag="offline operations",
    responses={200: ("The report (text/csv)", None)},
)
def administration_import_report_csv(location_id: str, import_id: str):
    report = call.administration.import_report(location_id, import_id)
    return attachment(report_csv(report["rows"]), "text/csv", f"import-{import_id}-report.csv")


def report_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        errors = "; ".join(
            f"{field}: {' '.join(messages)}"
            for field, messages in (row.get("errors") or {}).items()
        )
        writer.writerow(
            [
                row["row"],
                row["record_id"],
                row["status"],
                row["administration_id"] or "",
                row["recipient_id"] or "",
                errors,
            ]
        )
    return out.getvalue()
