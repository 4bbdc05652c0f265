"""The documents administration renders from its own data: a recipient's vaccination record and
the paper forms of offline operations, as PDFs in English and Spanish; over RPC as base64 text,
rendered in a native thread, the forms once per language."""

import base64
import io
import json
from datetime import UTC, datetime

import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies
from nameko.testing.utils import get_extension
from pypdf import PdfReader

from administration import documents, schemas
from administration.documents import paper_forms, record_pdf
from administration.service import AdministrationService
from cvms_platform.db import Database
from cvms_platform.errors import InvalidInput, NotFound
from cvms_platform.testing import SAMPLE_DOSE as DOSE
from cvms_platform.testing import SAMPLE_RECIPIENT as RECIPIENT

PRINTED = datetime(2026, 2, 3, 12, 0, tzinfo=UTC)


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())  # cells wrap


def pdf_of(answer: dict) -> bytes:
    assert answer["content_type"] == "application/pdf"
    return base64.b64decode(answer["base64"], validate=True)


@pytest.fixture(autouse=True)
def no_forms_rendered_yet(monkeypatch):
    monkeypatch.setattr(documents, "_rendered_forms", {})


# -- rendering ------------------------------------------------------------------------------------
def test_the_record_in_english_and_spanish():
    names = {"demo-clinic": "Demo Community Vaccine Clinic"}
    english = text_of(record_pdf.render(RECIPIENT, [DOSE], names, "en", PRINTED))
    spanish = text_of(record_pdf.render(RECIPIENT, [DOSE], names, "es", PRINTED))

    assert "COVID-19 Vaccination Record" in english and "Registro de vacunación" in spanish
    for text in (english, spanish):
        assert "Ada Lovelace" in text and "r-1" in text and "FK5127" in text
        assert "Demo Community Vaccine Clinic" in text
    assert "12/10/1990" in english and "01/15/2026" in english and "02/03/2026" in english
    assert "10/12/1990" in spanish and "15/01/2026" in spanish and "03/02/2026" in spanish
    # The cap colour once, in the reader's language; site and route by their labels.
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in english
    assert english.lower().count("gray") == 1
    assert "Pfizer-BioNTech COVID-19 Vaccine (tapa gris)" in spanish
    assert spanish.lower().count("gris") == 1 and "cap" not in spanish.lower()
    assert "Left Deltoid / Intramuscular" in english and "Deltoides izquierdo" in spanish


def test_a_record_without_doses_says_so_and_an_unnamed_location_is_its_id():
    assert "No doses recorded." in text_of(record_pdf.render(RECIPIENT, [], {}, "en", PRINTED))
    assert "demo-clinic" in text_of(record_pdf.render(RECIPIENT, [DOSE], {}, "en", PRINTED))


@pytest.mark.parametrize(
    "render, language, expected",
    [
        (paper_forms.registration_form, "en", ("Recipient Registration", "[birth_date]")),
        (paper_forms.registration_form, "es", ("Registro del Vacunado", "Fecha de nacimiento")),
        (paper_forms.administration_form, "en", ("Vaccine Administration", "Left Deltoid (LD)")),
        (paper_forms.administration_form, "es", ("Número de lote", "Deltoides izquierdo (LD)")),
    ],
)
def test_the_paper_forms_in_english_and_spanish(render, language, expected):
    text = text_of(render(language))
    assert all(words in text for words in expected)


# -- over RPC -------------------------------------------------------------------------------------
def test_the_record_is_in_the_recipients_language_unless_asked(service, recipient, lot, make_dose):
    service.record_administration(make_dose(recipient, lot, days_ago=2), "nurse-1")
    names = {lot["location_id"]: "Clinic One"}

    english = service.record_pdf(recipient["id"], None, names)  # registered as preferring en
    service.update_recipient_contact(recipient["id"], {"preferred_language": "es"})
    spanish = service.record_pdf(recipient["id"], None, names)
    asked = service.record_pdf(recipient["id"], "en", names)

    assert english["filename"] == "vaccination-record.pdf"
    assert "COVID-19 Vaccination Record" in text_of(pdf_of(english))
    assert "Registro de vacunación" in text_of(pdf_of(spanish))
    text = text_of(pdf_of(asked))
    assert "COVID-19 Vaccination Record" in text
    assert "Lovelace" in text and lot["lot_number"] in text and "Clinic One" in text
    assert "Pfizer-BioNTech COVID-19 Vaccine (Gray Cap)" in text


