"""Hostile input, generated (issue #7): some 10 000 inbound events, for every role,
against a territory of three shops.

Hypothesis plays sequences of events: any text, commands with any arguments, button
payloads (well-formed with forged ids, cut short, lengthened, or anything at all),
photos with any caption, CSV files of any content and size, contacts, locations,
stickers; from customers, people never seen before, the staff of shop A (who try the
ids of shop B), the operator, and everyone at once while time passes. Walks follow the
bot's own buttons and answer its questions, so that sequences reach deep into the flows.
After every event:

- nothing escaped the router and nothing became an incident (an error in the log);
- every reply is a screen every channel can show, in French: text, a way on, payloads
  of at most 64 bytes that the bot itself understands, no English message left over;
- an action the bot refused (a domain refusal, an unknown button or command) wrote
  nothing in any business table;
- whatever they sent, a customer changed no shop, product, stock ledger or other
  person's data, and the staff of one shop nothing of another shop's (except what they
  share: a hosting agreement, their own basket and reservations as customers).

After every sequence the database still holds together: foreign keys, stock reserved
equal to the live reservations, stock on hand equal to its ledger. Each example starts
from a copy of the same territory, so a failure replays.

``CI`` set: the same examples every run (derandomized). Elsewhere each run explores new
ones and Hypothesis keeps a failure to replay it; ``FUZZ_EXAMPLES=400`` explores more,
``FUZZ_SHRINK=1`` shrinks a failure to fewer events (minutes: each try replays a whole
sequence; without it the failing event is named in the assertion).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import logging
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chatshop.conversation.context import Context
from chatshop.conversation.handlers import COMMANDS, PRESSES
from chatshop.conversation.messages import (
    Command,
    ContactIn,
    DocumentIn,
    Event,
    Inbound,
    LocationIn,
    PhotoIn,
    Press,
    Reply,
    Text,
    Unsupported,
)
from chatshop.conversation.router import Conversation
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import (
    Channel,
    ProductChanges,
    Role,
    ShopDetails,
    SubscriptionScope,
)
from chatshop.domain.product_csv import MAX_BYTES, MAX_LINES, MAX_ROWS
from chatshop.errors import DomainError
from chatshop.services import Services
from chatshop.storage import Store, open_store
from chatshop.storage.store import SqliteStore
from tests.chat import check_screen
from tests.conftest import OPERATOR, FakeClock
from tests.world import (
    PARIS,
    START,
    Collecting,
    DatabaseFile,
    Row,
    Snapshot,
    runtime_of,
    services_on,
    swept,
)
from tests.world import snapshot as rows_of

TERRITORY = "Porte Océane du Limousin"
EVENTS = 50  # per example: 4 properties x 50 examples x 50 events = 10 000 events

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50")),
    derandomize=bool(os.environ.get("CI")),
    phases=tuple(Phase) if os.environ.get("FUZZ_SHRINK") else (
        Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)

# What a person's events may change besides business data: their conversation state,
# and what the channels keep (inbound events, outbox, media).
NOT_BUSINESS = frozenset({"conversation_states", "inbound_events", "outbox", "media"})


# -- the territory ------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    channel: Channel
    user_id: str
    name: str

    def __repr__(self) -> str:
        return f"{self.channel}:{self.user_id}"


CUSTOMER = Person("telegram", "3000", "Jeanne")
OTHER_CUSTOMER = Person("whatsapp", "33612345678", "Pierre")
OWNER_A = Person("telegram", "2000", "Léa")
STAFF_A = Person("telegram", "2001", "Marc")
OWNER_B = Person("telegram", "2300", "Paul")
OWNER_C = Person("telegram", "2400", "Rose")
THE_OPERATOR = Person("telegram", OPERATOR[1], "Office de tourisme")
KNOWN = {p.user_id for p in (CUSTOMER, OTHER_CUSTOMER, OWNER_A, STAFF_A, OWNER_B, OWNER_C,
                             THE_OPERATOR)}


@dataclass(frozen=True)
class World:
    """The ids of the territory every example starts from."""

    shop_a: int
    shop_b: int
    shop_c: int  # deactivated by the operator
    communes: tuple[int, ...]
    products_a: tuple[int, ...]
    products_b: tuple[int, ...]  # the first one is displayed at shop A (hosting)
    products_c: tuple[int, ...]
    reservations_a: tuple[int, ...]
    reservations_b: tuple[int, ...]
    slugs: tuple[str, ...]
    used_invite: str

    @property
    def real_ids(self) -> list[int]:
        return sorted({self.shop_a, self.shop_b, self.shop_c, *self.communes,
                       *self.products_a, *self.products_b, *self.products_c,
                       *self.reservations_a, *self.reservations_b, *range(1, 10)})


async def _build(services: Services) -> World:
    """Three shops in two communes: A (Léa, with Marc as staff) displays one product of
    B (Paul) and has asked B to display its own; C (Rose) is deactivated. Two customers
    with reservations at both shops, baskets, a phone number, digest subscriptions."""
    seen = services.customers.seen
    op = services.customers.actor(await seen(*OPERATOR, THE_OPERATOR.name))
    r = await services.shops.add_commune(op, "Rochechouart", "87600")
    s = await services.shops.add_commune(op, "Saint-Junien", "87200")

    async def open_shop(name: str, commune: int, owner: Person) -> tuple[int, Any, str]:
        shop = await services.shops.create_shop(op, name, commune)
        invite = await services.shops.invite(op, shop.id, Role.OWNER)
        user = await seen(owner.channel, owner.user_id, owner.name)
        await services.shops.accept_invite(user.id, invite.code)
        return shop.id, services.customers.actor(user), invite.code

    a, lea, _code = await open_shop("Épicerie du Château", r.id, OWNER_A)
    b, paul, _code = await open_shop("Boulangerie Martin", s.id, OWNER_B)
    c, rose, used = await open_shop("Atelier Rivière", r.id, OWNER_C)
    staff_invite = await services.shops.invite(lea, a, Role.STAFF)
    marc = await seen(STAFF_A.channel, STAFF_A.user_id, STAFF_A.name)
    await services.shops.accept_invite(marc.id, staff_invite.code)

    add = services.catalogue.add_product
    honey = await add(lea, a, name="Miel de châtaignier", price_cents=850, on_hand=10,
                      category_id=1)
    soap = await add(lea, a, name="Savon lavande", price_cents=650, on_hand=3)
    candle = await add(lea, a, name="Bougie cire d'abeille", price_cents=1200, on_hand=4)
    empty = await add(lea, a, name="Pâté de campagne", price_cents=550, on_hand=0)
    gone = await add(lea, a, name="Confiture de coings", price_cents=450, on_hand=2)
    await services.catalogue.update_product(lea, candle.id, ProductChanges(hidden=True))
    await services.catalogue.delete_product(lea, gone.id)
    jam = await add(paul, b, name="Confiture de mûres", price_cents=500, on_hand=6)
    bread = await add(paul, b, name="Pain de campagne", price_cents=320, on_hand=5)
    cake = await add(paul, b, name="Gâteau creusois", price_cents=1500, on_hand=2)
    flour = await add(paul, b, name="Farine de sarrasin", price_cents=280, on_hand=9)
    await services.catalogue.update_product(paul, flour.id, ProductChanges(hidden=True))
    vase = await add(rose, c, name="Vase en grès", price_cents=3500, on_hand=1)

    await services.shops.ask_hosting(paul, b, a)
    await services.shops.accept_hosting(lea, a, b)
    await services.catalogue.place(paul, jam.id, a)
    await services.shops.ask_hosting(lea, a, b)  # B has not answered yet
    await services.shops.update_shop(op, c, ShopDetails(active=False))

    jeanne = await seen(CUSTOMER.channel, CUSTOMER.user_id, CUSTOMER.name)
    pierre = await seen(OTHER_CUSTOMER.channel, OTHER_CUSTOMER.user_id,
                        OTHER_CUSTOMER.name)
    await services.customers.set_phone(jeanne.id, "06 12 34 56 78")
    reserve = services.reservations.reserve_now
    r1 = await reserve(jeanne.id, honey.id, 2, "k1")
    r2 = await reserve(jeanne.id, bread.id, 1, "k2")
    await services.reservations.mark_ready(paul, r2.id)
    r3 = await reserve(pierre.id, soap.id, 1, "k3")
    r4 = await reserve(pierre.id, jam.id, 2, "k4")  # B's jam, collected at A
    r5 = await reserve(jeanne.id, cake.id, 1, "k5")
    await services.reservations.mark_collected(paul, r5.id)
    await services.baskets.add(jeanne.id, honey.id, 1)
    await services.baskets.add(jeanne.id, bread.id, 2)
    await services.baskets.add(pierre.id, cake.id, 1)
    await services.digest.subscribe(pierre.id, SubscriptionScope.TERRITORY)
    await services.digest.subscribe(jeanne.id, SubscriptionScope.SHOPS, shop_ids=[a, b])
    slugs = tuple([(await services.shops.get(i)).slug for i in (a, b, c)])
    return World(shop_a=a, shop_b=b, shop_c=c, communes=(r.id, s.id),
                 products_a=(honey.id, soap.id, candle.id, empty.id, gone.id),
                 products_b=(jam.id, bread.id, cake.id, flour.id), products_c=(vase.id,),
                 reservations_a=(r1.id, r3.id, r4.id), reservations_b=(r2.id, r5.id),
                 slugs=slugs, used_invite=used)


Template = DatabaseFile[World]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The territory's database file, built once; each example plays on a copy."""
    return DatabaseFile.build(tmp_path_factory.mktemp("fuzz") / "territory.db", _build)


