"""Short codes people read aloud or type: reservation codes, invite codes, slugs."""

from __future__ import annotations

import re
import secrets

from chatshop.domain.text import ascii_only

# No 0/O, 1/I/L: a code read over the counter or typed by an elderly customer
# must not be ambiguous.
RESERVATION_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RESERVATION_CODE_LENGTH = 5
INVITE_CODE_LENGTH = 10


def reservation_code() -> str:
    """A random 5-character reservation code, e.g. ``K7QXA``."""
    return "".join(secrets.choice(RESERVATION_ALPHABET) for _ in range(RESERVATION_CODE_LENGTH))


def invite_code() -> str:
    """A random invite code, usable in a deep link payload (``A-Za-z0-9_-``)."""
    return "".join(secrets.choice(RESERVATION_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a person typed, as a code: upper case letters and digits only (spaces,
    dashes and anything stranger dropped), at most 32 of them."""
    return re.sub(r"[^A-Za-z0-9]+", "", text).upper()[:32]


def is_slug(text: str) -> bool:
    """Whether ``text`` could be a shop slug (as ``slugify`` makes them)."""
    return re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", text) is not None and len(text) <= 60


def slugify(name: str, *, max_length: int = 40) -> str:
    """``Épicerie « Chez Léa »`` -> ``epicerie-chez-lea``; never empty."""
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only(name).lower()).strip("-")
    return slug[:max_length].rstrip("-") or "boutique"
