"""Every button of the conversation, declared once: its verb and its typed arguments.

A payload reads ``verb:arg:arg`` (Telegram allows 64 bytes). ``READY = route("rr",
reservation=int)`` declares it; ``READY.button(label, reservation=12)`` builds the button
(payload ``rr:12``), ``READY.payload(reservation=12)`` the bare payload, and
``READY.read(["12"])`` gives back ``{"reservation": 12}``. The verbs and the order of
their arguments are the wire format: buttons already sent stay in people's chats for
months, so neither may change.

An argument is ``int`` (an id or a count: ASCII digits, at most 18, else the button is
forged and ``NotFound`` answers « introuvable », changing nothing), ``str`` (a nonce, a
key: as it came), ``int | None`` or ``str | None`` (may be left off, trailing only; a
handler's default then applies), ``REST`` (the rest of the payload, ``:`` included: a
search) or ``TAIL`` (every further argument, each an ``int``).
"""

from __future__ import annotations

import itertools
import types
from dataclasses import dataclass
from typing import Final, Literal

from chatshop.conversation.messages import DECLINE_CONTACT, Button
from chatshop.errors import NotFound

MAX_DIGITS = 18  # a forged id past this is not looked up (SQLite's integers are 63 bits)


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


REST: Final = _Marker("REST")  # the rest of the payload, ``:`` included
TAIL: Final = _Marker("TAIL")  # every further argument, each a number

Kind = Literal["int", "str", "rest", "tail"]
Value = int | str | tuple[int, ...]


def number(value: str, what: str = "item") -> int:
    """A payload's (or a command's) argument as an id or a count; anything else (forged,
    broken) is not found."""
    if not value.isascii() or not value.isdigit() or len(value) > MAX_DIGITS:
        raise NotFound(what, value)
    return int(value)


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    optional: bool


def _param(name: str, declared: object) -> Param:
    if declared is REST:
        return Param(name, "rest", True)
    if declared is TAIL:
        return Param(name, "tail", True)
    optional = isinstance(declared, types.UnionType) and type(None) in declared.__args__
    base = next((a for a in declared.__args__ if a is not type(None)), None) \
        if isinstance(declared, types.UnionType) else declared
    if base is int:
        return Param(name, "int", optional)
    if base is str:
        return Param(name, "str", optional)
    raise TypeError(f"argument {name!r}: int, str, int | None, str | None, REST or TAIL")


class Route:
    """One button verb and its arguments, in their order on the wire."""

    __slots__ = ("params", "verb")

    def __init__(self, verb: str, params: tuple[Param, ...]) -> None:
        self.verb = verb
        self.params = params

    def __repr__(self) -> str:
        return f"Route({self.verb!r})"

    def payload(self, **values: Value | None) -> str:
        """``verb:arg:...``; an optional argument left off (or None) ends the payload."""
        parts = [self.verb]
        left_off: str | None = None
        for param in self.params:
            value = values.pop(param.name, None)
            if value is None or value == ():
                if not param.optional:
                    raise TypeError(f"{self!r} needs {param.name!r}")
                left_off = param.name
            elif left_off is not None:
                raise TypeError(f"{self!r}: {param.name!r} after {left_off!r}, left off")
            elif param.kind == "int":
                parts.append(str(_whole(param, value)))
            elif param.kind == "tail":
                assert isinstance(value, tuple)
                parts += [str(_whole(param, each)) for each in value]
            else:
                parts.append(str(value))
        if values:
            raise TypeError(f"{self!r} has no argument {sorted(values)}")
        return ":".join(parts)

    def button(self, label: str, *, answers: Literal["yes", "no"] | None = None,
               **values: Value | None) -> Button:
        """A button with this route's payload (``answers``: the « yes » or « no » of a
        yes/no question)."""
        return Button(label=label, payload=self.payload(**values), answers=answers)

    def read(self, parts: list[str]) -> dict[str, Value]:
        """The arguments a payload (split at ``:``) or a command's words carry; missing
        optional ones are left out, extra ones ignored (as before routes)."""
        values: dict[str, Value] = {}
        for index, param in enumerate(self.params):
            if param.kind == "rest":
                if index < len(parts):
                    values[param.name] = ":".join(parts[index:])
                break
            if param.kind == "tail":
                values[param.name] = tuple(number(each, param.name) for each in parts[index:])
                break
            if index >= len(parts):
                if not param.optional:
                    raise NotFound(param.name, None)
                break
            values[param.name] = (number(parts[index], param.name) if param.kind == "int"
                                  else parts[index])
        return values


def _whole(param: Param, value: object) -> int:
    if type(value) is int and value >= 0:
        return value
    raise TypeError(f"argument {param.name!r} is a whole number, not {value!r}")


ROUTES: dict[str, Route] = {}


