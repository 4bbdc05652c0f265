"""The documents administration renders from its own data, as PDFs (fpdf2): a recipient's
vaccination record (`record_pdf`) and the printable forms of offline operations (`paper_forms`).

An answer is JSON, as every RPC answer is: {filename, content_type, base64}. Rendering is CPU
work in pure Python: it runs in a native thread (eventlet's tpool) so that the worker's green
threads, the AMQP heartbeat among them, keep running meanwhile. The paper forms never change
while the service runs: each is rendered once per language."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

from eventlet import tpool

from administration.documents import paper_forms, record_pdf

CONTENT_TYPE = "application/pdf"
RECORD_FILENAME = "vaccination-record.pdf"
# The paper forms by the name their URL and file take.
PAPER_FORMS: dict[str, Callable[[str], bytes]] = {
    "recipient-registration": paper_forms.registration_form,
    "vaccine-administration": paper_forms.administration_form,
}

_rendered_forms: dict[tuple[str, str], dict] = {}


def answer(content: bytes, filename: str) -> dict:
    return {
        "filename": filename,
        "content_type": CONTENT_TYPE,
        "base64": base64.b64encode(content).decode("ascii"),
    }


def record(
    recipient: dict,
    vaccinations: list[dict],
    location_names: dict[str, str],
    language: str,
    printed_at: datetime,
) -> dict:
    """The recipient's record (`recipient` as RecipientSchema dumps it, `vaccinations` as
    portal.vaccinations lists them) in `language`."""
    content = tpool.execute(
        record_pdf.render, recipient, vaccinations, location_names, language, printed_at
    )
    return answer(content, RECORD_FILENAME)


def paper_form(kind: str, language: str) -> dict:
    """One of PAPER_FORMS in `language`, rendered the first time it is asked for."""
    key = (kind, language)
    rendered = _rendered_forms.get(key)
    if rendered is None:
        content = tpool.execute(PAPER_FORMS[kind], language)
        rendered = _rendered_forms[key] = answer(content, f"{kind}-{language}.pdf")
    return dict(rendered)