# -- what the database holds --------------------------------------------------------------

def _db(store: Store) -> Any:
    assert isinstance(store, SqliteStore)
    return store.db


def snapshot(store: Store) -> Snapshot:
    """Every business row, as committed."""
    return rows_of(store, skip=NOT_BUSINESS, internal=False)


def out_of_reach(before: Snapshot, after: Snapshot, who: Person
                 ) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """What ``who`` must not be able to change, before and after one of their events:
    the shops they do not run and everything of theirs, and other people's data. A
    customer runs no shop: for them that is every shop, product and stock movement."""
    # Themselves: as they were, or as this event recorded them (first contact, erasure).
    me = {_user_id(before, who)} | ({u["id"] for u in after["users"]}
                                    - {u["id"] for u in before["users"]})
    mine = {s["shop_id"] for s in before["staff"] if s["user_id"] in me}
    known = {p["id"] for p in before["products"]}
    own = {p["id"] for p in before["products"]
           if p["shop_id"] in mine or p["host_shop_id"] in mine}
    own |= {p["id"] for p in after["products"] if p["shop_id"] in mine and p["id"] not in known}

    def view(snap: Snapshot) -> dict[str, list[Row]]:
        theirs = {r["id"] for r in snap["reservations"]
                  if r["shop_id"] not in mine and r["user_id"] not in me}
        out = {
            "communes": snap["communes"],
            "categories": snap["categories"],
            "shops": [s for s in snap["shops"] if s["id"] not in mine],
            # Reserving a product, or cancelling one's reservation, moves ``reserved``.
            "products": [{k: v for k, v in p.items() if k != "reserved"}
                         for p in snap["products"] if p["id"] not in own],
            "reservations": [r for r in snap["reservations"] if r["id"] in theirs],
            "reservation_lines": [r for r in snap["reservation_lines"]
                                  if r["reservation_id"] in theirs],
            "basket_lines": [b for b in snap["basket_lines"]
                             if b["user_id"] not in me and b["product_id"] not in own],
            "users": [u for u in snap["users"] if u["id"] not in me],
            "hostings": [h for h in snap["hostings"]
                         if h["host_shop_id"] not in mine and h["maker_shop_id"] not in mine],
            "accepted elsewhere": [h for h in snap["hostings"] if h["status"] == "accepted"
                                   and h["host_shop_id"] not in mine],
            "digest_runs": snap["digest_runs"],
            "digest_deliveries": snap["digest_deliveries"],
        }
        for table in ("shop_hours", "shop_photos", "staff", "invites"):
            out[table] = [r for r in snap[table] if r["shop_id"] not in mine]
        for table in ("product_photos", "stock_movements"):
            out[table] = [r for r in snap[table] if r["product_id"] not in own]
        for table in ("subscriptions", "subscription_communes", "subscription_shops"):
            out[table] = [r for r in snap[table] if r["user_id"] not in me]
        return out

    was, now = view(before), view(after)
    # Ending an agreement in which one's shop is the maker is theirs to do; accepting on
    # the host's behalf is not.
    was["accepted elsewhere"] = [h for h in was["accepted elsewhere"]
                                 if h in now["accepted elsewhere"]]
    return was, now


