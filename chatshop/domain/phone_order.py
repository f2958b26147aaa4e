"""Reading what the staff type to reserve for someone who phoned or came to the counter:
« /reserver savon lavande x2 pour Mme Dupont 06 12 34 56 78 », « /reserver 2 miel »,
« /reserver miel pour M. Martin ». Pure: no I/O, no service.

The quantity is ``x2``, ``×2``, ``2x`` or ``2`` alone (1 when none is given); a French
phone number in the usual forms (``06 12 34 56 78``, ``06.12.34.56.78``, ``0612345678``,
``+33 6 12 34 56 78``) may stand anywhere; « pour » introduces the person's name; the
other words name the product. Anything that cannot be read is refused in French.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatshop.domain.models import Contact
from chatshop.domain.parsing import check_quantity, clean_name, clean_phone
from chatshop.errors import InvalidInput
from chatshop.i18n import _

CONTACT_NAME_MAX = 80  # as reservation_contacts keeps it
CONTACT_PHONE_MAX = 20

_SEP = r"[\s.\-\u00a0\u202f]?"
_PHONE = re.compile(
    rf"(?<![\w+])(?:(?:\+|00)33{_SEP}(?:\(0\){_SEP})?[1-9]|0[1-9])(?:{_SEP}\d){{8}}(?!\w)")
_MARKED = re.compile(r"(?:[x×*](?P<after>\S+)|(?P<before>\S*\d\S*)[x×])", re.IGNORECASE)
_SIGNED = re.compile(r"[-−–+]?\d\S*")
_FOR = {"pour", "pr"}
_LONE_TIMES = re.compile(r"(?<!\S)([x×*])\s+(?=[-−–+]?\d)", re.IGNORECASE)  # « x 2 »


@dataclass(frozen=True)
class PhoneOrder:
    """What was typed after ``/reserver``: the product's words, how many, for whom."""

    words: str
    quantity: int
    contact: Contact


def usage() -> str:
    """How to type it, in French."""
    return _("Type it like this: /reserver savon lavande x2 pour Mme Dupont 06 12 34 56 78 "
             "(the quantity, the name and the phone are optional).")


def parse_phone_order(text: str) -> PhoneOrder:
    """``savon lavande x2 pour Mme Dupont 06 12 34 56 78`` read, or ``InvalidInput``."""
    rest, phone = _take_phone(text)
    tokens = _LONE_TIMES.sub(r"\1", rest).split()
    lowered = [t.casefold() for t in tokens]
    cut = next((i for i, t in enumerate(lowered) if t in _FOR), len(tokens))
    product_part, name_part = tokens[:cut], tokens[cut + 1:]
    quantities: list[int] = []
    words = [t for t in product_part if not _read_quantity(t, quantities, bare=True)]
    name_words = [t for t in name_part if not _read_quantity(t, quantities, bare=False)]
    if len(quantities) > 1:
        raise InvalidInput(_("Please give one quantity only, e.g. x2."))
    if not words:
        raise InvalidInput(usage())
    if any(ch.isdigit() for ch in " ".join(name_words)):  # a number that is no phone
        raise InvalidInput(_bad_phone())
    name = " ".join(name_words)
    return PhoneOrder(words=" ".join(words), quantity=quantities[0] if quantities else 1,
                      contact=Contact(name=contact_name(name) if name else "", phone=phone))


def parse_sale(text: str) -> tuple[str, int]:
    """``savon lavande 2`` (or ``x2``; 1 when none is given): the product's words and
    how many were sold."""
    quantities: list[int] = []
    words = [t for t in _LONE_TIMES.sub(r"\1", text).split()
             if not _read_quantity(t, quantities, bare=True)]
    if len(quantities) > 1:
        raise InvalidInput(_("Please give one quantity only, e.g. x2."))
    if not words:
        raise InvalidInput(_("Type it like this: /vendu savon lavande 2"))
    return " ".join(words), quantities[0] if quantities else 1


def parse_contact(text: str) -> Contact:
    """The optional line typed after « 📞 Par téléphone »: « Mme Dupont 06 12 34 56 78 »
    (a name, a phone, both; « pour » in front is allowed)."""
    rest, phone = _take_phone(text)
    words = rest.split()
    if words and words[0].casefold() in _FOR:
        words = words[1:]
    name = " ".join(words)
    if any(ch.isdigit() for ch in name):
        raise InvalidInput(_bad_phone())
    return Contact(name=contact_name(name) if name else "", phone=phone)


def contact_name(text: str) -> str:
    """A person's name as the staff wrote it: one line, 80 characters at most."""
    try:
        return clean_name(text, max_length=CONTACT_NAME_MAX)
    except InvalidInput:
        raise InvalidInput(_("The name is too long; {max} characters at most, please.").format(
            max=CONTACT_NAME_MAX)) from None


def _take_phone(text: str) -> tuple[str, str]:
    """The text without its phone number, and the number in international form ("" if
    none); two numbers are refused."""
    found = list(_PHONE.finditer(text))
    if not found:
        return text, ""
    if len(found) > 1:
        raise InvalidInput(_("Please give one phone number only."))
    match = found[0]
    try:
        phone = clean_phone(match.group())
    except InvalidInput:
        raise InvalidInput(_bad_phone()) from None
    if len(phone) > CONTACT_PHONE_MAX:
        raise InvalidInput(_bad_phone())
    return text[:match.start()] + " " + text[match.end():], phone


def _read_quantity(token: str, found: list[int], *, bare: bool) -> bool:
    """If ``token`` is a quantity (``x2``, ``×2``, ``2x``; ``2`` alone when ``bare``),
    add it to ``found`` and say so; a quantity that cannot be (``x0``, ``x-3``,
    ``x1e9``) is refused."""
    marked = _MARKED.fullmatch(token)
    if marked is not None:
        typed = marked["after"] if marked["after"] is not None else marked["before"]
        if not any(ch.isdigit() for ch in typed):
            return False  # a word ending or starting with x: « Xérès », « bax »
    elif bare and _SIGNED.fullmatch(token) and not token.isalpha():
        typed = token
        if not typed.lstrip("-−–+")[:1].isdigit():
            return False
        if any(ch.isalpha() for ch in typed):
            return False  # « 100g », « 2kg »: part of the product's name
    else:
        return False
    if not typed.isascii() or not typed.isdigit() or len(typed) > 4:
        raise InvalidInput(_("The quantity « {typed} » cannot be read: type a whole number "
                             "between 1 and 999, e.g. x2.").format(typed=token))
    found.append(check_quantity(int(typed)))
    return True


def _bad_phone() -> str:
    return _("That does not look like a French phone number: type it like "
             "06 12 34 56 78.")