def route(verb: str, **arguments: object) -> Route:
    """Declare a button verb (once: two flows answering one button would be a silent
    bug) and its arguments, in their order on the wire."""
    if verb in ROUTES:
        raise ValueError(f"button verb {verb!r} is registered twice")
    if not verb or ":" in verb:
        raise ValueError(f"button verb {verb!r} is empty or holds ':'")
    params = tuple(_param(name, declared) for name, declared in arguments.items())
    for before, after in itertools.pairwise(params):
        if before.kind in ("rest", "tail") or (before.optional and not after.optional):
            raise ValueError(f"route {verb!r}: {after.name!r} cannot follow {before.name!r}")
    ROUTES[verb] = made = Route(verb, params)
    return made


# -- customers: menu, browsing, reserving ------------------------------------------------

MENU = route("m")
HELP = route("h")
COMMUNES = route("c", offset=int | None)
SHOPS_IN = route("cs", commune=int, offset=int)
SHOP = route("s", shop=int)
CONTACT = route("ct", shop=int)
CATEGORIES = route("k", shop=int)
PRODUCTS = route("l", shop=int, category=int, offset=int)
PRODUCT = route("p", product=int)
QUANTITY = route("q", product=int, quantity=int, edit=str | None)  # ``e``: in place
ADD_TO_BASKET = route("a", product=int, quantity=int)
RESERVE_NOW = route("r", product=int, quantity=int, nonce=str | None)
ASK_SEARCH = route("sq")
SEARCH_PAGE = route("f", offset=int, query=REST)  # no query: the one kept in the state
MY_RESERVATIONS = route("rs")
CANCEL_ASK = route("rx", reservation=int)
CANCEL = route("rxy", reservation=int)
EXPORT_DATA = route("ex")
ERASE_ASK = route("er")
ERASE = route("ery")
DECLINE_PHONE = route(DECLINE_CONTACT, when=str | None)  # ``later``: the keyboard's « no »

# -- baskets ------------------------------------------------------------------------------

BASKET = route("b")
BASKET_QUANTITY = route("bq", product=int, quantity=int)
CONFIRM_BASKET = route("bc", shop=int, nonce=str | None)
# The basket with its short lines cut: product, quantity, product, quantity...
RESERVE_LEFT = route("br", shop=int, nonce=str | None, cuts=TAIL)

# -- shopkeepers: dashboard, reservations, files, hosting --------------------------------

DASHBOARD = route("d", shop=int | None)
SHOP_RESERVATIONS = route("dr", shop=int)
RESERVATION = route("rv", reservation=int)
READY = route("rr", reservation=int)
COLLECTED = route("rc", reservation=int)
CANCEL_BY_SHOP = route("rk", reservation=int)
EXPORT_MENU = route("xe", shop=int)
EXPORT_PRODUCTS = route("xp", shop=int)
EXPORT_RESERVATIONS = route("xr", shop=int)
IMPORT_TEMPLATE = route("xt", shop=int)
HOSTING = route("ho", shop=int)
HOSTING_CHOOSE = route("hq", shop=int, offset=int)
HOSTING_REQUEST = route("hr", maker=int, host=int)
HOSTING_ACCEPT = route("ha", host=int, maker=int)
HOSTING_END = route("hx", host=int, maker=int)

# -- shopkeepers: products ----------------------------------------------------------------

PRODUCT_LIST = route("dp", shop=int | None, offset=int | None)
PRODUCT_ADMIN = route("pp", product=int)
PRODUCT_MORE = route("pm", product=int)
DELETE_ASK = route("pd", product=int)
DELETE = route("pdy", product=int)
STOCK_PLUS = route("s+", product=int)
STOCK_MINUS = route("s-", product=int)
TOGGLE_HIDDEN = route("sh", product=int)
ASK_STOCK = route("ss", product=int)
ASK_PRICE = route("sp", product=int)
# Stock buttons that act once: they carry the ledger line they were made from (``seen``).
STOCK_ADD_ONCE = route("sa", product=int, quantity=int, seen=int, price=int | None)
STOCK_REMOVE_ONCE = route("sr", product=int, quantity=int, seen=int, price=int | None)
STOCK_SET_ONCE = route("sn", product=int, quantity=int, seen=int, price=int | None)
PRICE_CHOSEN = route("px", product=int, price=int)
ADD_PRODUCT = route("da", shop=int | None)
SET_CATEGORY = route("pc", product=int, category=int)
PLACE_CHOOSE = route("pl", product=int)
PLACE = route("pla", product=int, host=int)  # host 0: at the maker's own shop
CREATE_ANYWAY = route("pn", shop=int, key=str | None)

# -- shopkeepers: the shop's card ---------------------------------------------------------

SETTINGS = route("st", shop=int)
ASK_SETTING = route("se", shop=int, key=str | None)
MORE_SETTINGS = route("so", shop=int)
ASK_ANNOUNCEMENT = route("an", shop=int)
ASK_HOURS = route("sk", shop=int)
ASK_SHOP_PHOTO = route("sf", shop=int)
TOGGLE_HOLIDAY = route("sv", shop=int)
INVITE_STAFF = route("iv", shop=int)