def _user_id(snap: Snapshot, who: Person) -> int | None:
    return next((u["id"] for u in snap["users"]
                 if (u["channel"], u["external_id"]) == (who.channel, who.user_id)), None)


def check_database(store: Store) -> None:
    """What must hold after any sequence of events."""
    db = _db(store)
    assert [tuple(r) for r in db.lookup_now("PRAGMA foreign_key_check")] == []
    reserved = db.lookup_now(
        """SELECT * FROM (SELECT p.id, p.reserved, (
               SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l
               JOIN reservations r ON r.id = l.reservation_id
               WHERE l.product_id = p.id AND r.status IN ('pending', 'ready')) AS live
           FROM products p) WHERE reserved <> live""")
    assert [tuple(r) for r in reserved] == [], "reserved stock is not the live reservations"
    ledger = db.lookup_now(
        """SELECT * FROM (SELECT p.id, p.on_hand, (
               SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m
               WHERE m.product_id = p.id) AS moved FROM products p) WHERE on_hand <> moved""")
    assert [tuple(r) for r in ledger] == [], "stock on hand is not what its ledger says"
    deleted = db.lookup_now("""SELECT b.user_id, b.product_id FROM basket_lines b
                           JOIN products p ON p.id = b.product_id
                           WHERE p.deleted_at IS NOT NULL""")
    assert [tuple(r) for r in deleted] == [], "deleted products in baskets"


# -- the referee --------------------------------------------------------------------------


