"""Every error chatshop raises on purpose, and the French sentence a user sees for it.

::

    ChatshopError
    ├── ConfigError            bad CHATSHOP_ setting: one bilingual line, start-up stops
    ├── MigrationError         the database schema cannot be brought to this code's version
    ├── DemoIncomplete         an interrupted demo seed left part of the demo territory
    └── DomainError            a user did something the shop's rules refuse; ``message()``
        ├── InvalidInput       a price, quantity, name... that cannot be accepted
        ├── NotFound           no such shop, product, reservation, invite...
        ├── NotAllowed         this user may not do that on that object
        ├── OutOfStock         not enough available; names the product and what is left
        ├── StockBelowReserved on_hand cannot go below what customers have reserved
        │   └── ImportBelowReserved  the same, for one line of an imported CSV file
        ├── StockOutOfRange    on_hand would be negative or absurdly large
        ├── StockChanged       the stock moved since the button was shown (not a replay)
        ├── NotEnoughOnHand    removing more units than there are
        ├── StillReserved      deleting a product that customers have reserved
        ├── InviteUnusable     unknown, expired or already used invite code
        ├── WrongState         a reservation cannot go from its state to the one asked
        ├── ShopUnavailable    the shop is closed for holidays or no longer active
        ├── NoLongerOffered    a product of the basket was hidden or withdrawn since
        ├── TooManyUnits       one customer would hold more of a product than the shop allows
        ├── TooManyReservations one customer would have more open reservations there
        ├── EmptyBasket        nothing to reserve
        ├── Conflict           the thing already exists (a slug, a category, a hosting)
        └── CsvRejected        a CSV file with errors, listed by line; nothing was imported

A ``DomainError`` is expected and changes nothing: storage rolls back its transaction and
the conversation shows ``message()``. Anything else is a bug and gets an incident id.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatshop.i18n import _, format_number, ngettext


class ChatshopError(Exception):
    """Base of every error chatshop raises deliberately."""


class ConfigError(ChatshopError):
    """A ``CHATSHOP_`` setting is missing or wrong; the text names the variable."""


class MigrationError(ChatshopError):
    """Migrations are inconsistent, failed, or the database is newer than the code."""


class DemoIncomplete(ChatshopError):
    """The demo territory was loaded into this database only in part (interrupted)."""


class DomainError(ChatshopError):
    """A refusal that the user caused and can understand."""

    def message(self) -> str:
        """The French sentence shown to the user."""
        return _("Sorry, that is not possible.")


class InvalidInput(DomainError):
    """Input that cannot be accepted, with the French reason already worded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def message(self) -> str:
        return self.reason


