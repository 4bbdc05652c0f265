"""The client's address: X-Forwarded-For is believed only from trusted hops (the portal, a
proxy), read right to left; what a client forges in it changes nothing. Every count per address
(rate limits, sign-in lockout) uses that one address."""

import pytest

from gateway.addresses import forwarded_client, networks
from gateway.settings import trusted_proxies

SPEC = "/api/v1/openapi.json"
TOKEN = "/api/v1/auth/token"
PORTAL = "127.0.0.1"
TRUSTED = networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # an untrusted peer is the client, whatever it says
        ("198.51.100.7", "203.0.113.5", "198.51.100.7"),
        ("198.51.100.7", None, "198.51.100.7"),
        # the portal (trusted) names the browser
        (PORTAL, "203.0.113.5", "203.0.113.5"),
        # a trusted hop with nothing to say is the client itself
        (PORTAL, None, PORTAL),
        (PORTAL, "", PORTAL),
        # right to left past trusted hops: a load balancer (10/8) in front of the portal
        ("10.1.2.3", "203.0.113.5, 10.9.9.9", "203.0.113.5"),
        # what the browser forged lies left of its own address and is never reached
        (PORTAL, "1.2.3.4, 203.0.113.5", "203.0.113.5"),
        ("10.1.2.3", "1.2.3.4, 203.0.113.5, 10.9.9.9", "203.0.113.5"),
        # every hop trusted: the first one is the client
        ("10.1.2.3", "10.0.0.8, 10.0.0.9", "10.0.0.8"),
        # not an address: trust ends at the hop that wrote it
        (PORTAL, "unknown", PORTAL),
        ("10.1.2.3", "203.0.113.5, garbage", "10.1.2.3"),
        # ports, brackets, IPv6 and IPv4-mapped IPv6
        (PORTAL, "203.0.113.5:51234", "203.0.113.5"),
        (PORTAL, "[2001:db8::7]:443", "2001:db8::7"),
        (PORTAL, "2001:db8::7", "2001:db8::7"),
        ("::ffff:127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("::ffff:198.51.100.7", "203.0.113.5", "198.51.100.7"),
        (None, "203.0.113.5", "unknown"),
    ],
)
def test_the_client_is_the_first_address_that_is_not_a_trusted_hop(peer, forwarded_for, client):
    assert forwarded_client(peer, forwarded_for, TRUSTED) == client


def test_without_trusted_hops_the_peer_is_the_client():
    assert forwarded_client(PORTAL, "203.0.113.5", ()) == PORTAL


def test_trusted_proxies_are_addresses_or_networks():
    assert trusted_proxies("") == ()
    assert trusted_proxies(" 127.0.0.1,10.0.0.0/8  ::1 ") == (
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    )
    with pytest.raises(ValueError, match="not a number of hops"):
        trusted_proxies("1")
    with pytest.raises(ValueError, match="not an address"):
        trusted_proxies("127.0.0.1,proxy.internal")


@pytest.fixture
def behind_portal(make_app, redis_client):
    """A gateway that trusts the portal's address only, with tight limits to see them work."""

    def make(**overrides):
        return make_app(trusted_proxies=(PORTAL,), **overrides).test_client()

    return make


def from_address(address: str, forwarded_for: str | None = None) -> dict:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return {"environ_base": {"REMOTE_ADDR": address}, "headers": headers}


def test_a_forged_forwarded_for_from_an_untrusted_client_changes_nothing(behind_portal):
    client = behind_portal(rate_limit="2/minute")
    stranger = "198.51.100.7"
    assert client.get(SPEC, **from_address(stranger, "203.0.113.1")).status_code == 200
    assert client.get(SPEC, **from_address(stranger, "203.0.113.2")).status_code == 200
    # a third made-up address is still the same client: refused
    refused = client.get(SPEC, **from_address(stranger, "203.0.113.3"))
    assert refused.status_code == 429
    # and what it claimed to be has a counter of its own, untouched
    assert client.get(SPEC, **from_address(PORTAL, "203.0.113.3")).status_code == 200


def test_through_the_portal_each_browser_is_counted_on_its_own(behind_portal):
    client = behind_portal(rate_limit="2/minute")
    for _ in range(2):
        assert client.get(SPEC, **from_address(PORTAL, "203.0.113.5")).status_code == 200
    assert client.get(SPEC, **from_address(PORTAL, "203.0.113.5")).status_code == 429
    assert client.get(SPEC, **from_address(PORTAL, "203.0.113.6")).status_code == 200
    # the portal's own calls (no browser behind them) are the portal's
    assert client.get(SPEC, **from_address(PORTAL)).status_code == 200


def test_sign_in_lockout_per_address_is_per_browser_behind_the_portal(behind_portal):
    client = behind_portal(login_max_failures_per_ip=2)
    guesser = from_address(PORTAL, "203.0.113.66")
    for n in range(2):
        client.post(TOKEN, json={"username": f"nobody-{n}", "password": "wrong"}, **guesser)
    locked = client.post(TOKEN, json={"username": "nobody-3", "password": "wrong"}, **guesser)
    assert locked.status_code == 429 and locked.get_json()["error"] == "too_many_attempts"
    # another browser behind the same portal signs in
    other = client.post(
        TOKEN,
        json={"username": "clinic.manager", "password": "demo-clinic-manager"},
        **from_address(PORTAL, "203.0.113.67"),
    )
    assert other.status_code == 200, other.get_json()
