"""The client's address: what every count per address uses (rate limits, sign-in lockout, the
audit log).

A request reaches the gateway from the browser or partner system itself, or through hops that
say whom they serve in X-Forwarded-For: the web portal (one server address for every member of
the public; it sends the browser's address) and any proxy or load balancer an operator puts in
front. That header is believed only from hops the operator trusts (`CVMS_TRUSTED_PROXIES`):
read right to left, each trusted hop vouches for the address before it, and the first address
that is not a trusted hop is the client. Whatever a client writes into the header itself lies
further left, behind its own address, and is never reached.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from flask import current_app, request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

EXTENSION = "cvms_trusted_proxies"
_CACHED = "cvms.client_ip"


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_ip() -> str:
    """The address of the client of the current request (computed once per request)."""
    environ = request.environ
    known = environ.get(_CACHED)
    if known is None:
        known = environ[_CACHED] = forwarded_client(
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            current_app.extensions.get(EXTENSION, ()),
        )
    return known


def forwarded_client(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> str:
    """The client behind `peer`: `peer` itself unless it is trusted; then the last address of
    X-Forwarded-For that is not a trusted hop (or the first one, if every hop is trusted)."""
    address = _address(peer or "")
    if address is None:
        return peer or "unknown"
    if not _trusted(address, trusted) or not forwarded_for:
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        before = _address(hop)
        if before is None:
            # Not an address ("unknown", garbage): the hop that wrote it is as far as trust
            # reaches.
            break
        address = before
        if not _trusted(address, trusted):
            break
    return str(address)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def _address(text: str) -> Address | None:
    """An address as hops write it: "203.0.113.5", "2001:db8::1", "[2001:db8::1]:443",
    "203.0.113.5:51234"; IPv4-mapped IPv6 as IPv4."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