class NotFound(DomainError):
    """The object does not exist (or is not visible to this user)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key

    def message(self) -> str:
        return _("We could not find that. It may have been removed.")


class NotAllowed(DomainError):
    """The user lacks the role needed for this action on this object: ``needs`` is
    ``"staff"`` (of that shop), ``"owner"`` (of that shop) or ``"operator"``."""

    def __init__(self, detail: str, needs: str = "staff") -> None:
        super().__init__(detail)
        self.needs = needs

    def message(self) -> str:
        if self.needs == "operator":
            return _("Sorry, only the territory's operator can do that.")
        if self.needs == "owner":
            return _("Sorry, only the shop's owner can do that.")
        return _("Sorry, only the shop's staff can do that.")


class OutOfStock(DomainError):
    """Not enough of a product is available; no stock was taken."""

    def __init__(self, product_id: int, product_name: str, available: int) -> None:
        super().__init__(f"{product_name}: only {available} available")
        self.product_id = product_id
        self.product_name = product_name
        self.available = max(available, 0)

    def message(self) -> str:
        if self.available == 0:
            return _("“{name}” is out of stock.").format(name=self.product_name)
        return ngettext(
            "Only {n} “{name}” is left.",
            "Only {n} “{name}” are left.",
            self.available,
        ).format(n=format_number(self.available), name=self.product_name)


class StockBelowReserved(DomainError):
    """Staff tried to set the stock below what customers have already reserved."""

    def __init__(self, reserved: int) -> None:
        super().__init__(f"{reserved} reserved")
        self.reserved = reserved

    def message(self) -> str:
        return ngettext(
            "Customers have reserved {n} of them: the stock cannot go below {n}.",
            "Customers have reserved {n} of them: the stock cannot go below {n}.",
            self.reserved,
        ).format(n=format_number(self.reserved))


class ImportBelowReserved(StockBelowReserved):
    """A line of an imported file sets a product's stock below what customers have
    reserved; the whole import is refused."""

    def __init__(self, reserved: int, product_name: str, line: int) -> None:
        super().__init__(reserved)
        self.product_name = product_name
        self.line = line

    def message(self) -> str:
        return " ".join((
            _("Line {line} (“{name}”):").format(line=self.line, name=self.product_name),
            super().message(),
            _("Nothing was imported."),
        ))


class StockOutOfRange(DomainError):
    """A stock change that would leave a negative or an absurd ``on_hand``."""

    def __init__(self, on_hand: int, maximum: int) -> None:
        super().__init__(f"on_hand {on_hand} outside 0..{maximum}")
        self.on_hand = on_hand
        self.maximum = maximum

    def message(self) -> str:
        if self.on_hand < 0:
            return _("The stock cannot be negative.")
        return _("The stock of one product cannot be more than {max}.").format(
            max=format_number(self.maximum))


class StockChanged(DomainError):
    """A button meant to change a product's stock once (« Add 12 ») was pressed after
    someone else changed that stock: the button's numbers no longer hold."""

    def __init__(self, name: str, on_hand: int) -> None:
        super().__init__(f"{name}: stock changed, now {on_hand}")
        self.name = name
        self.on_hand = on_hand

    def message(self) -> str:
        return ngettext(
            "The stock of « {name} » changed in the meantime: {n} in stock now. Nothing "
            "was changed.",
            "The stock of « {name} » changed in the meantime: {n} in stock now. Nothing "
            "was changed.", self.on_hand).format(name=self.name,
                                                  n=format_number(self.on_hand))


class StillReserved(DomainError):
    """Staff tried to delete a product that customers have reserved."""

    def __init__(self, name: str, reserved: int) -> None:
        super().__init__(f"{name}: {reserved} reserved")
        self.name = name
        self.reserved = reserved

    def message(self) -> str:
        return ngettext(
            "Customers have reserved {n} « {name} »: mark the reservation collected or "
            "cancel it before deleting the product. You can hide it meanwhile.",
            "Customers have reserved {n} « {name} »: mark the reservations collected or "
            "cancel them before deleting the product. You can hide it meanwhile.",
            self.reserved,
        ).format(n=self.reserved, name=self.name)


class NotEnoughOnHand(DomainError):
    """Staff tried to remove more units than there are."""

    def __init__(self, on_hand: int) -> None:
        super().__init__(f"only {on_hand} on hand")
        self.on_hand = on_hand

    def message(self) -> str:
        return ngettext("There is only {n} in stock.", "There are only {n} in stock.",
                        self.on_hand).format(n=format_number(self.on_hand))


class InviteUnusable(DomainError):
    """The invite code is unknown, expired or already used."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why

    def message(self) -> str:
        if self.why == "expired":
            return _("This invitation has expired. Please ask for a new one.")
        if self.why == "used":
            return _("This invitation has already been used.")
        return _("This invitation code is not valid.")


class WrongState(DomainError):
    """A reservation cannot move from its current state to the one asked."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"{current} -> {wanted}")
        self.current = current
        self.wanted = wanted

    def message(self) -> str:
        said = {
            "ready": _("This reservation is already ready."),
            "collected": _("This reservation has already been collected."),
            "cancelled_by_customer": _("This reservation was cancelled by the customer."),
            "cancelled_by_shop": _("This reservation was cancelled by the shop."),
            "expired": _("This reservation has expired."),
        }.get(self.current, _("This reservation cannot be changed."))
        return said + " " + _("Nothing was changed.")


class ShopUnavailable(DomainError):
    """The shop cannot take reservations now (holidays, or no longer on chatshop)."""

    def __init__(self, shop_name: str, holiday_message: str | None = None) -> None:
        super().__init__(shop_name)
        self.shop_name = shop_name
        self.holiday_message = holiday_message

    def message(self) -> str:
        if self.holiday_message is not None:
            text = _("{shop} is closed for the holidays.").format(shop=self.shop_name)
            if self.holiday_message:
                text += " " + self.holiday_message
            return text
        return _("{shop} is not taking reservations at the moment.").format(shop=self.shop_name)