def _english_fragments() -> list[str]:
    """Long pieces of the English msgids that have a French translation: one of them in
    a reply means that a message went out untranslated."""
    po = Path(__file__).parent.parent / "locales" / "fr" / "LC_MESSAGES" / "chatshop.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    fragments: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            for piece in english.replace("}", "{").split("{")[::2]:
                piece = piece.strip()
                if len(piece) >= 24 and not any(piece in s for s in strings):
                    fragments.add(piece)
    return sorted(fragments)


ENGLISH = _english_fragments()


def check_reply(reply: Reply) -> None:
    """A screen every channel can show, in French, with only buttons the bot knows."""
    check_screen(reply)  # at most 8 buttons, a way on, payloads of at most 64 bytes
    assert reply.text.strip(), "an empty message"
    for button in reply.all_buttons:
        assert button.label.strip(), f"a button without a label: {button.payload!r}"
        assert button.payload.partition(":")[0] in PRESSES, \
            f"a button the bot does not understand: {button.payload!r}"
    untranslated = [piece for piece in ENGLISH if piece in reply.text]
    assert not untranslated, f"English in a reply: {untranslated} in {reply.text!r}"


class Referee(Conversation):
    """The real conversation, watched: whether the bot refused an event, with the
    business rows just before and just after its handling (once the person is recorded
    as seen, before their conversation state is saved)."""

    refused: tuple[Snapshot, Snapshot] | None = None

    def __init__(self, services: Services, store: Store, *, territory: str,
                 tz: ZoneInfo) -> None:
        super().__init__(services, territory=territory, tz=tz)
        self._store = store

    async def _dispatch(self, ctx: Context, event: Event) -> list[Reply]:
        before = snapshot(self._store)
        unknown = ((isinstance(event, Press)
                    and event.payload.partition(":")[0] not in PRESSES)
                   or (isinstance(event, Command)
                       and event.name.lower().lstrip("/") not in COMMANDS))
        try:
            replies = await super()._dispatch(ctx, event)
        except DomainError:
            self.refused = (before, snapshot(self._store))
            raise
        if unknown:
            self.refused = (before, snapshot(self._store))
        return replies


class Incidents(logging.Handler):
    """Errors logged by chatshop: an incident is an exception the router caught."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _diff(was: dict[str, list[Row]], now: dict[str, list[Row]]) -> dict[str, Any]:
    """The tables that differ, with the rows gone and the rows new."""
    out: dict[str, Any] = {}
    for table in sorted(set(was) | set(now)):
        old, new = was.get(table, []), now.get(table, [])
        if old != new:
            out[table] = {"gone": [r for r in old if r not in new],
                          "new": [r for r in new if r not in old]}
    return out


# -- what people send ---------------------------------------------------------------------

FORGED_IDS = ["0", "-1", "00", "0001", str(2**31), str(2**63 - 1), str(2**63), str(2**64),
              "9" * 18, "9" * 19, "9" * 40, "abc", "", " 1", "1 ", "+1", "0x1F", "1.0",
              "1e3", "١", "１", "²", "-0", "NaN", "None", "null", "'", "\"", "%d", "\x00",
              "1\n", "é", "🍯", "\ud800"]
TEXTS = ["0", "1", "-3", "6,50", "6.50 €", "6,50€", "0,001", "1e9", "10000", "999999",
         "1000000000000000000000", "１２", "٣", "miel", "Miel de châtaignier", "pain",
         "confiture", "-", "—", "oui", "non", "mar-ven 9h-12h30 14h-19h; sam 9h-12h",
         "lun 25h-3h", "dim 9h-9h", "\x00", "\ud800", "miel\udcff", "' OR 1=1 --",
         "%s%n{0}{name}", "<b>gras</b> &amp;", "=HYPERLINK(\"x\")", "\u202eevil", "  ",
         "\n\n", "Rochechouart 87600", "Saint-Junien", "Nouvelle boutique",
         "06 12 34 56 78"]
WORDS = ["miel", "savon", "pain", "Confiture", "gâteau", "vase", "0", "12", "6,50", "€",
         "eur", "-1", "x12", "999999"]
ANSWERS = ["12", "0", "3", "250", "6,50", "6.50 €", "0,99", "Rupture de stock, désolée",
           "mar-ven 9h-12h30 14h-19h; sam 9h-12h", "lun 8h-12h", "Place du Château",
           "05 55 03 02 01", "Sonnez à la porte de derrière", "24", "720", "721", "-",
           "Retour le 2 janvier", "Nouvelle collection d'automne !", "Cognac 16100",
           "Saint-Junien", "Chez Zoé", "Miel", "Tisane des bois"]


def weighted(*branches: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``branches``, each drawn about as often as its weight says."""
    return st.one_of(*[strategy for weight, strategy in branches for _ in range(weight)])


def texts() -> st.SearchStrategy[str]:
    """What people type: anything, numbers and prices, words of the catalogue, odd
    characters, and very long lines."""
    return weighted(
        (2, st.text(max_size=40)),
        (3, st.sampled_from(TEXTS)),
        (2, st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)),
        (1, st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=5),
                      st.integers(100, 2500))))


def answers() -> st.SearchStrategy[str]:
    """What people type when the bot asked them something: mostly sensible."""
    return weighted((3, st.sampled_from(ANSWERS)), (1, texts()))


def ids(world: World) -> st.SearchStrategy[str]:
    """Ids to forge with: real ones of every shop, and odd ones."""
    real = st.sampled_from([str(i) for i in world.real_ids])
    return weighted((2, real), (1, st.sampled_from(FORGED_IDS)),
                    (1, st.integers(min_value=-2**70, max_value=2**70).map(str)))


