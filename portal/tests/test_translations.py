"""Every string a person can read is in English and Spanish: each message the templates and
views mark for translation has a Spanish translation in one of the areas' catalogs."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "portal"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def marked_messages() -> dict[str, str]:
    """msgid -> where it is first used."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, options_map={"**/templates/**.html": {}}
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def spanish_catalog() -> dict[str, str]:
    translations: dict[str, str] = {}
    for po_path in sorted((PACKAGE / "translations").glob("*/es/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as handle:
            for message in read_po(handle, locale="es"):
                if not message.id or message.fuzzy:
                    continue
                # A plural message is keyed by its singular and needs every form.
                forms = message.string if message.pluralizable else (message.string,)
                if all(forms):
                    msgid = message.id[0] if message.pluralizable else message.id
                    translations[msgid] = forms[0]
    return translations


def test_every_marked_string_has_a_spanish_translation():
    spanish = spanish_catalog()
    missing = {msgid: where for msgid, where in marked_messages().items() if msgid not in spanish}
    assert not missing, "no Spanish for:\n" + "\n".join(
        f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items(), key=lambda i: i[1])
    )


def test_placeholders_survive_translation():
    for msgid, msgstr in spanish_catalog().items():
        for name in ("%(name)s", "%(num)s"):
            assert (name in msgid) == (name in msgstr), msgid
