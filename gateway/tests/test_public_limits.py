"""The public routes' limits (gateway/public_limits.py): made for addresses many people share.
A shared address is not refused for its crowd; one client guessing codes is stopped; a code, a
person and a slot each have a limit of their own."""

import uuid

import pytest

from cvms_platform.errors import Conflict, NotFound
from gateway.settings import LIMIT_VARIABLES, Settings

BOOK = "/api/v1/public/appointments"
LOCATE = "/api/v1/public/locations?zip=30303"
SLOT = "b6f0c7a0-9d7e-4a55-9d55-0d6c1f7f2a11"
OTHER_SLOT = "0c8d1d57-3f71-4f1b-9a56-1c1f5a3b2e10"
CODE = "K7M2QX9PTA"
SHARED = {"REMOTE_ADDR": "100.64.0.1"}  # a carrier's address, thousands of phones behind it
GUESSER = {"REMOTE_ADDR": "198.51.100.66"}


def person(n: int, **overrides) -> dict:
    return {
        "slot_id": SLOT,
        "given_name": "Ana",
        "family_name": f"Garcia-{n}",
        "birth_date": "1960-02-01",
        "phone": "404-555-0101",
        **overrides,
    }


def appointment(code: str = CODE) -> dict:
    return {"confirmation_code": code, "status": "booked", "slot_id": SLOT}


@pytest.fixture
def gateway(make_app, redis_client):
    """An app with the given settings (the production defaults otherwise) and its fake RPC."""

    def make(**overrides):
        app = make_app(**overrides)
        return app.test_client(), app.extensions["cvms_rpc"].cluster

    return make


def assert_limited(response, most_seconds: int = 61):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.get_json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= most_seconds


def test_two_hundred_people_behind_one_address_all_book_with_the_defaults(gateway):
    client, rpc = gateway()
    rpc.answer("scheduling.book_appointment", appointment())
    rpc.answer("scheduling.get_appointment", appointment())
    rpc.answer("scheduling.locate", [])

    booked = [client.post(BOOK, json=person(n), environ_base=SHARED) for n in range(200)]
    assert [r.status_code for r in booked] == [201] * 200
    # then each of them looks at their booking and searches the locator
    codes = [f"CODE{n:06d}" for n in range(200)]
    looked = [client.get(f"{BOOK}/{c}", environ_base=SHARED).status_code for c in codes]
    assert looked == [200] * 200
    assert client.get(LOCATE, environ_base=SHARED).status_code == 200


def test_one_client_guessing_codes_is_stopped_and_its_neighbours_are_not(gateway):
    client, rpc = gateway(code_miss_limit="5/10 minutes")
    rpc.answer("scheduling.get_appointment", NotFound("No appointment has this confirmation code."))
    guesses = [f"{BOOK}/GUESS{n:05d}" for n in range(6)]
    missed = [client.get(guess, environ_base=GUESSER).status_code for guess in guesses[:5]]
    assert missed == [404] * 5
    stopped = client.get(guesses[5], environ_base=GUESSER)
    assert_limited(stopped, most_seconds=600)
    assert int(stopped.headers["Retry-After"]) > 60
    assert "unknown codes" in stopped.get_json()["message"]
    # stopped on every code route, a real code too, and a forged X-Forwarded-For changes nothing
    rpc.answer("scheduling.get_appointment", appointment())
    assert client.get(f"{BOOK}/{CODE}", environ_base=GUESSER).status_code == 429
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get(f"{BOOK}/{CODE}", environ_base=GUESSER, headers=forged).status_code == 429
    assert client.post(f"{BOOK}/{CODE}/cancel", json={}, environ_base=GUESSER).status_code == 429
    # people elsewhere look their codes up
    assert client.get(f"{BOOK}/{CODE}", environ_base=SHARED).status_code == 200
    # and the guesser may still book: only the code routes are closed to it
    rpc.answer("scheduling.book_appointment", appointment())
    assert client.post(BOOK, json=person(1), environ_base=GUESSER).status_code == 201


def test_lookups_of_codes_that_exist_are_not_misses(gateway):
    client, rpc = gateway(code_miss_limit="3/10 minutes")
    rpc.answer("scheduling.get_appointment", appointment())
    codes = [f"CODE{n:06d}" for n in range(20)]
    assert [client.get(f"{BOOK}/{c}", environ_base=SHARED).status_code for c in codes] == [200] * 20


def test_each_code_has_a_limit_of_its_own(gateway):
    client, rpc = gateway(code_rate_limit="3/minute")
    rpc.answer("scheduling.get_appointment", appointment())
    rpc.answer("scheduling.get_waitlist_entry", {"code": "WAITCODE22", "status": "waiting"})
    # however the code is typed, it is the same code
    spelled = [CODE, CODE.lower(), "K7M2-QX9PTA"]
    assert [client.get(f"{BOOK}/{c}").status_code for c in spelled] == [200] * 3
    assert_limited(client.get(f"{BOOK}/{CODE}", environ_base=SHARED))
    assert client.get(f"{BOOK}/OTHERCODE2").status_code == 200
    # the waitlist's codes too
    waitlist = [client.get("/api/v1/public/waitlist/WAITCODE22").status_code for _ in range(4)]
    assert waitlist[:3] == [200] * 3 and waitlist[3] == 429