def genuine(world: World) -> st.SearchStrategy[str]:
    """Any button of any screen, about real shops, products, reservations...: what
    someone might have seen over another person's shoulder."""
    real = st.sampled_from([str(i) for i in [0, *world.real_ids]])
    return st.builds(lambda verb, args: ":".join([verb, *args]),
                     st.sampled_from(sorted(PRESSES)), st.lists(real, min_size=1, max_size=3))


def payloads(world: World) -> st.SearchStrategy[str]:
    """Button data: a known verb with forged arguments, or anything at all (up to 64
    bytes on Telegram; WhatsApp's reply ids are longer)."""
    argument = weighted((2, ids(world)), (1, st.text(max_size=10)), (1, st.sampled_from(
        ["e", "phone", "address", "description", "pickup_instructions", "hold_hours",
         "name", "active", "x" * 40, "k1"])))
    structured = st.builds(lambda verb, args: ":".join([verb, *args]),
                           st.sampled_from(sorted(PRESSES)), st.lists(argument, max_size=4))
    return weighted((2, genuine(world)), (3, structured), (1, st.text(max_size=64)),
                    (1, st.text(min_size=65, max_size=300)),
                    (1, st.binary(max_size=64).map(lambda b: b.decode("latin-1"))))


def commands(world: World) -> st.SearchStrategy[Command]:
    names = weighted((6, st.sampled_from(sorted(COMMANDS))), (1, st.text(max_size=20)),
                     (1, st.sampled_from(["START", "/start", "Stock", "start@bot"])))
    start = st.one_of(
        ids(world).map(lambda i: f"p_{i}"),
        st.sampled_from(world.slugs).map(lambda s: f"s_{s}"),
        st.text(max_size=30).map(lambda s: f"s_{s}"),
        st.sampled_from([world.used_invite, "AAAAAA", ""]).map(lambda c: f"i_{c}"),
        st.text(max_size=64))
    args = weighted(
        (4, st.just("")), (2, texts()), (1, start), (1, ids(world)),
        (3, st.lists(st.one_of(st.sampled_from(WORDS), ids(world)), max_size=5)
         .map(" ".join)),
        (1, st.sampled_from([world.used_invite, "AAAAAA"])))
    return st.builds(Command, name=names, args=args)


def captions() -> st.SearchStrategy[str]:
    """Photo captions: what a shopkeeper would write, and anything else."""
    names = st.one_of(st.sampled_from(["Savon lavande", "Miel", "Pain", "Bol en grès"]),
                      st.text(min_size=1, max_size=100))
    usual = st.builds(lambda name, price, stock: f"{name} {price} x{stock}", names,
                      st.sampled_from(["6,50 €", "6.50€", "12 €", "0,99€"]),
                      st.sampled_from(["12", "0", "1", "999"]))
    odd = st.builds(
        lambda name, price, sep, stock: f"{name} {price}{sep}{stock}", names,
        st.sampled_from(["6,50 €", "0,00 €", "-3 €", "1e9 €", "10 000 €", "12", "", "€"]),
        st.sampled_from([" x", " ×", " stock ", " ", ""]),
        st.sampled_from(["12", "0", "-1", "10000", "99999999", "", "douze"]))
    return weighted((3, usual), (2, odd), (2, texts()), (1, st.just("")))


