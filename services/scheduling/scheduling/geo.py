"""ZIP code centroids and distances for the public locator.

The `zipcodes` package bundles the US ZIP code database (centroid latitude/longitude and time
zone per ZIP) so the locator needs no geocoding service at runtime."""

from __future__ import annotations

import math
from dataclasses import dataclass

import zipcodes

EARTH_RADIUS_MILES = 3958.8
DEFAULT_TIME_ZONE = "America/New_York"


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    time_zone: str


def zip_place(zip_code: str) -> Place | None:
    """The centroid of a 5-digit ZIP code (ZIP+4 is cut to five), or None if unknown."""
    try:
        matches = zipcodes.matching(zip_code[:5])
    except (TypeError, ValueError):
        return None
    for match in matches:
        try:
            return Place(
                float(match["lat"]),
                float(match["long"]),
                match.get("timezone") or DEFAULT_TIME_ZONE,
            )
        except (KeyError, TypeError, ValueError):
            continue
    return None


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(1.0, a)))


def bounding_box(lat: float, lon: float, radius_miles: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) around a point: a cheap indexed prefilter that
    contains every point within the radius (the exact distance is checked afterwards)."""
    dlat = math.degrees(radius_miles / EARTH_RADIUS_MILES)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(radius_miles / (EARTH_RADIUS_MILES * cos_lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
