"""Where the files that ship beside the code are found, and the reading of the
translations: migrations and translations.

In a source checkout (or an editable install) they are the top-level ``migrations/``
and ``locales/`` folders; a built wheel carries them inside the package as
``chatshop/_migrations`` and ``chatshop/_locales``.
"""

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "chatshop"  # the gettext domain: locales/<lang>/LC_MESSAGES/chatshop.po

_PACKAGE = Path(__file__).resolve().parent


def _shipped(packaged: str, top_level: str) -> Path:
    inside = _PACKAGE / packaged
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / top_level


def migrations_dir() -> Path:
    """The folder of numbered ``NNNN_name.sql`` migrations."""
    return _shipped("_migrations", "migrations")


def locales_dir() -> Path:
    """The folder holding ``chatshop.pot`` and ``<lang>/LC_MESSAGES/chatshop.po``."""
    return _shipped("_locales", "locales")


def read_catalogue(language: str) -> Translations:
    """The gettext catalogue for ``language``, compiled in memory from its ``.po`` file
    (``chatshop.i18n`` asks for it once, at its first message)."""
    po_path = locales_dir() / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