def csv_files() -> st.SearchStrategy[bytes]:
    """Product files: the template filled in (mostly right, some cells wrong), files
    with odd columns, cells, separators, quotes and encodings; files at and beyond the
    line and size limits; random bytes; spreadsheets sent as they are."""

    def mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
        return weighted((6, st.sampled_from(good)), (1, st.sampled_from(bad)))

    row = st.tuples(
        weighted((4, st.sampled_from(["Savon lavande", "Miel de châtaignier", "Pain",
                                      "Tisane", "Bol en grès", "Pâté de campagne"])),
                 (1, st.text(min_size=1, max_size=90).map(lambda t: t.replace('"', "")))),
        mostly(["6,50", "12", "0,99", "6.50 €", "9999,99"], ["0", "-3", "abc", "1e9", ""]),
        mostly(["", "0", "12", "999999"], ["-1", "1000000", "douze"]),
        mostly(["", "Alimentation", "beauté et soins"], ["Inconnue"]),
        mostly(["", "Bio."], ["x" * 900]),
        mostly(["", "oui", "non"], ["peut-être"]))
    filled = st.lists(row, min_size=1, max_size=6).map(lambda rows: (
        "nom;prix;stock;catégorie;description;masqué\r\n" + "".join(
            ";".join(f'"{cell}"' for cell in r) + "\r\n" for r in rows)).encode())

    header = st.lists(st.sampled_from(
        ["nom", "prix", "stock", "catégorie", "description", "masqué", "id", "Prix (€)",
         "CATEGORIE", "Nom du produit", "quantité", "inconnu", "", "nom"]), max_size=8)
    cell = st.one_of(
        st.text(max_size=20),
        st.sampled_from(["Savon", "Miel de châtaignier", "6,50", "6.50 €", "-3", "1e9", "0",
                         "10000", "1000000", "oui", "non", "peut-être", "Alimentation",
                         "Beauté & soins", "Inconnue", "'=1+1", "\"", "\r\n", "12,0"]),
        st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=3),
                  st.integers(80, 3000)))
    rows = st.lists(st.lists(cell, max_size=8), max_size=12)

    def write(head: list[str], body: list[list[str]], sep: str, quoting: int,
              encoding: str, bom: bool) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out, delimiter=sep, quoting=quoting, escapechar="\\",
                            lineterminator="\r\n")
        for record in [head, *body]:
            try:
                writer.writerow(record)
            except csv.Error:  # what QUOTE_NONE cannot write: as it is
                out.write(sep.join(record) + "\r\n")
        data = out.getvalue().encode(encoding, errors="replace")
        return (codecs.BOM_UTF8 if bom and encoding == "utf-8" else b"") + data

    odd = st.builds(write, header, rows, st.sampled_from([";", ",", "\t", "|"]),
                    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]),
                    st.sampled_from(["utf-8", "cp1252", "utf-16", "latin-1"]),
                    st.booleans())
    raw = st.builds(lambda head, body, sep: (sep.join(head) + "\n" + "\n".join(
        sep.join(r) for r in body)).encode("utf-8", errors="surrogatepass"),
        header, rows, st.sampled_from([";", ","]))
    long = st.builds(lambda n, sep: (f"nom{sep}prix\n" + "".join(
        f"Article {i}{sep}1\n" for i in range(n))).encode(),
        st.sampled_from([MAX_ROWS + 1, MAX_ROWS + 7, 3 * MAX_ROWS]), st.sampled_from(";,"))
    blank = st.builds(lambda n, end: b"nom;prix\n" + end * n + b"Savon;1\n",
                      st.sampled_from([0, 10, 3 * MAX_ROWS, MAX_LINES + 1]),
                      st.sampled_from([b";\n", b"\n", b"\r", b";;;;\r\n"]))
    return weighted((2, filled), (2, odd), (1, raw), (1, long), (1, blank),
                    (1, st.binary(max_size=300)),
                    (1, st.binary(max_size=100).map(lambda b: b"PK\x03\x04" + b)),
                    (1, st.just(MAX_BYTES + 1).map(lambda n: b"nom;prix\n" + b"x" * n)),
                    (1, st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE])))


@dataclass(frozen=True)
class Upload:
    """A file sent (a ``DocumentIn``), shown short: some are megabytes long."""

    file_name: str
    data: bytes
    too_large: bool = False

    def __repr__(self) -> str:
        more = f"+{len(self.data) - 60} bytes" if len(self.data) > 60 else ""
        return f"Upload({self.file_name!r}, {self.data[:60]!r}{more}, " \
               f"too_large={self.too_large})"

    def event(self) -> DocumentIn:
        return DocumentIn(file_name=self.file_name, data=self.data, too_large=self.too_large)


def events(world: World) -> st.SearchStrategy[Event | Upload]:
    """Any one event, of every kind a channel hands over."""
    files = st.builds(Upload, file_name=st.one_of(
        st.sampled_from(["produits.csv", "Produits.CSV", "export.xlsx", ""]),
        st.text(max_size=300)), data=csv_files(),
        too_large=st.sampled_from([False] * 9 + [True]))
    photos = st.builds(
        PhotoIn, caption=captions(),
        file_ref=weighted((4, st.from_regex(r"AgAC[A-Za-z0-9_-]{1,60}", fullmatch=True)),
                          (1, st.text(max_size=20)), (1, st.just("x" * 600))),
        kept=weighted((2, st.none()),
                      (1, st.from_regex(r"media:[0-9a-f]{64}", fullmatch=True))))
    phones = st.one_of(st.text(max_size=30), st.sampled_from(
        ["+33 6 12 34 56 78", "0612345678", "+1", "0" * 40, "06 12 34 56 78 90 12"]))
    return weighted(
        (6, st.builds(Text, text=texts())),
        (3, st.builds(Press, payload=payloads(world))),
        (3, commands(world)),
        (2, photos), (2, files),
        (1, st.builds(ContactIn, phone=phones)),
        (1, st.builds(LocationIn, latitude=st.floats(), longitude=st.floats())),
        (1, st.just(Unsupported())))


def strangers() -> st.SearchStrategy[Person]:
    """People never seen before, on any channel, with any name."""
    return st.builds(
        Person, channel=st.sampled_from(["telegram", "whatsapp", "console"]),
        user_id=st.one_of(st.text(st.characters(codec="utf-8"), min_size=1, max_size=64)
                          .filter(lambda s: s not in KNOWN),
                          st.integers(10**6, 10**12).map(str)),
        name=st.one_of(st.text(max_size=80), st.just(""), st.just("\ud800 Zoé"),
                       st.just("x" * 300)))


