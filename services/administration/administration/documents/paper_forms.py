"""The printable forms of offline operations, in English and Spanish (fpdf2): the Recipient
Registration form and the Vaccine Administration form. Each box is labelled with the CSV column
it is typed into (GET /forms/administration-import.csv), so a filled form becomes a CSV row."""

from __future__ import annotations

from fpdf import FPDF

from cvms_platform import codes

TEXT = {
    "en": {
        "registration": "Recipient Registration",
        "administration": "Vaccine Administration",
        "subtitle": "COVID-19 Vaccine Management System - offline form. Print clearly; "
        "the [column] under each box is where it is typed in the import file.",
        "record_id": "Record ID (unique on this form set)",
        "given_name": "Given name",
        "family_name": "Family name",
        "birth_date": "Date of birth (YYYY-MM-DD)",
        "sex": "Sex",
        "sexes": {"F": "Female", "M": "Male", "X": "Other", "U": "Unknown"},
        "race": "Race",
        "ethnicity": "Ethnicity",
        "address_line1": "Address",
        "address_line2": "Address (line 2)",
        "city": "City",
        "state": "State",
        "postal_code": "ZIP code",
        "phone": "Phone",
        "email": "E-mail",
        "preferred_language": "Preferred language",
        "languages": {"en": "English", "es": "Spanish"},
        "contact": "May we contact you about your next dose? Tick every way that is fine:",
        "channels": {
            "email": "E-mail",
            "sms": "Text message",
            "phone": "Phone call",
            "mail": "Mail",
        },
        "signature": "Recipient's signature and date",
        "recipient": "Recipient (as registered)",
        "administered_at": "Date and time given (YYYY-MM-DD HH:MM, with the UTC offset)",
        "product": "Vaccine product",
        "lot_number": "Lot number (from the vial)",
        "dose_number": "Dose number",
        "site": "Site",
        "route": "Route",
        "dose_volume_ml": "Dose volume (mL)",
        "performer_name": "Vaccinator's name",
        "notes": "Notes",
        "staff": "For staff",
    },
    "es": {
        "registration": "Registro del Vacunado",
        "administration": "Administración de la Vacuna",
        "subtitle": "Sistema de Gestión de Vacunas COVID-19 - formulario sin conexión. Escriba "
        "con claridad; la [columna] bajo cada casilla indica dónde se escribe en el archivo.",
        "record_id": "N.º de registro (único en este juego de formularios)",
        "given_name": "Nombre",
        "family_name": "Apellido",
        "birth_date": "Fecha de nacimiento (AAAA-MM-DD)",
        "sex": "Sexo",
        "sexes": {"F": "Femenino", "M": "Masculino", "X": "Otro", "U": "Desconocido"},
        "race": "Raza",
        "ethnicity": "Origen étnico",
        "address_line1": "Dirección",
        "address_line2": "Dirección (línea 2)",
        "city": "Ciudad",
        "state": "Estado",
        "postal_code": "Código postal",
        "phone": "Teléfono",
        "email": "Correo electrónico",
        "preferred_language": "Idioma preferido",
        "languages": {"en": "Inglés", "es": "Español"},
        "contact": "¿Podemos avisarle de su próxima dosis? Marque cada medio aceptable:",
        "channels": {
            "email": "Correo electrónico",
            "sms": "Mensaje de texto",
            "phone": "Llamada",
            "mail": "Correo postal",
        },
        "signature": "Firma del vacunado y fecha",
        "recipient": "Vacunado (como fue registrado)",
        "administered_at": "Fecha y hora (AAAA-MM-DD HH:MM, con la diferencia UTC)",
        "product": "Producto de la vacuna",
        "lot_number": "Número de lote (del vial)",
        "dose_number": "Número de dosis",
        "site": "Sitio",
        "route": "Vía",
        "dose_volume_ml": "Volumen de la dosis (mL)",
        "performer_name": "Nombre del vacunador",
        "notes": "Notas",
        "staff": "Para el personal",
    },
}
RACES_ES = {
    "1002-5": "Indígena americano o nativo de Alaska",
    "2028-9": "Asiático",
    "2054-5": "Negro o afroamericano",
    "2076-8": "Nativo de Hawái u otras islas del Pacífico",
    "2106-3": "Blanco",
    "2131-1": "Otra raza",
    "ASKU": "Prefiere no decir",
    "UNK": "Desconocido",
}
ETHNICITIES_ES = {
    "2135-2": "Hispano o latino",
    "2186-5": "No hispano ni latino",
    "ASKU": "Prefiere no decir",
    "UNK": "Desconocido",
}