class NoLongerOffered(DomainError):
    """A product in the basket was hidden or withdrawn since it was added."""

    def __init__(self, product_name: str) -> None:
        super().__init__(product_name)
        self.product_name = product_name

    def message(self) -> str:
        return _("“{name}” is no longer offered. Please remove it from your basket.").format(
            name=self.product_name)


class TooManyUnits(DomainError):
    """One customer would hold more units of one product than the shop allows
    (``Shop.max_units_per_product``); ``held``: what they already hold of it."""

    def __init__(self, product_name: str, limit: int, held: int) -> None:
        super().__init__(f"{product_name}: at most {limit} a customer, {held} held")
        self.product_name = product_name
        self.limit = limit
        self.held = held

    def message(self) -> str:
        text = ngettext("The shop keeps at most {n} “{name}” for one customer.",
                        "The shop keeps at most {n} “{name}” for one customer.",
                        self.limit).format(n=format_number(self.limit), name=self.product_name)
        if self.held:
            text += " " + ngettext("You already have {n} reserved.",
                                   "You already have {n} reserved.",
                                   self.held).format(n=format_number(self.held))
        return text


class TooManyReservations(DomainError):
    """One customer already has as many open reservations at this shop as it allows
    (``Shop.max_open_reservations``)."""

    def __init__(self, shop_name: str, limit: int) -> None:
        super().__init__(f"{shop_name}: at most {limit} open reservations")
        self.shop_name = shop_name
        self.limit = limit

    def message(self) -> str:
        return ngettext(
            "You already have {n} reservation waiting at {shop}: please collect or "
            "cancel it before reserving more.",
            "You already have {n} reservations waiting at {shop}: please collect or "
            "cancel one before reserving more.",
            self.limit).format(n=format_number(self.limit), shop=self.shop_name)


class EmptyBasket(DomainError):
    """There is nothing in the basket to reserve."""

    def message(self) -> str:
        return _("Your basket is empty.")


class Conflict(DomainError):
    """What the user tries to create already exists: ``what`` is ``"commune"``,
    ``"category"`` (with its ``name``), ``"hosting"`` or ``"last_owner"``."""

    def __init__(self, what: str, name: str = "") -> None:
        super().__init__(f"{what} {name}".strip())
        self.what = what
        self.name = name

    def message(self) -> str:
        if self.what == "commune":
            return _("The commune “{name}” already exists.").format(name=self.name)
        if self.what == "category":
            return _("A category named “{name}” already exists.").format(name=self.name)
        if self.what == "hosting":
            return _("This shop has already been asked.")
        if self.what == "last_owner":
            return _("A shop must keep at least one owner.")
        return _("That already exists.")


class CsvRejected(DomainError):
    """A CSV file that cannot be imported as it is; nothing was imported.

    ``errors`` are ``(line, reason)`` pairs: the line as a spreadsheet numbers it (the
    column names are line 1; 0 for the file as a whole) and the French reason, already
    worded like ``InvalidInput``'s.
    """

    MAX_SHOWN = 15

    def __init__(self, errors: Sequence[tuple[int, str]]) -> None:
        super().__init__(f"{len(errors)} errors, first: {errors[0] if errors else None}")
        self.errors = tuple(errors)

    @property
    def lines(self) -> list[int]:
        """The lines with an error, in order, each once."""
        return sorted({line for line, _reason in self.errors if line})

    def message(self) -> str:
        count = len(self.errors)
        if self.lines:
            said = [ngettext("Nothing was imported: the file has {n} error.",
                             "Nothing was imported: the file has {n} errors.",
                             count).format(n=count)]
        else:  # the file as a whole (not a CSV file, no column names...)
            said = [_("Nothing was imported.")]
        for line, reason in self.errors[:self.MAX_SHOWN]:
            said.append(_("Line {line}: {reason}").format(line=line, reason=reason) if line
                        else reason)
        hidden = count - self.MAX_SHOWN
        if hidden > 0:
            said.append(ngettext("… and {n} more error.", "… and {n} more errors.",
                                 hidden).format(n=hidden))
        said.append(_("Please correct the file and send it again."))
        return "\n".join(said)