# -- what people do -----------------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """Follow the bot for ``steps`` events, from ``start`` (a main screen) or from the
    last screen shown: press one of its buttons, sometimes forged, or answer when the
    bot just asked a question."""

    steps: int
    start: str | None = None


@dataclass(frozen=True)
class Forge:
    """A button the bot showed (on the last screen, or an older one when ``stale``)
    with ``forged`` in place of one of its arguments (``how="replace"``), added after
    them (``"extend"``), or with its last arguments cut off (``"truncate"``)."""

    forged: str
    how: str = "replace"
    stale: bool = False


@dataclass(frozen=True)
class Tick:
    """Time passes (``hours``) and the scheduled work runs: expiries, reminders."""

    hours: int


Action = Event | Upload | Walk | Forge | Tick

# Where walks start: the main screens of each role (and some refused to it).
CUSTOMER_ENTRIES = ("m", "b", "rs", "nw", "c", "sq", "h", "na", "d", "o")
STAFF_ENTRIES = ("d", "dp", "da", "/produits", "/boutique", "/ajouter", "m", "b", "o")
OPERATOR_ENTRIES = ("o", "ol:0", "oc", "om", "ow", "m", "c", "d")


def forges(world: World) -> st.SearchStrategy[Forge]:
    return st.builds(Forge, forged=ids(world), stale=st.booleans(),
                     how=st.sampled_from(["replace", "replace", "extend", "truncate"]))


def actions(world: World, entries: tuple[str, ...], *, ticks: bool = False
            ) -> st.SearchStrategy[Action]:
    """Mostly following the bot (so that sequences go deep into the flows), buttons of
    its screens forged, anyone's buttons about real ids, and any event at all."""
    return weighted(
        (4, st.builds(Walk, steps=st.integers(1, 8),
                      start=st.one_of(st.none(), st.sampled_from(entries)))),
        (2, forges(world)),
        (3, st.builds(Press, payload=genuine(world))),
        (6, events(world)),
        (1 if ticks else 0, st.builds(Tick, hours=st.integers(1, 72))))


@dataclass
class Screens:
    """What a person was shown: the buttons of their last screen (but « Menu », which
    every screen has), older ones, and whether the bot waits for a typed answer."""

    last: list[str] = field(default_factory=lambda: ["m"])
    older: list[str] = field(default_factory=lambda: ["m"])
    asked: bool = False

    def show(self, replies: list[Reply]) -> None:
        shown = [b.payload for reply in replies for b in reply.all_buttons]
        self.older = list(dict.fromkeys([*self.last, *self.older]))[:40]
        self.last = list(dict.fromkeys(p for p in shown if p != "m")) or ["m"]
        self.asked = any(reply.expects_text for reply in replies)

    def forge(self, data: st.DataObject, forge: Forge) -> str:
        verb, *args = data.draw(st.sampled_from(self.older if forge.stale else self.last),
                                label="forges").split(":")
        at = data.draw(st.integers(0, max(len(args) - 1, 0)), label="argument")
        if forge.how == "truncate":
            args = args[:at]
        elif forge.how == "extend":
            args.append(forge.forged)
        else:
            args[at:at + 1] = [forge.forged]
        return ":".join([verb, *args])


@dataclass
class Game:
    """One sequence on one copy of the territory, every event checked."""

    world: World
    store: Store
    referee: Referee
    clock: FakeClock
    incidents: Incidents
    delivery: Delivery
    platforms: tuple[Collecting, ...]
    screens: dict[tuple[str, str], Screens] = field(
        default_factory=lambda: defaultdict(Screens))
    played: int = 0

    async def send(self, who: Person, event: Event) -> None:
        """One event, and every check that follows it."""
        before = snapshot(self.store)
        self.referee.refused = None
        replies = await self.referee.handle(Inbound(
            channel=who.channel, user_id=who.user_id, display_name=who.name, event=event))
        self.played += 1
        after = snapshot(self.store)
        context = f"event {self.played}: {who!r} sent {_short(event)}"
        assert not self.incidents.records, f"{context}: an incident: " + "\n".join(
            logging.Formatter().format(r) for r in self.incidents.records)
        assert any(r.to is None for r in replies), f"{context}: no answer"
        for reply in replies:
            check_reply(reply)
        self.screens[who.channel, who.user_id].show([r for r in replies if r.to is None])
        for reply in replies:
            if reply.to is not None:  # a notification: its buttons can be pressed too
                self.screens[reply.to.channel, reply.to.user_id].show([reply])
        if self.referee.refused is not None:
            was, now = self.referee.refused
            assert _diff(was, now) == {}, f"{context}: refused, yet it wrote"
        if who != THE_OPERATOR:
            was, now = out_of_reach(before, after, who)
            assert _diff(was, now) == {}, f"{context}: changed what is not theirs"

    async def act(self, data: st.DataObject, who: Person, action: Action) -> None:
        screens = self.screens[who.channel, who.user_id]
        if isinstance(action, Walk):
            if action.start is not None and action.start.startswith("/"):
                await self.send(who, Command(name=action.start[1:]))
            elif action.start is not None:
                await self.send(who, Press(payload=action.start))
            for _ in range(action.steps):
                if screens.asked and data.draw(st.integers(0, 4), label="answers?"):
                    await self.send(who, Text(text=data.draw(answers(), label="types")))
                    continue
                twist = data.draw(weighted((4, st.none()), (1, forges(self.world))),
                                  label="twist")
                payload = (data.draw(st.sampled_from(screens.last), label="presses")
                           if twist is None else screens.forge(data, twist))
                await self.send(who, Press(payload=payload))
        elif isinstance(action, Forge):
            await self.send(who, Press(payload=screens.forge(data, action)))
        elif isinstance(action, Tick):
            self.clock.advance(hours=action.hours)
            for note in await swept(self.delivery, *self.platforms):
                check_reply(note)
        elif isinstance(action, Upload):
            await self.send(who, action.event())
        else:
            await self.send(who, action)