# -- shopkeepers: making the shop known outside the chat ---------------------------------

SHARE = route("wg", shop=int | None)  # its addresses and a text for Facebook
POSTER = route("wa", shop=int | None)  # the A4 poster for the shop window (PDF)
LABELS = route("we", shop=int | None)  # the A4 sheet of shelf labels (PDF)

# -- the operator -------------------------------------------------------------------------

TERRITORY = route("o")
ASK_COMMUNE = route("om")
CHOOSE_COMMUNE = route("oc", offset=int | None)
ASK_SHOP_NAME = route("on", commune=int)
ALL_SHOPS = route("ol", offset=int)
SHOP_ADMIN = route("os", shop=int)
TOGGLE_ACTIVE = route("ot", shop=int)
OWNER_INVITE = route("oi", shop=int)
TERRITORY_POSTER = route("oa")

# -- the weekly digest --------------------------------------------------------------------

NEWS = route("nw")
FOLLOW_TERRITORY = route("ns")
CHOOSE_COMMUNES = route("nc", offset=int | None)
TOGGLE_COMMUNE = route("nct", commune=int, offset=int)
CHOOSE_SHOPS = route("nh", offset=int | None)
TOGGLE_SHOP = route("nht", shop=int, offset=int)
UNSUBSCRIBE = route("un")
THIS_WEEK = route("na")
DIGEST_DESK = route("ow")
DIGEST_PREVIEW = route("owp")
DIGEST_SEND_ASK = route("ows")
DIGEST_SEND = route("owy")
DIGEST_SEND_AGAIN = route("owf")

# -- #12 the shopkeeper's day. Each section's verbs start with its own letter, so that
# the sections never collide: « t » the counter and the phone (counter.py), « j » the
# day's list (today.py), « v » alerts (alerts.py), « g » pickup times and the shop's
# rules (pickups.py), « u » the figures (figures.py).

# -- the counter and the phone (t)

# « 📞 Par téléphone » on a product's screen: the quantity asked, chosen, the contact
# skipped (« Passer »); a product chosen for a typed « /reserver » (its draft in the
# state, by key); « ✅ Confirmer ».
PHONE_ASK = route("tp", product=int)
PHONE_QUANTITY = route("tq", product=int, quantity=int)
PHONE_SKIP = route("ts", product=int, quantity=int)
PHONE_PICK = route("tr", product=int, key=str)
PHONE_CONFIRM = route("tc", product=int, key=str)
# « 🧾 Vendu en boutique »: the quantity asked; sold once (``seen``: the ledger line).
SELL_ASK = route("tv", product=int)
SELL = route("tw", product=int, quantity=int, seen=int)
# « 👤 Données du client » of a phone reservation, « 📤 Exporter », « 🗑 Effacer » (asked,
# then done).
PERSON = route("td", reservation=int)
PERSON_EXPORT = route("te", reservation=int)
PERSON_ERASE_ASK = route("tx", reservation=int)
PERSON_ERASE = route("ty", reservation=int)

# -- the day's list (j)

# « 📋 Aujourd'hui »: the day's list (a page of its reservations' buttons from ``offset``),
# its PDF, and one reservation's card opened from it (« Retour » leads back to the list).
TODAY = route("j", shop=int | None, offset=int | None)
TODAY_PRINT = route("jp", shop=int)
TODAY_CARD = route("jr", reservation=int)

# -- alerts (v)

ALERT_ASK = route("va", product=int)  # « 🔔 Prévenez-moi quand il revient » on a card
MY_ALERTS = route("vl")  # « Mes alertes »
ALERT_CANCEL = route("vx", alert=int)  # « Annuler » one of them

# -- pickup times and the shop's rules (g)

# « Quand passez-vous ? »: a slot (named by its end, in minutes since 1970 UTC: a slot's
# start moves with the clock while it runs), « Je ne sais pas encore », « 🕒 Changer
# l'heure » from the customer's reservations.
PICKUP_SLOT = route("gp", reservation=int, until=int)
PICKUP_UNSURE = route("gu", reservation=int)
PICKUP_CHANGE = route("gc", reservation=int)
# The shop's « 🗓 Retraits et règles »: the screen, a yes/no rule switched, a cap asked
# (typed, or chosen 1-10), a cap chosen.
SHOP_RULES = route("gr", shop=int)
SHOP_RULE_TOGGLE = route("gt", shop=int, rule=str)
SHOP_CAP_ASK = route("gk", shop=int, cap=str)
SHOP_CAP_SET = route("gs", shop=int, cap=str, value=int)

# -- figures (u)

# « /chiffres », « 📊 Chiffres »: a shop's last 8 weeks (None: the only shop, or choose);
# « 📊 Voir le graphique » under the Monday message: its 8 finished weeks; the operator's
# « 📊 Chiffres du territoire ».
SHOP_FIGURES = route("uf", shop=int | None)
WEEKS_CHART = route("ug", shop=int)
TERRITORY_FIGURES = route("ut")
