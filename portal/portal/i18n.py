"""English and Spanish for every string.

Each area of the portal keeps its own catalog (translations/<area>/es/LC_MESSAGES/messages.po),
so areas can be worked on side by side; Flask-Babel merges them. The .po files are the source:
they are compiled to .mo at start-up into the data directory, never committed.

The language is, in order: what the person chose (the switch, remembered in their session and
in a long-lived cookie), a signed-in recipient's preferred language, the browser's
Accept-Language, English.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel
from flask_babel import gettext as _gettext

LANGUAGES = {"en": "English", "es": "Español"}
# For a form's choice of a person's preferred language: (code, name in that language).
LANGUAGE_CHOICES = tuple(LANGUAGES.items())
LANG_COOKIE = "cvms_lang"
SOURCE = Path(__file__).parent / "translations"


def compile_catalogs(target: Path) -> list[str]:
    """Compile every area's .po into `target`/<area>/<lang>/LC_MESSAGES/messages.mo."""
    directories = []
    for area in sorted(p for p in SOURCE.iterdir() if p.is_dir()):
        for po_path in area.glob("*/LC_MESSAGES/messages.po"):
            lang = po_path.parent.parent.name
            out = target / area.name / lang / "LC_MESSAGES" / "messages.mo"
            out.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
            # Written aside and renamed: gunicorn workers may compile at the same moment.
            fd, draft = tempfile.mkstemp(dir=out.parent, suffix=".mo")
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog)
            os.replace(draft, out)
        directories.append(str(target / area.name))
    return directories


def select_language() -> str:
    chosen = session.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES.keys()) or "en"


def install(app: Flask, data_dir: Path) -> None:
    directories = compile_catalogs(data_dir / "portal-i18n")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    Babel(app, locale_selector=select_language)

    @app.before_request
    def _language():
        g.lang = select_language()

    app.jinja_env.filters["api_message"] = api_message

    @app.context_processor
    def _languages():
        return {"languages": LANGUAGES, "lang": g.get("lang", "en")}


def api_message(message: str) -> str:
    """An API message in the page's language: the catalogs hold the API's common messages
    (marshmallow's, the clinical checks'); any other is shown as the API wrote it."""
    return _gettext(message) if message else message