def test_a_voided_dose_is_not_on_the_record_and_locations_default_to_their_ids(
    service, recipient, lot, make_dose
):
    dose = make_dose(recipient, lot, days_ago=2)
    service.record_administration(dose, "nurse-1")
    service.void_administration(dose["id"], {"reason": "Wrong person."}, "mgr")
    assert "No doses recorded." in text_of(pdf_of(service.record_pdf(recipient["id"])))

    service.record_administration(make_dose(recipient, lot, days_ago=1), "nurse-1")
    assert lot["location_id"] in text_of(pdf_of(service.record_pdf(recipient["id"], "en")))


def test_the_record_of_nobody_is_not_found(service):
    with pytest.raises(NotFound):
        service.record_pdf("00000000-0000-0000-0000-000000000000", "en", {})


@pytest.mark.parametrize(
    "language, names, field",
    [
        ("fr", {}, "language"),
        ("en", ["clinic-1"], "location_names"),
        ("en", {"clinic-1": 42}, "location_names"),
        ("en", {"": "Nowhere"}, "location_names"),
    ],
)
def test_a_record_asked_for_wrongly_is_invalid(service, recipient, language, names, field):
    with pytest.raises(InvalidInput) as refused:
        service.record_pdf(recipient["id"], language, names)
    assert list(refused.value.errors) == [field]


def test_the_record_is_rendered_in_a_native_thread(service, recipient, monkeypatch):
    executed = []

    def execute(function, *args):
        executed.append(function)
        return function(*args)

    monkeypatch.setattr(documents.tpool, "execute", execute)
    service.record_pdf(recipient["id"], "en", {})
    assert executed == [record_pdf.render]


def test_each_paper_form_is_rendered_once_per_language(service, monkeypatch):
    executed = []
    real_execute = documents.tpool.execute

    def execute(function, *args):
        executed.append((function, args))
        return real_execute(function, *args)

    monkeypatch.setattr(documents.tpool, "execute", execute)
    first = service.paper_form("vaccine-administration", "es")
    again = service.paper_form("vaccine-administration", "es")
    english = service.paper_form("vaccine-administration")  # en by default

    assert executed == [(paper_forms.administration_form, ("es",))] + [
        (paper_forms.administration_form, ("en",))
    ]
    assert first == again and first["filename"] == "vaccine-administration-es.pdf"
    assert "Deltoides izquierdo (LD)" in text_of(pdf_of(again))
    assert english["filename"] == "vaccine-administration-en.pdf"
    assert "Vaccine Administration" in text_of(pdf_of(english))


@pytest.mark.parametrize(
    "kind, language, field",
    [("consent", "en", "kind"), ("recipient-registration", "fr", "language")],
)
def test_an_unknown_form_or_language_is_invalid(service, kind, language, field):
    with pytest.raises(InvalidInput) as refused:
        service.paper_form(kind, language)
    assert list(refused.value.errors) == [field]


def test_the_forms_validated_are_the_forms_rendered():
    assert set(schemas.PAPER_FORMS) == set(documents.PAPER_FORMS)


# -- in a container -------------------------------------------------------------------------------
def test_a_form_from_a_running_service_is_json(container_factory, container_config):
    container = container_factory(AdministrationService, container_config)
    replace_dependencies(container, "inventory")
    container.start()
    try:
        with entrypoint_hook(container, "paper_form") as paper_form:
            answer = paper_form("recipient-registration", "en")
    finally:
        container.kill()
        get_extension(container, Database).engine.dispose()

    assert json.loads(json.dumps(answer)) == answer
    assert "Recipient Registration" in text_of(pdf_of(answer))
