"""Where the files that ship beside the code are found: migrations and translations.

In a source checkout (or an editable install) they are the top-level ``migrations/``
and ``locales/`` folders; a built wheel carries them inside the package as
``chatshop/_migrations`` and ``chatshop/_locales``.
"""

from pathlib import Path

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
