"""Buttons declared once: every route's verb is unique and answered, its payloads fit
Telegram's 64 bytes and keep the wire format of buttons already in people's chats, and a
forged or broken argument is « introuvable » and changes nothing. Also the seams around
them: typed prompts (and old saved ones), the notices the runtime sends, what channels
ask instead of knowing verbs, and one stock check."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation import routes
from chatshop.conversation.digest import TEMPLATE_REPLIES
from chatshop.conversation.handlers import PRESSES, handles
from chatshop.conversation.merchant import changes_roles
from chatshop.conversation.messages import (
    MAX_PAYLOAD_BYTES,
    Command,
    Event,
    Press,
    Reply,
    Text,
)
from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import (
    ASK_STOCK,
    READY,
    REST,
    ROUTES,
    SEARCH_PAGE,
    TAIL,
    Route,
    route,
)
from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK
from chatshop.domain.models import Product, Reservation, ReservationStatus
from chatshop.errors import NotFound
from chatshop.services import Services
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.test_i18n import plain

PARIS = ZoneInfo("Europe/Paris")
NOT_FOUND = NotFound("", None).message()

# The wire format: each verb and its arguments, in order, as buttons already sent carry
# them. A change here breaks buttons in people's chats: add a verb, never change one.
WIRE = {
    "m": "", "h": "", "c": "offset?", "cs": "commune offset", "s": "shop", "ct": "shop",
    "k": "shop", "l": "shop category offset", "p": "product",
    "q": "product quantity edit?", "a": "product quantity", "r": "product quantity nonce?",
    "sq": "", "f": "offset query*", "rs": "", "rx": "reservation", "rxy": "reservation",
    "ex": "", "er": "", "ery": "", "nophone": "when?",
    "b": "", "bq": "product quantity", "bc": "shop nonce?", "br": "shop nonce? cuts*",
    "d": "shop?", "dr": "shop", "rv": "reservation", "rr": "reservation",
    "rc": "reservation", "rk": "reservation", "xe": "shop", "xp": "shop", "xr": "shop",
    "xt": "shop", "ho": "shop", "hq": "shop offset", "hr": "maker host", "ha": "host maker",
    "hx": "host maker",
    "dp": "shop? offset?", "pp": "product", "pm": "product", "pd": "product",
    "pdy": "product", "s+": "product", "s-": "product", "sh": "product", "ss": "product",
    "sp": "product", "sa": "product quantity seen price?",
    "sr": "product quantity seen price?", "sn": "product quantity seen price?",
    "px": "product price", "da": "shop?", "pc": "product category", "pl": "product",
    "pla": "product host", "pn": "shop key?",
    "st": "shop", "se": "shop key?", "so": "shop", "an": "shop", "sk": "shop", "sf": "shop",
    "sv": "shop", "iv": "shop",
    "wg": "shop?", "wa": "shop?", "we": "shop?",
    "o": "", "om": "", "oc": "offset?", "on": "commune", "ol": "offset", "os": "shop",
    "ot": "shop", "oi": "shop", "oa": "",
    "nw": "", "ns": "", "nc": "offset?", "nct": "commune offset", "nh": "offset?",
    "nht": "shop offset", "un": "", "na": "", "ow": "", "owp": "", "ows": "", "owy": "",
    "owf": "",
    "va": "product", "vl": "", "vx": "alert",  # #12 V
    "gp": "reservation until", "gu": "reservation", "gc": "reservation",  # #12 G
    "gr": "shop", "gt": "shop rule", "gk": "shop cap", "gs": "shop cap value",  # #12 G
    "j": "shop? offset?", "jp": "shop", "jr": "reservation",  # #12 J
    "uf": "shop?", "ug": "shop", "ut": "",  # #12 U
    "tp": "product", "tq": "product quantity", "ts": "product quantity",  # #12 T
    "tr": "product key", "tc": "product key", "tv": "product",  # #12 T
    "tw": "product quantity seen", "td": "reservation", "te": "reservation",  # #12 T
    "tx": "reservation", "ty": "reservation",  # #12 T
}


def _wire(declared: Route) -> str:
    marks = {"rest": "*", "tail": "*"}
    return " ".join(p.name + (marks.get(p.kind) or ("?" if p.optional else ""))
                    for p in declared.params)


def test_the_verbs_and_their_arguments_are_those_of_the_buttons_already_sent() -> None:
    assert {verb: _wire(declared) for verb, declared in ROUTES.items()} == WIRE


def test_every_route_is_answered_by_one_handler_and_a_verb_is_declared_once() -> None:
    assert set(PRESSES) == set(ROUTES)
    with pytest.raises(ValueError, match="registered twice"):
        route("rr", reservation=int)
    with pytest.raises(ValueError, match="registered twice"):
        handles(READY)(PRESSES["rr"])
    assert ROUTES["rr"] is READY


def test_a_handler_that_does_not_take_its_routes_arguments_fails_at_import() -> None:
    lonely = Route("zz-test", (routes.Param("shop", "int", False),))
    ROUTES[lonely.verb] = lonely
    try:
        async def wrong(ctx: object, product: int) -> list[Reply]:
            return []
        with pytest.raises(TypeError, match="carries"):
            handles(lonely)(wrong)
    finally:
        del ROUTES[lonely.verb]
    assert lonely.verb not in PRESSES


# Strings carried by buttons, at their longest: a nonce, a shop setting's name, a flag;
# counts at their limits; ids past any SQLite gives.
LONGEST_TEXT = {"nonce": 6, "key": len("pickup_instructions"), "edit": 1, "when": 5,
                "cap": len("max_open_reservations"), "rule": len("holidays")}  # #12 G
LARGEST = {"quantity": MAX_STOCK, "price": MAX_PRICE_CENTS}


@pytest.mark.parametrize("verb", sorted(ROUTES))
def test_every_button_fits_telegrams_64_bytes_with_the_largest_ids(verb: str) -> None:
    declared = ROUTES[verb]
    values: dict[str, int | str | tuple[int, ...]] = {}
    for param in declared.params:
        if param.kind == "int":
            values[param.name] = LARGEST.get(param.name, 10**routes.MAX_DIGITS - 1)
        elif param.kind == "str":
            values[param.name] = "x" * LONGEST_TEXT[param.name]
    # REST and TAIL (a search, a basket's cut lines) are measured where they are built:
    # a query that does not fit is kept in the state, a basket too long is not offered.
    assert len(declared.payload(**values).encode()) <= MAX_PAYLOAD_BYTES


def test_a_payload_reads_back_as_its_arguments() -> None:
    assert READY.payload(reservation=12) == "rr:12"
    assert READY.read(["12"]) == {"reservation": 12}
    keep = route("zz-test-2", shop=int, nonce=str | None, cuts=TAIL)
    find = route("zz-test-3", offset=int, query=REST)
    try:
        assert keep.payload(shop=3) == "zz-test-2:3"
        assert keep.payload(shop=3, nonce="ab", cuts=(7, 1)) == "zz-test-2:3:ab:7:1"
        assert keep.read(["3", "ab", "7", "1"]) == {"shop": 3, "nonce": "ab", "cuts": (7, 1)}
        assert keep.read(["3"]) == {"shop": 3}  # the handler's defaults apply
        assert find.payload(offset=5, query="thé: vert") == "zz-test-3:5:thé: vert"
        assert find.read(["5", "thé", " vert"]) == {"offset": 5, "query": "thé: vert"}
        assert find.read(["5"]) == {"offset": 5}
        with pytest.raises(TypeError):
            keep.payload(nonce="ab")  # the shop is needed
        with pytest.raises(TypeError):
            keep.payload(shop=3, cuts=(1, 2))  # after an argument left off
        with pytest.raises(TypeError):
            READY.payload(reservation=-1)
        with pytest.raises(TypeError):
            READY.payload(reservation=1, shop=2)
    finally:
        del ROUTES["zz-test-2"], ROUTES["zz-test-3"]
    assert SEARCH_PAGE.payload(offset=0) == "f:0"


@pytest.mark.parametrize("broken", ["abc", "-1", "+1", "1.5", "", "9" * 19, "١٢", "¹"])
def test_a_broken_argument_is_not_found(broken: str) -> None:
    with pytest.raises(NotFound):
        READY.read([broken])
    with pytest.raises(NotFound):
        READY.read([])


async def _state(territory: Territory, honey: Product) -> tuple[object, ...]:
    product = await territory.services.catalogue.product(honey.id)
    reservations = await territory.services.reservations.of_customer(territory.customer.id)
    shop = await territory.services.shops.get(territory.shop.id)
    return (product, reservations, shop)


async def test_a_forged_or_broken_argument_on_any_routed_button_is_introuvable(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    """Every route with an id, pressed by its shop's owner with one id broken: « introuvable »,
    nothing changed (the other arguments are real, so only the broken one can refuse)."""
    honey = await territory.product("Miel", 950, on_hand=5)
    await territory.services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k")
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/menu")
    before = await _state(territory, honey)
    tried = 0
    for declared in ROUTES.values():
        ids = [i for i, p in enumerate(declared.params) if p.kind == "int"]
        for broken_at in ids:
            parts = [str(honey.id) if p.kind == "int" else "x" for p in declared.params
                     if p.kind in ("int", "str")]
            for broken in ("abc", "9" * 19):
                parts[broken_at] = broken
                await lea.forge(":".join([declared.verb, *parts]))
                assert lea.text == NOT_FOUND, (declared.verb, parts)
                tried += 1
    assert tried > 100
    assert await _state(territory, honey) == before
    assert postbox.inbox == {}


async def test_a_forged_reservation_on_the_ready_button_changes_nothing(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    honey = await territory.product("Miel", 950, on_hand=5)
    made = await territory.services.reservations.reserve_now(territory.customer.id,
                                                             honey.id, 1, "k")
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/menu")
    for forged in (f"{READY.verb}:{made.id}x", f"{READY.verb}:", f"{READY.verb}:-{made.id}",
                   READY.payload(reservation=made.id + 1000)):
        await lea.forge(forged)
        assert lea.text == NOT_FOUND, forged
        assert "Menu" in " ".join(lea.labels)
    (still,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert still.status is ReservationStatus.PENDING
    assert postbox.inbox == {}


# -- typed prompts ----------------------------------------------------------------------


async def test_a_prompt_saved_before_prompts_were_typed_is_answered(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    honey = await territory.product("Miel", 950, on_hand=5)
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/menu")
    owner = territory.owner_user
    # The layout the state had before: {"await": {"kind": ..., its details}}.
    await territory.services.conversations.save(
        owner.id, {"await": {"kind": "stock", "product": honey.id, "back": "pp:1"}},
        territory.services.clock())
    await lea.send("7")
    assert (await territory.services.catalogue.product(honey.id)).on_hand == 7


@pytest.mark.parametrize("saved", [
    {"kind": "stock", "product": "abc"}, {"kind": "stock"},
    {"kind": "new_stock", "shop": 1, "name": "Miel"}, {"kind": "setting", "shop": [1]},
])
async def test_a_saved_prompt_that_no_longer_reads_is_dropped_with_a_word(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        saved: dict[str, object]) -> None:
    honey = await territory.product("Miel", 950, on_hand=5)
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.send("/menu")
    await territory.services.conversations.save(territory.owner_user.id, {"await": saved},
                                                territory.services.clock())
    before = await _state(territory, honey)
    await lea.send("7")
    assert plain(lea.text).startswith(
        "Désolé, je ne sais plus à quoi répondait ce message. Voici le menu.")
    assert "incident" not in lea.text
    assert await _state(territory, honey) == before
    await lea.send("miel")  # the prompt is gone: a search
    assert any("Miel" in label for label in lea.labels)


# -- one stock check ----------------------------------------------------------------------


async def test_a_stock_typed_at_either_prompt_is_refused_with_its_real_range(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    honey = await territory.product("Miel", 950, on_hand=5)
    lea = Chat(conversation, "2000", "Léa", postbox)
    await lea.forge(ASK_STOCK.payload(product=honey.id))
    await lea.send("100001")
    at_the_shelf = plain(lea.text)
    await lea.send("/ajouter")
    await lea.send("Confiture de mûres")
    await lea.send("4,50")
    await lea.send("100001")
    at_a_new_product = plain(lea.text)
    assert at_the_shelf == at_a_new_product == (
        "Le stock doit être un nombre entier entre 0 et 100 000.")
    assert (await territory.services.catalogue.product(honey.id)).on_hand == 5
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert [p.name for p in page.items] == ["Miel"]
    await lea.send("0")  # a stock may be 0: the product is made
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert sorted(p.name for p in page.items) == ["Confiture de mûres", "Miel"]


# -- what the runtime and the channels ask of the conversation ---------------------------


async def test_the_conversation_needs_no_store(services: Services, territory: Territory,
                                               postbox: Postbox) -> None:
    alone = Conversation(services, territory="T", tz=PARIS)
    jeanne = Chat(alone, "3000", "Jeanne", postbox)
    await jeanne.send("/menu")
    assert "Que souhaitez-vous faire ?" in plain(jeanne.text)


async def _due(territory: Territory, clock: FakeClock) -> Reservation:
    honey = await territory.product("Miel", 950, on_hand=5)
    made = await territory.services.reservations.reserve_now(territory.customer.id,
                                                             honey.id, 1, "k")
    clock.now = made.deadline_at - timedelta(hours=1)
    return made


async def test_the_reminder_is_addressed_to_the_customer_and_names_its_reservation(
        territory: Territory, conversation: Conversation, clock: FakeClock) -> None:
    made = await _due(territory, clock)
    (reminder,) = await conversation.reminder(made)
    assert reminder.to is not None
    assert reminder.to.user_id == "3000"
    assert reminder.regarding == made.id
    assert made.code in reminder.text
    assert "Rappel" in reminder.text
    assert "Menu" in " ".join(b.label for b in reminder.all_buttons)
    # Asking does not mark it: the runtime claims reminders itself.
    unmarked = await territory.services.reservations.get(made.id)
    assert unmarked is not None
    assert unmarked.reminded_at is None


async def test_the_expiry_news_is_addressed_to_the_customer(
        territory: Territory, conversation: Conversation, clock: FakeClock) -> None:
    made = await _due(territory, clock)
    clock.now = made.deadline_at + timedelta(minutes=1)
    (expired,) = await territory.services.reservations.expire_overdue()
    (news,) = await conversation.expiry_news(expired)
    assert news.to is not None
    assert news.to.user_id == "3000"
    assert news.regarding == made.id
    assert "expiré" in news.text


def test_the_digest_templates_quick_replies_are_the_digests_own_buttons() -> None:
    assert TEMPLATE_REPLIES == ("na", "un")  # approved with the template: never change
    assert set(TEMPLATE_REPLIES) <= set(PRESSES)


@pytest.mark.parametrize(("event", "changes"), [
    (Command(name="invitation", args="ABC123"), True),
    (Command(name="start", args="i_ABC123"), True),
    (Command(name="start", args="p_12"), False),
    (Command(name="start"), False),
    (Command(name="menu"), False),
    (Text(text="/invitation ABC123"), False),
    (Press(payload="d:1"), False),
])
def test_only_accepting_an_invitation_may_change_someones_roles(event: Event,
                                                                 changes: bool) -> None:
    assert changes_roles(event) is changes


# -- one pager ----------------------------------------------------------------------------


async def _page_through(chat: Chat) -> list[list[str]]:
    """The item labels of each page, « Suivant » to the end, then « Précédent » once."""
    pages = []
    while True:
        pages.append([label for label in chat.labels if "Confiture" in label])
        if not any("Suivant" in label for label in chat.labels):
            break
        await chat.press("Suivant")
        assert chat.last[0].edit  # a page replaces the one before, where it can
    await chat.press("Précédent")
    pages.append([label for label in chat.labels if "Confiture" in label])
    return pages


@pytest.mark.parametrize("who", ["customer browsing", "customer searching", "shopkeeper"])
async def test_every_list_pages_forward_and_back_the_same_way(
        territory: Territory, conversation: Conversation, postbox: Postbox,
        who: str) -> None:
    for n in range(12):
        await territory.product(f"Confiture n°{n:02}", 450, on_hand=5)
    chat = Chat(conversation, "2000" if who == "shopkeeper" else "3000", "X", postbox)
    await chat.send("/menu")
    if who == "customer browsing":
        await chat.forge(routes.PRODUCTS.payload(shop=territory.shop.id, category=0, offset=0))
    elif who == "customer searching":
        await chat.send("confiture")
    else:
        await chat.forge(routes.PRODUCT_LIST.payload(shop=territory.shop.id, offset=0))
    pages = await _page_through(chat)
    assert [len(page) for page in pages] == [5, 5, 2, 5]
    assert pages[-1] == pages[1]  # « Précédent » from the last page: the one before
    seen = [label for page in pages[:3] for label in page]
    assert len(set(seen)) == 12
    assert "Menu" in " ".join(chat.labels)