class _Form(FPDF):
    def __init__(self, language: str, title: str):
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.language = language
        self.words = TEXT[language]
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, 15)
        self.set_title(title)
        self.set_lang(language)
        self.add_page()
        self.set_font("Helvetica", "B", 16)
        self.cell(0, 9, _latin(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 8)
        self.multi_cell(0, 4, _latin(self.words["subtitle"]), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def box(self, key: str, width: float, column: str | None = None, *, last: bool = False):
        """A labelled empty box, the CSV column printed under it."""
        x, y = self.get_x(), self.get_y()
        self.set_font("Helvetica", "", 8)
        self.cell(width, 4, _latin(self.words.get(key, key)))
        self.set_xy(x, y + 4)
        self.cell(width - 2, 8, "", border=1)
        self.set_xy(x, y + 12)
        self.set_font("Helvetica", "I", 6)
        self.cell(width, 3, f"[{column or key}]")
        if last:
            self.set_xy(self.l_margin, y + 17)
        else:
            self.set_xy(x + width, y)

    def recipient(self) -> None:
        """The boxes that say who the recipient is, first on every form."""
        self.box("record_id", 60)
        self.box("given_name", 60)
        self.box("family_name", 60, last=True)
        self.box("birth_date", 60)
        self.box("phone", 60)
        self.box("email", 60, last=True)

    def choices(self, key: str, column: str, options: dict[str, str]):
        """A labelled list of tick boxes, each with the code to type."""
        self.set_font("Helvetica", "", 8)
        self.cell(
            0, 5, _latin(f"{self.words.get(key, key)}  [{column}]"), new_x="LMARGIN", new_y="NEXT"
        )
        width = (self.w - self.l_margin - self.r_margin) / 3
        for index, (code, meaning) in enumerate(options.items()):
            if index and index % 3 == 0:
                self.ln(5)
            self.cell(4, 4, "", border=1)
            self.cell(width - 4, 4, _latin(f" {meaning} ({code})"))
        self.ln(7)


def registration_form(language: str) -> bytes:
    form = _Form(language, TEXT[language]["registration"])
    words = form.words
    form.recipient()
    form.box("address_line1", 120)
    form.box("address_line2", 60, last=True)
    form.box("city", 80)
    form.box("state", 40)
    form.box("postal_code", 60, last=True)
    form.choices("sex", "sex", words["sexes"])
    races = RACES_ES if language == "es" else codes.RACES
    form.choices("race", "race", races)
    ethnicities = ETHNICITIES_ES if language == "es" else codes.ETHNICITIES
    form.choices("ethnicity", "ethnicity", ethnicities)
    form.choices("preferred_language", "preferred_language", words["languages"])
    form.set_font("Helvetica", "", 8)
    form.cell(0, 5, _latin(words["contact"]), new_x="LMARGIN", new_y="NEXT")
    for channel, meaning in words["channels"].items():
        form.cell(4, 4, "", border=1)
        form.cell(44, 4, _latin(f" {meaning} [contact_{channel}]"))
    form.ln(10)
    form.box("signature", 180, "-", last=True)
    return bytes(form.output())


def administration_form(language: str) -> bytes:
    form = _Form(language, TEXT[language]["administration"])
    form.recipient()
    form.box("administered_at", 120)
    form.box("dose_number", 60, last=True)
    form.box("product", 90, "-")
    form.box("lot_number", 90, last=True)
    form.box("dose_volume_ml", 60)
    form.box("performer_name", 120, last=True)
    index = 1 if language == "es" else 0
    form.choices(
        "site", "site", {c: labels[index] for c, labels in codes.ADMINISTRATION_SITES.items()}
    )
    form.choices(
        "route", "route", {c: labels[index] for c, labels in codes.ADMINISTRATION_ROUTES.items()}
    )
    form.box("notes", 180, "-", last=True)
    return bytes(form.output())


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
