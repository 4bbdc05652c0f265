"""What the gateway asks identity on the way in, remembered briefly: which locations exist, and
whom a partner's API key stands for.

- A location, once it exists, always does (locations are never removed): a hit is remembered for
  the life of the worker, a miss is asked again, so a new location is usable at once.
- An API key's answer is remembered for `key_ttl_s` (1 s), so a partner's burst of requests
  costs one RPC a second, not one per request. A revoked key fails at once everywhere: the
  worker that revoked it forgets it and puts its id on the Redis denylist for that second
  (`access.api_key_principal` checks it); without Redis, within the second.
  Keys are held by their SHA-256 digest, never as given.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

from flask import current_app, g

from gateway.security import Principal

KEY_CACHE_SIZE = 10_000


class Directory:
    def __init__(self, key_ttl_s: float = 1.0):
        self._known_locations: set[str] = set()
        self._key_ttl = key_ttl_s
        self._keys: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _identity():
        return current_app.extensions["cvms_rpc"].services(g.get("request_id") or "directory")

    def exists(self, location_id: str) -> bool:
        if location_id in self._known_locations:
            return True
        with self._identity() as s:
            found = bool(s.identity.location_exists(location_id))
        if found:
            self._known_locations.add(location_id)
        return found

    def api_key(self, presented: str) -> Principal | None:
        """The partner a valid, unrevoked key stands for (acting for its organization's
        locations, with its scopes), or None."""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._identity() as s:
            found = s.identity.resolve_api_key(presented)
        principal = None
        if found is not None:
            principal = Principal(
                user_id=found["key_id"],
                username=f"api-key:{found['prefix']}",
                role="partner",
                location_ids=frozenset(found["location_ids"]),
                organization_id=found["organization_id"],
                scopes=frozenset(found["scopes"]),
            )
        with self._lock:
            self._keys[digest] = (now + self._key_ttl, principal)
            self._keys.move_to_end(digest)
            while len(self._keys) > KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
        return principal

    def forget_key(self, key_id: str) -> None:
        """A key revoked through this worker fails here at once (elsewhere within the TTL)."""
        with self._lock:
            for digest, (_, principal) in list(self._keys.items()):
                if principal is not None and principal.user_id == key_id:
                    del self._keys[digest]
