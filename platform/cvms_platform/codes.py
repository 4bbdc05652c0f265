"""Code and value lists shared by the services, the gateway that documents and checks them, and
the event contracts: the paper Recipient Registration form's (CDC/HL7 value sets), a dose's site
and route, and the reasons and actors that events and APIs name."""

# The paper Recipient Registration form's code lists (CDC/HL7 value sets).
SEXES = {"F": "female", "M": "male", "X": "other", "U": "unknown"}  # HL7 0001 -> FHIR gender
RACES = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "2131-1": "Other Race",
    "ASKU": "Asked but unknown (declined)",
    "UNK": "Unknown",
}  # CDC Race & Ethnicity code set (CDCREC)
ETHNICITIES = {
    "2135-2": "Hispanic or Latino",
    "2186-5": "Not Hispanic or Latino",
    "ASKU": "Asked but unknown (declined)",
    "UNK": "Unknown",
}
LANGUAGES = {"en": "English", "es": "Spanish"}
# How a recipient agrees to be contacted (also on events, for a notifications service).
CHANNELS = ("email", "sms", "phone", "mail")
US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "AS",
    "GU",
    "MP",
    "PR",
    "VI",
]


def describe(codes: dict[str, str]) -> str:
    return ", ".join(f"{code} ({meaning})" for code, meaning in codes.items())


# Where and how a dose was given (HL7 v2 tables 0163 and 0162, as the CDC IIS guide uses them in
# RXR-2 and RXR-1). Labels in English and Spanish, for the API, the record PDF and paper forms.
ADMINISTRATION_SITES = {
    "LA": ("Left Arm", "Brazo izquierdo"),
    "LD": ("Left Deltoid", "Deltoides izquierdo"),
    "LG": ("Left Gluteus Medius", "Glúteo medio izquierdo"),
    "LLFA": ("Left Lower Forearm", "Antebrazo inferior izquierdo"),
    "LT": ("Left Thigh", "Muslo izquierdo"),
    "LVL": ("Left Vastus Lateralis", "Vasto lateral izquierdo"),
    "RA": ("Right Arm", "Brazo derecho"),
    "RD": ("Right Deltoid", "Deltoides derecho"),
    "RG": ("Right Gluteus Medius", "Glúteo medio derecho"),
    "RLFA": ("Right Lower Forearm", "Antebrazo inferior derecho"),
    "RT": ("Right Thigh", "Muslo derecho"),
    "RVL": ("Right Vastus Lateralis", "Vasto lateral derecho"),
}
ADMINISTRATION_ROUTES = {
    "ID": ("Intradermal", "Intradérmica"),
    "IM": ("Intramuscular", "Intramuscular"),
    "IN": ("Intranasal", "Intranasal"),
    "IV": ("Intravenous", "Intravenosa"),
    "PO": ("Oral", "Oral"),
    "SC": ("Subcutaneous", "Subcutánea"),
    "TD": ("Transdermal", "Transdérmica"),
    "OTH": ("Other/Miscellaneous", "Otra"),
}


def label(codes: dict[str, tuple[str, str]], code: str | None, language: str = "en") -> str:
    """A code's label in English or Spanish; '' for no code."""
    if not code:
        return ""
    english, spanish = codes.get(code, (code, code))
    return spanish if language == "es" else english


def describe_labels(codes: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{code} ({english})" for code, (english, _) in codes.items())


# Why doses were wasted (doses_wasted, and the API and paper forms that record wastage).
WASTAGE_REASONS = (
    "broken_vial",
    "drawn_not_administered",
    "open_vial_time_limit",
    "temperature_excursion",
    "expired",
    "other",
    # Received through the marketplace outside the product's storage range (its attestation).
    "cold_chain_failure",
)
# Why a lot's stock changed (a ledger entry's reason; inventory_adjusted).
LEDGER_REASONS = (
    "received",
    "administered",
    "wasted",
    "transferred_out",
    "transferred_in",
    "correction",
    "administration_voided",
)
# Who cancelled or rescheduled an appointment.
APPOINTMENT_ACTORS = ("recipient", "staff", "system")

# Who a user is to CVMS (identity owns users; the gateway checks routes against these).
ROLES = (
    "state_admin",
    "org_admin",
    "location_manager",
    "vaccinator",
    "helpdesk",
    "recipient",
    "partner",
    # A help-desk account (issue 15): files and follows its own cases, nothing else.
    "requester",
)
# The roles an enrollment's initial users, and the users added to its locations later, may have.
INITIAL_ROLES = ("location_manager", "vaccinator")
# What a partner system's API key may be allowed.
API_KEY_SCOPES = (
    "inventory:read",
    "inventory:write",
    "administrations:read",
    "administrations:write",
    "recipients:read",
    "recipients:write",
    # A clinic's own systems (an EHR, a check-in kiosk): its clinic days and appointments, and
    # check-in, no-show and walk-ins. Opening, closing and cancelling stay with staff.
    "appointments:read",
    "appointments:write",
)