def _short(event: Event) -> str:
    if isinstance(event, DocumentIn):
        return repr(Upload(event.file_name, event.data, event.too_large))
    text = repr(event)
    return text if len(text) < 300 else text[:300] + "…"


@asynccontextmanager
async def game_on(template: Template, copy: Path) -> AsyncIterator[Game]:
    """A game on ``copy`` of the territory; the database is checked as a whole at the
    end."""
    store = await open_store(copy)
    incidents = Incidents()
    watched = logging.getLogger("chatshop")
    watched.addHandler(incidents)
    try:
        clock = FakeClock(START)
        services = services_on(store, clock)
        referee = Referee(services, store, territory=TERRITORY, tz=PARIS)
        platforms = (Collecting("telegram"), Collecting("whatsapp"))
        yield Game(template.cast, store, referee, clock, incidents,
                   runtime_of(services, referee, *platforms), platforms)
        check_database(store)
    finally:
        watched.removeHandler(incidents)
        await store.close()


PLAYED = [0]  # events played by this process (4 properties: about 10 000)


def play(template: Template, data: st.DataObject, people: st.SearchStrategy[Person],
         entries: tuple[str, ...], *, ticks: bool = False) -> None:
    """Play events drawn from ``data`` until there were ``EVENTS``."""

    async def sequence(copy: Path) -> int:
        async with game_on(template, copy) as game:
            moves = actions(template.cast, entries, ticks=ticks)
            while game.played < EVENTS:
                who = data.draw(people, label="who")
                await game.act(data, who, data.draw(moves, label="does"))
            return game.played

    copy = template.copy()
    try:
        PLAYED[0] += asyncio.run(sequence(copy))
    finally:
        template.discard(copy)


# -- the properties -----------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_customers_and_people_never_seen_can_break_nothing(template: Template,
                                                           data: st.DataObject) -> None:
    people = weighted((3, st.sampled_from([CUSTOMER, OTHER_CUSTOMER])), (1, strangers()))
    play(template, data, people, CUSTOMER_ENTRIES)


@FUZZ
@given(data=st.data())
def test_the_staff_of_one_shop_cannot_touch_another_shop(template: Template,
                                                         data: st.DataObject) -> None:
    play(template, data, st.sampled_from([OWNER_A, OWNER_A, STAFF_A]), STAFF_ENTRIES)


@FUZZ
@given(data=st.data())
def test_the_operator_gets_answers_whatever_they_send(template: Template,
                                                      data: st.DataObject) -> None:
    play(template, data, st.just(THE_OPERATOR), OPERATOR_ENTRIES)


@FUZZ
@given(data=st.data())
def test_everyone_at_once_while_time_passes(template: Template, data: st.DataObject) -> None:
    everyone = st.sampled_from([CUSTOMER, OTHER_CUSTOMER, OWNER_A, STAFF_A, OWNER_B,
                                OWNER_C, THE_OPERATOR])
    entries = tuple(dict.fromkeys(CUSTOMER_ENTRIES + STAFF_ENTRIES + OPERATOR_ENTRIES))
    play(template, data, weighted((6, everyone), (1, strangers())), entries, ticks=True)


@pytest.mark.parametrize("who", [OWNER_A, THE_OPERATOR], ids=["owner", "operator"])
def test_every_button_cut_short_or_lengthened_writes_nothing_when_refused(
        template: Template, who: Person) -> None:
    """Every verb with real ids of both shops, cut after each argument or followed by
    junk (about 1 900 events each): a handler must read all its arguments before it
    writes. A follow button cut after the shop used to subscribe, then answer « not
    found »."""
    world = template.cast
    real = [str(i) for i in (world.shop_a, world.shop_b, world.products_a[0],
                             world.products_b[1], world.reservations_a[0],
                             world.reservations_b[0], world.communes[1])]
    payloads = sorted(PRESSES)
    for verb in sorted(PRESSES):
        for first in real:
            payloads += [f"{verb}:{first}", f"{verb}:{first}:x", f"{verb}:{first}:{first}:x"]

    async def sweep(copy: Path) -> None:
        async with game_on(template, copy) as game:
            for payload in payloads:
                await game.send(who, Press(payload=payload))

    copy = template.copy()
    try:
        asyncio.run(sweep(copy))
    finally:
        template.discard(copy)
