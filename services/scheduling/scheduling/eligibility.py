"""Who may be booked for a product: the catalog's minimum age (inventory's `min_age_years`),
reached on the day of the appointment, not the day of booking."""

from __future__ import annotations

from datetime import date

from scheduling.exceptions import Unprocessable


def age_on(birth_date: date, day: date) -> int:
    """Full years of life on `day` (a 29 February birthday comes on 1 March in other years)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def require_minimum_age(product: dict | None, birth_date: date, day: date) -> None:
    """Unprocessable on `birth_date` when the person is younger than the product allows on
    `day`. A product the catalog gives no minimum age for has none."""
    minimum = (product or {}).get("min_age_years")
    if minimum is None or age_on(birth_date, day) >= minimum:
        return
    name = (product or {}).get("name") or (product or {}).get("id") or "this vaccine"
    raise Unprocessable(
        {
            "birth_date": [
                f"{name} is for people aged {minimum} and over; this person is "
                f"{age_on(birth_date, day)} on {day.isoformat()}."
            ]
        }
    )
