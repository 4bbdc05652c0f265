"""A vaccine product named for a person, in their language: the record, the paper forms and the
portal's pages name it the same way.

The catalog's names carry the cap colour in English ("Pfizer-BioNTech COVID-19 Vaccine (Gray
Cap)") and each product has its `cap_color` ("gray"). For a person the cap colour is said once,
in their language: "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)", "Pfizer-BioNTech COVID-19
Vaccine (tapa gris)".
"""

from __future__ import annotations

import re

# The cap colours the catalog uses, in Spanish ("tapa" is feminine).
CAP_COLORS_ES = {
    "gray": "gris",
    "grey": "gris",
    "purple": "morada",
    "orange": "naranja",
    "red": "roja",
    "blue": "azul",
    "dark blue": "azul oscuro",
    "maroon": "granate",
    "yellow": "amarilla",
    "royal blue": "azul rey",
    "light blue": "azul claro",
}
# "(Gray Cap)" at the end of a catalog name.
_CAP_SUFFIX = re.compile(r"\s*\(\s*([A-Za-z][A-Za-z ]*?)\s+cap\s*\)\s*$", re.IGNORECASE)


def name_without_cap(name: str) -> str:
    """The catalog's name without its English cap colour."""
    return _CAP_SUFFIX.sub("", name).strip()


def cap_label(color: str | None, language: str = "en") -> str:
    """ "Gray Cap" / "tapa gris"; "" without a colour."""
    color = " ".join((color or "").split())
    if not color:
        return ""
    if language == "es":
        return f"tapa {CAP_COLORS_ES.get(color.lower(), color.lower())}"
    return f"{color.title()} Cap"


def product_label(name: str, cap_color: str | None, language: str = "en") -> str:
    """The product for a person: its name and, once, its cap colour in `language` (the one in
    the name when the product has none of its own)."""
    base = name_without_cap(name)
    if not cap_color and (named := _CAP_SUFFIX.search(name)):
        cap_color = named.group(1)
    cap = cap_label(cap_color, language)
    return f"{base} ({cap})" if cap else base


LANGUAGES = ("en", "es")


def product_labels(product: dict) -> dict[str, str]:
    """The product's label in every language people read CVMS in (the API gives them all, so a
    front end names a product as the record and the paper forms do)."""
    return {
        language: product_label(product.get("name") or "", product.get("cap_color"), language)
        for language in LANGUAGES
    }