def test_each_person_has_a_limit_of_their_own(gateway):
    client, rpc = gateway()  # the default: 20 a minute
    rpc.answer("scheduling.book_appointment", Conflict("Full.", "slot_full"))
    ana = person(1)
    # the same person however the name is typed, from any address
    spellings = [ana, {**ana, "family_name": "GARCIA 1"}, {**ana, "given_name": " ána "}]
    statuses = [
        client.post(
            BOOK,
            json={**spellings[n % 3], "slot_id": str(uuid.uuid4())},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        ).status_code
        for n in range(20)
    ]
    assert statuses == [409] * 20
    assert_limited(client.post(BOOK, json={**ana, "slot_id": str(uuid.uuid4())}))
    # someone else, and the same name with another birth date, are other people
    assert client.post(BOOK, json=person(2)).status_code == 409
    assert client.post(BOOK, json={**ana, "birth_date": "1961-02-01"}).status_code == 409


def test_each_slot_has_a_limit_but_a_known_full_slot_is_answered_full(gateway):
    client, rpc = gateway(slot_rate_limit="3/minute")
    rpc.answer("scheduling.book_appointment", appointment())
    assert [client.post(BOOK, json=person(n)).status_code for n in range(3)] == [201] * 3
    assert_limited(client.post(BOOK, json=person(3)))
    assert client.post(BOOK, json=person(4, slot_id=OTHER_SLOT)).status_code == 201

    # scheduling says the other slot is full: the rush for it gets a clean "full", not 429
    rpc.answer("scheduling.book_appointment", Conflict("Full.", "slot_full"))
    answers = [client.post(BOOK, json=person(10 + n, slot_id=OTHER_SLOT)) for n in range(10)]
    assert {(a.status_code, a.get_json()["error"]) for a in answers} == {(409, "slot_full")}


def test_an_invalid_booking_is_answered_400_and_counts_for_no_person_or_slot(gateway):
    client, rpc = gateway(person_rate_limit="1/minute", slot_rate_limit="1/minute")
    for _ in range(3):
        assert client.post(BOOK, json={"slot_id": "not-a-slot"}).status_code == 400
        assert client.post(BOOK, data="not json").status_code == 400
    rpc.answer("scheduling.book_appointment", appointment())
    assert client.post(BOOK, json=person(1)).status_code == 201


def test_the_locator_and_booking_have_ceilings_of_their_own(gateway):
    client, rpc = gateway(booking_rate_limit="2/minute", locator_rate_limit="3/minute")
    rpc.answer("scheduling.book_appointment", appointment())
    rpc.answer("scheduling.locate", [])
    assert [client.post(BOOK, json=person(n)).status_code for n in range(2)] == [201, 201]
    assert_limited(client.post(BOOK, json=person(3)))
    # a booking rush from this address does not stop its locator searches, nor the reverse
    assert [client.get(LOCATE).status_code for _ in range(3)] == [200] * 3
    assert_limited(client.get(LOCATE))
    assert client.get(LOCATE, environ_base={"REMOTE_ADDR": "10.2.2.2"}).status_code == 200


def test_the_per_user_limit_does_not_apply_to_public_routes(gateway):
    client, rpc = gateway(rate_limit="2/minute")
    rpc.answer("scheduling.locate", [])
    assert [client.get(LOCATE).status_code for _ in range(5)] == [200] * 5
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 429


def test_counter_keys_name_no_code_and_no_person(gateway, redis_client, redis_prefix):
    client, rpc = gateway()
    rpc.answer("scheduling.book_appointment", appointment())
    rpc.answer("scheduling.get_appointment", appointment())
    client.post(BOOK, json=person(1))
    client.get(f"{BOOK}/{CODE}")
    keys = " ".join(k.decode() for k in redis_client.scan_iter(match=f"*{redis_prefix}:limits*"))
    assert "public-code" in keys and "public-person" in keys and "public-slot" in keys
    assert CODE not in keys.upper() and "GARCIA" not in keys.upper()


def test_public_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("CVMS_JWT_SECRET", "from-the-environment")
    for name in LIMIT_VARIABLES:  # the production defaults
        monkeypatch.delenv(name, raising=False)
    defaults = Settings.from_env()
    assert (defaults.booking_rate_limit, defaults.locator_rate_limit) == (
        "10000/minute",
        "10000/minute",
    )
    assert (defaults.code_rate_limit, defaults.code_miss_limit) == ("30/minute", "50/10 minutes")
    assert (defaults.person_rate_limit, defaults.slot_rate_limit) == ("20/minute", "600/minute")

    monkeypatch.setenv("CVMS_CODE_MISS_LIMIT", "10/hour")
    monkeypatch.setenv("CVMS_PERSON_RATE_LIMIT", "off")
    changed = Settings.from_env()
    assert (changed.code_miss_limit, changed.person_rate_limit) == ("10/hour", "off")
