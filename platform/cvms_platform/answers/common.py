"""What the answers of more than one service share: a location id's form.

Location ids are chosen by the state when a location is enrolled, and every service that keys
its records by location checks them the same way: the gateway's request bodies, inventory's
transfers and RPC arguments, scheduling's RPC arguments."""

from __future__ import annotations

from marshmallow import validate

LOCATION_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", error="Not a valid location id.")
