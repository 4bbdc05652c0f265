"""Every page renders from the API's answers at a cost of at most 3 API calls (issue 12), once
the product catalog and the location's name are kept; products are named once with their cap
colour, in the page's language (issue 19). The gateway is a fake that answers from fixtures and
counts the calls (the browser tests in tests/browser drive the real stack)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from portal import catalog
from portal.app import create_app
from portal.gateway import ApiProblem, Gateway
from portal.tokens import TokenStore
from portal.views import recipient

LOCATION = "demo-clinic"
RED = "moderna-red-18plus"
PRODUCT = {
    "id": RED,
    "name": "Moderna COVID-19 Vaccine (Red Cap)",
    "cap_color": "red",
    "labels": {
        "en": "Moderna COVID-19 Vaccine (Red Cap)",
        "es": "Moderna COVID-19 Vaccine (tapa roja)",
    },
    "active": True,
    "dose_volume_ml": 0.5,
    "doses_per_vial": 10,
}
LOT = {
    "id": "lot-1",
    "product_id": RED,
    "lot_number": "AB1234",
    "expiration_date": "2099-01-31",
    "doses_on_hand": 10,
    "doses_received": 10,
    "status": "usable",
    "storage_unit": "fridge-1",
}
NEXT_LOT = {
    "lot_id": "lot-1",
    "lot_number": "AB1234",
    "product_id": RED,
    "expiration_date": "2099-01-31",
    "open_vial_id": None,
}
RECIPIENT = {
    "id": "r-1",
    "given_name": "Grace",
    "family_name": "Hopper",
    "birth_date": "1975-03-09",
    "phone": "217-555-0142",
    "email": None,
    "preferred_language": "en",
    "contact_preferences": {"sms": True},
}
DOSE = {
    "id": "a-1",
    "administered_at": "2026-01-15T15:30:00+00:00",
    "dose_number": 1,
    "product_id": RED,
    "product_name": PRODUCT["name"],
    "cap_color": "red",
    "labels": PRODUCT["labels"],
    "lot_number": "AB1234",
    "location_id": LOCATION,
    "location_name": "Demo Clinic",
    "site": "LD",
    "route": "IM",
}
ADMINISTRATION = {
    **DOSE,
    "recipient_id": "r-1",
    "lot_id": "lot-1",
    "status": "completed",
    "dose_volume_ml": 0.5,
    "recorded_by": "clinic.vaccinator",
    "recorded_at": "2026-01-15T15:31:00+00:00",
    "history": [
        {
            "action": "corrected",
            "changed_at": "2026-01-15T16:00:00+00:00",
            "changed_by": "clinic.manager",
            "reason": "Wrong arm.",
            "before": {"site": "LD"},
            "after": {"site": "RD"},
        }
    ],
}
SLOT = {
    "id": "s-1",
    "starts_at": "2099-01-02T14:00:00+00:00",
    "ends_at": "2099-01-02T14:30:00+00:00",
    "product_id": RED,
    "capacity": 2,
    "booked": 1,
    "available": 1,
    "open": True,
}
CLINIC_DAY = {
    "id": "d-1",
    "date": "2099-01-02",
    "status": "open",
    "booked": 1,
    "capacity": 2,
    "slots": [SLOT],
    "walk_ins": [],
    "waitlist_waiting": 0,
}
APPOINTMENT = {
    "id": "ap-1",
    "status": "booked",
    "starts_at": SLOT["starts_at"],
    "given_name": "Lucia",
    "family_name": "Rivera",
    "birth_date": "1985-04-12",
    "product_id": RED,
    "dose_number": 1,
    "location_id": LOCATION,
    "slot_id": "s-1",
    "history": [{"action": "booked", "at": "2098-12-01T10:00:00+00:00", "by": "public"}],
    "next_dose": None,
}
PLACE = {
    "location_id": LOCATION,
    "name": "Demo Clinic",
    "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
    "time_zone": "America/Chicago",
    "accepting_appointments": True,
    "walk_ins_accepted": True,
    "products": [{"product_id": RED, "stock_status": "in_stock", "appointments_available": 3}],
    "clinic_days": [
        {
            "clinic_day_id": "d-1",
            "date": "2099-01-02",
            "product_id": RED,
            "available": 1,
        }
    ],
    "hours": {},
}
ANSWERS = [
    ("GET", r"/products", [PRODUCT]),
    ("GET", r"/public/products", [PRODUCT]),
    ("GET", r"/locations", {"locations": [{"id": LOCATION, "name": "Demo Clinic"}]}),
    ("GET", r"/account", {"role": "org_admin", "organization_id": "demo-org", "user_id": "u"}),
    (
        "GET",
        r"/locations/[^/]+/inventory",
        {"lots": [LOT], "total_doses_on_hand": 10},
    ),
    (
        "GET",
        r"/locations/[^/]+/open-vials",
        [
            {
                "vial_id": "v-1",
                "lot_id": "lot-1",
                "product_id": RED,
                "doses_left": 3,
                "seconds_left": 3600,
                "beyond_use_at": "2099-01-01T12:00:00+00:00",
            }
        ],
    ),
    (
        "GET",
        r"/locations/[^/]+/stock-supply",
        {
            "threshold_days": 7,
            "products": [
                {
                    "product_id": RED,
                    "doses_on_hand": 10,
                    "average_daily_use": 1.0,
                    "days_of_supply": 10.0,
                    "next_lot": NEXT_LOT,
                }
            ],
        },
    ),
    ("GET", r"/locations/[^/]+/products/[^/]+/next-lot", NEXT_LOT),
    (
        "GET",
        r"/locations/[^/]+/lots/[^/]+/ledger",
        {
            "entries": [
                {
                    "recorded_at": "2026-01-15T15:30:00+00:00",
                    "reason": "received",
                    "delta": 10,
                    "balance_after": 10,
                }
            ],
            "next_before": None,
        },
    ),
    ("GET", r"/locations/[^/]+/discrepancies", []),
    ("GET", r"/recipients", {"recipients": [RECIPIENT], "more": False}),
    ("GET", r"/recipients/[^/]+", RECIPIENT),
    ("GET", r"/recipients/[^/]+/vaccinations", [DOSE]),
    ("GET", r"/administrations/[^/]+", ADMINISTRATION),
    ("GET", r"/locations/[^/]+/clinic-days", [CLINIC_DAY]),
    ("GET", r"/locations/[^/]+/clinic-days/[^/]+", CLINIC_DAY),
    (
        "GET",
        r"/locations/[^/]+/clinic-days/[^/]+/waitlist",
        [
            {
                "given_name": "Ana",
                "family_name": "Diaz",
                "product_id": RED,
                "status": "waiting",
                "joined_at": "2098-12-01T10:00:00+00:00",
                "offer_expires_at": None,
            }
        ],
    ),
    ("GET", r"/locations/[^/]+/appointments", [APPOINTMENT]),
    ("GET", r"/locations/[^/]+/appointments/[^/]+", APPOINTMENT),
    ("GET", r"/locations/[^/]+/public-settings", {"name": "Demo Clinic", "products": [RED]}),
    ("GET", r"/locations/[^/]+/stock-status", {RED: {"status": "in_stock"}}),
    (
        "GET",
        r"(/locations/[^/]+)?/inventory-levels",
        {
            "rows": [
                {"location_id": LOCATION, "product_id": RED, "received": 10, "on_hand_end": 9}
            ],
            "totals": [{"product_id": RED, "received": 10, "on_hand_end": 9}],
            "grand_total": {"received": 10, "on_hand_end": 9},
            "total_rows": 1,
            "page_size": 200,
        },
    ),
    (
        "GET",
        r"(/locations/[^/]+)?/inventory-levels/daily",
        {
            "products": [
                {
                    "product_id": RED,
                    "points": [
                        {"date": "2026-01-14", "on_hand": 10},
                        {"date": "2026-01-15", "on_hand": 9},
                    ],
                }
            ]
        },
    ),
    ("GET", r"/public/locations", [{**PLACE, "distance_miles": 2.5}]),
    ("GET", r"/public/locations/[^/]+", PLACE),
    ("GET", r"/public/locations/[^/]+/slots", [SLOT]),
    ("GET", r"/public/appointments/[^/]+", APPOINTMENT),
    ("GET", r"/me", RECIPIENT),
    ("GET", r"/me/vaccinations", [DOSE]),
    (
        "GET",
        r"/users",
        {
            "users": [
                {
                    "id": "u-2",
                    "username": "clinic.vaccinator",
                    "role": "vaccinator",
                    "location_ids": [LOCATION],
                    "active": True,
                    "locked_for_seconds": 60,
                }
            ]
        },
    ),
    (
        "GET",
        r"/organizations/[^/]+/api-keys",
        {
            "api_keys": [
                {
                    "id": "k-1",
                    "name": "EHR",
                    "prefix": "cvms_ab",
                    "scopes": ["inventory:read"],
                    "created_at": "2026-01-15T15:30:00+00:00",
                    "last_used_at": None,
                }
            ]
        },
    ),
    (
        "GET",
        r"/audit-events",
        {
            "events": [
                {
                    "occurred_at": "2026-01-15T15:30:00+00:00",
                    "actor_id": "clinic.manager",
                    "role": "location_manager",
                    "method": "GET",
                    "route": "/api/v1/recipients/<recipient_id>",
                    "action": "read",
                    "status": 200,
                    "ip": "127.0.0.1",
                }
            ],
            "page": 1,
            "next_page": None,
        },
    ),
    (
        "GET",
        r"/enrollment-reviews",
        {
            "enrollments": [
                {
                    "id": "e-1",
                    "legal_name": "Prairie Health",
                    "location_count": 2,
                    "submitted_at": "2026-01-15T15:30:00+00:00",
                    "status": "submitted",
                }
            ]
        },
    ),
]


class FakeGateway(Gateway):
    def __init__(self):
        super().__init__("http://gateway.invalid", 1)
        self.calls: list[str] = []
        self.answers = list(ANSWERS)  # a test may put answers of its own first

    def call(self, method, path, **kwargs):
        self.calls.append(f"{method} {path}")
        for answer_method, pattern, answer in self.answers:
            if answer_method == method and re.fullmatch(pattern, path):
                if isinstance(answer, ApiProblem):
                    raise answer
                return answer
        raise AssertionError(f"no fixture for {method} {path}")


@pytest.fixture
def fake(tmp_path, monkeypatch, settings):
    app = create_app(replace(settings, gateway_url="http://gateway.invalid"), data_dir=tmp_path)
    app.config["WTF_CSRF_ENABLED"] = False
    gateway = FakeGateway()
    app.extensions["cvms_gateway"] = gateway
    monkeypatch.setattr(TokenStore, "access_token", lambda self, ref: "token")
    monkeypatch.setattr(catalog, "_public", {"at": 0.0, "items": None})
    client = app.test_client()
    with client.session_transaction() as session:
        session["auth"] = "ref"
        session["role"] = "location_manager"
        session["seen"] = 9e12
    return client, gateway


LOCATION_PAGES = f"/provider/locations/{LOCATION}"
PAGES = [
    f"{LOCATION_PAGES}/inventory",
    f"{LOCATION_PAGES}/inventory/receive",
    f"{LOCATION_PAGES}/inventory/lots/lot-1",
    f"{LOCATION_PAGES}/inventory/excursions",
    f"{LOCATION_PAGES}/inventory/threshold",
    f"{LOCATION_PAGES}/inventory/discrepancies",
    f"{LOCATION_PAGES}/recipients",
    f"{LOCATION_PAGES}/recipients?family_name=Hopper&birth_date=1975-03-09",
    f"{LOCATION_PAGES}/recipients/r-1",
    f"{LOCATION_PAGES}/doses/new?recipient_id=r-1",
    f"{LOCATION_PAGES}/doses/a-1",
    f"{LOCATION_PAGES}/clinic-days",
    f"{LOCATION_PAGES}/clinic-days/d-1",
    f"{LOCATION_PAGES}/clinic-days/d-1/waitlist",
    f"{LOCATION_PAGES}/appointments?date=2099-01-02",
    f"{LOCATION_PAGES}/appointments/ap-1",
    f"{LOCATION_PAGES}/listing",
    f"{LOCATION_PAGES}/reports/levels",
    f"{LOCATION_PAGES}/offline",
    "/provider/reports/levels",
    "/find?zip=62701",
    f"/find/locations/{LOCATION}",
    f"/find/locations/{LOCATION}/times?date=2099-01-02&product={RED}",
    f"/find/locations/{LOCATION}/book?slot_id=s-1&date=2099-01-02&product={RED}",
    "/my/",
    "/provider/admin/audit",
    "/provider/admin/users",
    "/provider/admin/api-keys",
    "/provider/admin/products",
    "/provider/enrollments",
]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_costs_at_most_three_api_calls(fake, path):
    client, gateway = fake
    first = client.get(path)
    assert first.status_code == 200, first.get_data(as_text=True)[-2000:]
    gateway.calls.clear()

    again = client.get(path)

    assert again.status_code == 200
    assert len(gateway.calls) <= 3, gateway.calls
    if not path.startswith("/provider/admin/products"):  # the catalog's own page reads it fresh
        assert "GET /products" not in gateway.calls  # the catalog is kept for a while
    assert not any(call.startswith("GET /locations?") for call in gateway.calls)


def test_recording_a_dose_asks_for_the_recipient_the_stock_and_the_next_lot(fake):
    client, gateway = fake
    client.get(f"{LOCATION_PAGES}/doses/new?recipient_id=r-1&product_id={RED}")
    gateway.calls.clear()

    client.get(f"{LOCATION_PAGES}/doses/new?recipient_id=r-1&product_id={RED}")

    assert gateway.calls == [
        "GET /recipients/r-1",
        f"GET /locations/{LOCATION}/inventory",
        f"GET /locations/{LOCATION}/products/{RED}/next-lot",
    ]


@pytest.mark.parametrize(
    "path",
    [
        f"{LOCATION_PAGES}/doses/new?recipient_id=r-1&product_id={RED}",
        f"{LOCATION_PAGES}/recipients/r-1",
        f"{LOCATION_PAGES}/doses/a-1",
        f"{LOCATION_PAGES}/inventory",
        f"/find/locations/{LOCATION}",
        "/my/",
    ],
)
@pytest.mark.parametrize(
    ("lang", "label", "other"),
    [("en", "(Red Cap)", "(tapa roja)"), ("es", "(tapa roja)", "(Red Cap)")],
)
def test_a_product_is_named_once_with_its_cap_colour_in_the_pages_language(
    fake, path, lang, label, other
):
    client, _gateway = fake
    client.get(f"/language/{lang}")

    page = client.get(path).get_data(as_text=True)

    assert label in page and other not in page
    assert "cap colour:" not in page and "color de tapa:" not in page


CODE = "ABCDEFGHJK"
NEXT_DOSE = {
    "next_dose": {
        "dose_number": 2,
        "product_id": RED,
        "eligible_from": "2099-01-30",
        "location_id": LOCATION,
    },
    "slots": [SLOT],
}


@pytest.mark.parametrize(
    ("page", "missing", "answer"),
    [
        ("reschedule", "Choose a new time.", APPOINTMENT),
        ("next-dose", "Choose a time.", {"confirmation_code": "NEXTDOSE23"}),
    ],
)
def test_a_new_time_for_a_booking_is_the_slot_chosen(fake, page, missing, answer):
    client, gateway = fake
    gateway.answers[:0] = [
        ("POST", f"/public/appointments/{CODE}/{page}", answer),
        ("GET", f"/public/appointments/{CODE}/next-dose", NEXT_DOSE),
    ]
    with client.session_transaction() as session:
        session["public_code"] = CODE

    none_chosen = client.post(f"/appointments/mine/{page}", data={})
    chosen = client.post(f"/appointments/mine/{page}", data={"slot_id": "s-1"})

    assert none_chosen.status_code == 400
    assert missing in none_chosen.get_data(as_text=True)
    assert chosen.status_code == 302 and chosen.location.endswith("/appointments/mine")
    assert f"POST /public/appointments/{CODE}/{page}" in gateway.calls
    with client.session_transaction() as session:
        assert session["public_code"] == answer.get("confirmation_code", CODE)


@pytest.mark.parametrize(
    ("page", "mine", "no_code", "status"),
    [
        ("/appointments", "/appointments/mine", "Enter your confirmation code.", 400),
        ("/waitlist", "/waitlist/mine", "We could not find a waitlist entry with that code.", 404),
    ],
)
def test_a_code_found_opens_its_page_and_no_code_is_asked_for(fake, page, mine, no_code, status):
    client, gateway = fake
    gateway.answers[:0] = [("GET", f"/public/waitlist/{CODE}", {"code": CODE})]

    without = client.post(page, data={"code": ""})
    found = client.post(page, data={"code": CODE})

    assert without.status_code == status
    assert no_code in without.get_data(as_text=True)
    assert found.status_code == 302 and found.location.endswith(mine)
    assert gateway.calls == [f"GET /public{page}/{CODE}"]


USER_CREATED = {
    "user": {"username": "new.nurse"},
    "set_password": {"token": "t-1", "expires_at": "2099-01-01T00:00:00+00:00"},
}
EMAIL_TAKEN = ApiProblem(409, "conflict", "That e-mail address is in use.")


@pytest.mark.parametrize(
    ("page", "form", "created"),
    [
        (
            "users",
            {"name": "New Nurse", "email": "n@example.org", "role": "vaccinator"},
            USER_CREATED,
        ),
        ("api-keys", {"name": "EHR", "scopes": "inventory:read"}, {"name": "EHR", "key": "k"}),
    ],
)
def test_a_new_user_or_api_key_is_created_from_the_filled_fields(fake, page, form, created):
    client, gateway = fake
    gateway.answers[:0] = [("POST", f"/organizations/demo-org/{page}", created)]

    response = client.post(f"/provider/admin/{page}", data=form)

    assert response.status_code == 302 and response.location.endswith(f"/provider/admin/{page}")
    assert f"POST /organizations/demo-org/{page}" in gateway.calls


def test_an_email_in_use_is_said_beside_the_email_field(fake):
    client, gateway = fake
    gateway.answers[:0] = [("POST", "/organizations/demo-org/users", EMAIL_TAKEN)]

    response = client.post(
        "/provider/admin/users", data={"name": "A", "email": "a@example.org", "role": "vaccinator"}
    )

    assert response.status_code == 400
    assert 'id="field-email-error"' in response.get_data(as_text=True)


def test_the_contact_page_offers_the_states_the_api_accepts_asked_for_once(fake, monkeypatch):
    client, gateway = fake
    monkeypatch.setattr(recipient, "_us_states", [])
    address = {"properties": {"state": {"enum": ["IL", "PR"]}}}
    document = {"components": {"schemas": {"RecipientAddress": address}}}
    gateway.answers[:0] = [("GET", r"/openapi\.json", document)]

    first = client.get("/my/contact")
    second = client.get("/my/contact")

    assert first.status_code == second.status_code == 200
    page = second.get_data(as_text=True)
    assert '<option value="IL">IL</option>' in page and '<option value="PR">PR</option>' in page
    assert gateway.calls.count("GET /openapi.json") == 1
