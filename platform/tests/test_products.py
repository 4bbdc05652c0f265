"""A product named for a person: the cap colour once, in their language."""

import pytest

from cvms_platform.products import cap_label, name_without_cap, product_label

GRAY = "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"


@pytest.mark.parametrize(
    ("name", "cap", "language", "label"),
    [
        (GRAY, "gray", "en", "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)"),
        (GRAY, "gray", "es", "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)"),
        ("Moderna COVID-19 Vaccine (Red Cap)", "red", "es", "Moderna COVID-19 Vaccine (tapa roja)"),
        ("Janssen COVID-19 Vaccine", "blue", "en", "Janssen COVID-19 Vaccine (Blue Cap)"),
        ("Janssen COVID-19 Vaccine", "blue", "es", "Janssen COVID-19 Vaccine (tapa azul)"),
        # the product's own colour wins over the one in its name (an edited catalog)
        (GRAY, "Dark Blue", "es", "Pfizer-BioNTech COVID-19 Vaccine (tapa azul oscuro)"),
        # without a colour of its own, the name's, still once and in the language
        (GRAY, None, "es", "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)"),
        (GRAY, "", "en", GRAY),
        ("Janssen COVID-19 Vaccine", None, "es", "Janssen COVID-19 Vaccine"),
        # a colour without a Spanish word is kept as it is
        ("Vaccine X", "teal", "es", "Vaccine X (tapa teal)"),
    ],
)
def test_the_cap_colour_is_named_once_in_the_language(name, cap, language, label):
    assert product_label(name, cap, language) == label


def test_the_parts():
    assert name_without_cap(GRAY) == "Pfizer-BioNTech COVID-19 Vaccine"
    assert name_without_cap("Novavax COVID-19 Vaccine, Adjuvanted") == (
        "Novavax COVID-19 Vaccine, Adjuvanted"
    )
    assert (cap_label("gray"), cap_label("GRAY", "es"), cap_label(None)) == (
        "Gray Cap",
        "tapa gris",
        "",
    )
