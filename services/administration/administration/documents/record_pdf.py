"""A recipient's vaccination record as a PDF (fpdf2), in English or Spanish: who they are and
every dose given (date, product with its cap color, lot, dose number, location)."""

from __future__ import annotations

from datetime import date, datetime

from fpdf import FPDF

from cvms_platform.codes import ADMINISTRATION_ROUTES, ADMINISTRATION_SITES, label
from cvms_platform.products import product_label

LABELS = {
    "en": {
        "title": "COVID-19 Vaccination Record",
        "name": "Name",
        "birth_date": "Date of birth",
        "record_id": "Record ID",
        "doses": "Doses given",
        "date": "Date",
        "product": "Product",
        "lot": "Lot",
        "dose": "Dose",
        "location": "Location",
        "site": "Site / route",
        "none": "No doses recorded.",
        "printed": "Printed on {when} from the COVID-19 Vaccine Management System.",
    },
    "es": {
        "title": "Registro de vacunación contra el COVID-19",
        "name": "Nombre",
        "birth_date": "Fecha de nacimiento",
        "record_id": "Número de registro",
        "doses": "Dosis administradas",
        "date": "Fecha",
        "product": "Producto",
        "lot": "Lote",
        "dose": "Dosis",
        "location": "Lugar",
        "site": "Sitio / vía",
        "none": "No hay dosis registradas.",
        "printed": "Impreso el {when} desde el Sistema de Gestión de Vacunas COVID-19.",
    },
}
# Column widths (mm) of the doses table on a portrait Letter page with 15 mm margins.
WIDTHS = (22, 60, 22, 12, 34, 30)


def format_date(value: date, language: str) -> str:
    return value.strftime("%d/%m/%Y") if language == "es" else value.strftime("%m/%d/%Y")


def render(
    recipient: dict,
    vaccinations: list[dict],
    location_names: dict[str, str],
    language: str,
    printed_at: datetime,
) -> bytes:
    words = LABELS[language]
    pdf = FPDF(orientation="P", unit="mm", format="Letter")
    pdf.set_margins(15, 15, 15)
    pdf.set_title(words["title"])
    pdf.set_lang(language)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(words["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    name = f"{recipient['given_name']} {recipient['family_name']}"
    birth = format_date(date.fromisoformat(recipient["birth_date"]), language)
    for caption, value in (
        (words["name"], name),
        (words["birth_date"], birth),
        (words["record_id"], recipient["id"]),
    ):
        pdf.cell(45, 7, _latin(f"{caption}:"))
        pdf.cell(0, 7, _latin(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, _latin(words["doses"]), new_x="LMARGIN", new_y="NEXT")
    if not vaccinations:
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(0, 8, _latin(words["none"]), new_x="LMARGIN", new_y="NEXT")
    else:
        _doses_table(pdf, vaccinations, location_names, language, words)
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 8)
    when = format_date(printed_at.date(), language)
    pdf.cell(0, 5, _latin(words["printed"].format(when=when)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _doses_table(pdf: FPDF, vaccinations, location_names, language: str, words: dict) -> None:
    pdf.set_font("Helvetica", "", 9)
    heading = (
        words["date"],
        words["product"],
        words["lot"],
        words["dose"],
        words["location"],
        words["site"],
    )
    with pdf.table(col_widths=WIDTHS, text_align="LEFT", line_height=5) as table:
        row = table.row()
        for text in heading:
            row.cell(_latin(text))
        for dose in vaccinations:
            given = datetime.fromisoformat(dose["administered_at"]).date()
            product = product_label(dose["product_name"], dose.get("cap_color"), language)
            how = " / ".join(
                part
                for part in (
                    label(ADMINISTRATION_SITES, dose.get("site"), language),
                    dose.get("route") and label(ADMINISTRATION_ROUTES, dose["route"], language),
                )
                if part
            )
            row = table.row()
            for text in (
                format_date(given, language),
                product,
                dose["lot_number"],
                str(dose["dose_number"]),
                location_names.get(dose["location_id"], dose["location_id"]),
                how,
            ):
                row.cell(_latin(text))


def _latin(text: str) -> str:
    """The PDF's core fonts are Latin-1: Spanish accents are in it; anything else is replaced."""
    return text.encode("latin-1", "replace").decode("latin-1")
