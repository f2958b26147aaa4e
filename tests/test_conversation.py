"""Whole dialogues, channel-neutral: a customer finds, reserves and collects; the shop is
told and handles it; a restart loses nothing; surprises become an incident id."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import (
    ADD_TO_BASKET,
    ASK_ANNOUNCEMENT,
    ASK_HOURS,
    ASK_PRICE,
    ASK_STOCK,
    CANCEL_BY_SHOP,
    COLLECTED,
    DELETE,
    EXPORT_PRODUCTS,
    HOSTING,
    PLACE_CHOOSE,
    PRODUCT_ADMIN,
    PRODUCTS,
    READY,
    RESERVE_NOW,
    STOCK_PLUS,
)
from chatshop.domain.models import ReservationStatus
from chatshop.services import Services
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château (external ids of the
    territory fixture)."""
    jeanne = Chat(conversation, "3000", "Jeanne", postbox)
    lea = Chat(conversation, "2000", "Léa", postbox)
    return jeanne, lea


async def test_typing_creme_then_reserving_gives_a_code_and_tells_the_shop(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    cream = await territory.product("Crème pour les mains", 1250, on_hand=3)
    await jeanne.send("/start")
    await jeanne.send("creme")
    assert "Crème pour les mains" in " ".join(jeanne.labels)
    await jeanne.press("Crème pour les mains")
    assert "12,50" in jeanne.text
    await jeanne.press("1")  # « Réserver 1 maintenant »
    made = (await territory.services.reservations.of_customer(territory.customer.id))[0]
    assert made.code in jeanne.text
    assert "Château" in jeanne.text  # the shop, on the written proof
    (news,) = lea.inbox()
    assert made.code in news.text
    assert {b.payload for b in news.all_buttons} >= {READY.payload(reservation=made.id),
                                                     COLLECTED.payload(reservation=made.id)}

    # Léa marks it ready from her notification: Jeanne is told.
    lea.last = [news]
    await lea.press("✅")
    assert (await territory.services.reservations.of_customer(
        territory.customer.id))[0].status is ReservationStatus.READY
    (ready,) = jeanne.inbox()
    assert made.code in ready.text

    # Collected and paid: the stock drops for good.
    await lea.forge(COLLECTED.payload(reservation=made.id))
    after = await territory.services.catalogue.product(cream.id)
    assert (after.on_hand, after.reserved) == (2, 0)
    (collected,) = jeanne.inbox()
    assert made.code in collected.text


async def test_from_a_shared_link_to_a_confirmed_reservation_in_at_most_3_taps(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await territory.product("Miel de châtaignier", 950, on_hand=5)
    await jeanne.send(f"/start p_{honey.id}")  # opening the link: no tap yet
    await jeanne.press("1")  # tap 1: reserve one now
    reservations = await territory.services.reservations.of_customer(territory.customer.id)
    assert len(reservations) == 1
    assert reservations[0].code in jeanne.text


async def test_a_double_tap_on_reserve_makes_one_reservation(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, _lea = people
    honey = await territory.product("Miel", 950, on_hand=5)
    await jeanne.send(f"/start p_{honey.id}")
    shown = list(jeanne.last)
    await jeanne.press("1")
    first = jeanne.text
    jeanne.last = shown
    await jeanne.press("1")
    assert jeanne.text == first
    assert (await territory.services.catalogue.product(honey.id)).reserved == 1


async def test_the_basket_is_reserved_per_shop(territory: Territory,
                                               people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    honey = await territory.product("Miel", 950, on_hand=5)
    await jeanne.forge(ADD_TO_BASKET.payload(product=honey.id, quantity=2))
    await jeanne.send("/panier")
    assert "19,00" in jeanne.text
    await jeanne.press("Château")  # reserve at the Épicerie du Château
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert made.total_cents == 1900
    assert await territory.services.baskets.baskets(territory.customer.id) == []
    (news,) = lea.inbox()  # one notice, naming the reservation
    assert made.code in news.text


async def test_the_shop_cancels_with_a_reason_and_the_customer_reads_it(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    honey = await territory.product("Miel", 950, on_hand=5)
    made = await territory.services.reservations.reserve_now(territory.customer.id,
                                                             honey.id, 1, "k")
    await lea.forge(CANCEL_BY_SHOP.payload(reservation=made.id))
    await lea.send("Le dernier pot est tombé, désolée !")
    (news,) = jeanne.inbox()
    assert "Le dernier pot est tombé" in news.text
    assert (await territory.services.catalogue.product(honey.id)).reserved == 0


async def test_free_text_is_a_search_unless_the_bot_asked_something(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    honey = await territory.product("Miel", 950, on_hand=5)
    await lea.forge(ASK_PRICE.payload(product=honey.id))
    await lea.send("8,90 €")
    assert (await territory.services.catalogue.product(honey.id)).price_cents == 890
    await lea.send("miel")  # nothing asked any more: a search
    assert any("Miel" in label for label in lea.labels)


async def test_a_restart_loses_nothing(territory: Territory, services: Services,
                                       postbox: Postbox) -> None:
    honey = await territory.product("Miel", 950, on_hand=5)
    before = Chat(Conversation(services, territory="T", tz=PARIS), "2000", "Léa",
                  postbox)
    await before.forge(ASK_STOCK.payload(product=honey.id))  # « how many on the shelf? »
    after = Chat(Conversation(services, territory="T", tz=PARIS), "2000", "Léa",
                 postbox)
    await after.send("42")
    assert (await territory.services.catalogue.product(honey.id)).on_hand == 42


async def test_a_wrong_answer_can_be_typed_again(territory: Territory,
                                                 people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    honey = await territory.product("Miel", 950, on_hand=5)
    await lea.forge(ASK_PRICE.payload(product=honey.id))
    for wrong in ["abc", "-3", "1e9", "0", "10000,01", "x" * 5000]:
        await lea.send(wrong)
        assert (await territory.services.catalogue.product(honey.id)).price_cents == 950
    await lea.send("7,20")
    assert (await territory.services.catalogue.product(honey.id)).price_cents == 720


async def test_a_captioned_photo_adds_a_product(territory: Territory,
                                                people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await lea.photo("Savon lavande 6,50 € x12", file_ref="AgAC-savon")
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    (soap,) = page.items
    assert (soap.name, soap.price_cents, soap.on_hand) == ("Savon lavande", 650, 12)
    assert soap.photos == {"telegram": "AgAC-savon"}


async def test_quick_commands_change_stock_and_price(territory: Territory,
                                                     people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    soap = await territory.product("Savon à la lavande", 650, on_hand=5)
    await lea.send("/stock savon a la lavande 12")
    await lea.send("/prix savon 7,50 €")
    after = await territory.services.catalogue.product(soap.id)
    assert (after.on_hand, after.price_cents) == (12, 750)


async def test_something_unexpected_becomes_an_apology_with_an_incident_id(
        territory: Territory, people: tuple[Chat, Chat],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    jeanne, _lea = people

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(territory.services.search, "search", broken)
    await jeanne.send("miel")
    assert "incident" in jeanne.text.lower()
    assert "disk on fire" not in jeanne.text
    assert "Traceback" in caplog.text or "disk on fire" in caplog.text


async def test_the_operator_opens_a_shop_and_its_owner_joins(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    office = Chat(conversation, "1000", "Office de tourisme", postbox)
    await office.send("/territoire")
    await office.press("➕")
    await office.press("Rochechouart")
    await office.send("Boulangerie Martin")
    code = next(word for word in office.text.split() if len(word) == 10 and word.isupper())
    baker = Chat(conversation, "5000", "Paul", postbox)
    await baker.send(f"/invitation {code}")
    shop = await territory.services.shops.by_slug("boulangerie-martin")
    members = await territory.services.shops.staff(territory.operator, shop.id)
    assert [m.role.value for m in members] == ["owner"]



async def test_long_lists_are_paged_within_eight_buttons(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    for n in range(23):
        await territory.product(f"Bougie parfumée n°{n:02d}", 1200 + n, on_hand=3)
    await jeanne.forge(PRODUCTS.payload(shop=territory.shop.id, category=0, offset=0))
    seen = set(jeanne.labels)
    for _ in range(4):
        await jeanne.press("▶️")
        seen |= set(jeanne.labels)
    assert sum("Bougie" in label for label in seen) == 23
    await jeanne.press("◀️")
    assert "incident" not in jeanne.text.lower()
    await jeanne.send("bougie")
    for _ in range(4):
        await jeanne.press("▶️")
    await lea.send("/produits")
    for _ in range(4):
        await lea.press("▶️")
    assert "incident" not in lea.text.lower()


GOOD_EXCEL = ("\ufeffNom;Prix;Stock;Catégorie;Description\r\n"
              "Savon à la lavande;6,50 €;12;Beauté & soins;Savon saponifié à froid\r\n"
              "Miel de châtaignier;9,50;5;Alimentation;Pot de 500 g\r\n").encode("utf-8")
BROKEN_EXCEL = ("\ufeffNom;Prix;Stock\r\n"
                "Savon à la lavande;6,50;12\r\n"
                "Miel;abc;5\r\n"
                ";4,00;1\r\n").encode("utf-8")


async def test_a_shopkeeper_imports_a_french_excel_file_or_is_told_what_is_wrong(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    await lea.document("produits.csv", BROKEN_EXCEL)
    assert "3" in lea.text
    assert "4" in lea.text
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.total == 0  # nothing applied while a line is wrong
    await lea.document("produits.csv", GOOD_EXCEL)
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert sorted((p.name, p.price_cents, p.on_hand) for p in page.items) == [
        ("Miel de châtaignier", 950, 5), ("Savon à la lavande", 650, 12)]
    await jeanne.document("produits.csv", GOOD_EXCEL)  # a customer cannot import
    assert (await territory.services.catalogue.maker_products(
        territory.owner, territory.shop.id)).total == 2
    await lea.forge(EXPORT_PRODUCTS.payload(shop=territory.shop.id))
    (export,) = lea.last
    assert export.document is not None
    assert "Savon à la lavande" in export.document.data.decode("utf-8-sig")


async def test_a_maker_asks_a_host_which_accepts_and_then_collects_its_products(
        territory: Territory, conversation: Conversation, postbox: Postbox) -> None:
    maker_shop, _artisan = await territory.open_shop("Poteries de Marie", "2200")
    bowl = await territory.product("Bol en grès", 2500, on_hand=4, shop=maker_shop,
                                   owner=_artisan)
    marie = Chat(conversation, "2200", "Marie", postbox)
    lea = Chat(conversation, "2000", "Léa", postbox)
    await marie.forge(HOSTING.payload(shop=maker_shop.id))
    await marie.press("➕")
    await marie.press("Château")
    (ask,) = lea.inbox()
    lea.last = [ask]
    await lea.press("✅")
    (accepted,) = marie.inbox()
    assert "Château" in accepted.text
    await marie.forge(PLACE_CHOOSE.payload(product=bowl.id))
    await marie.press("Château")
    listed = await territory.services.catalogue.listed(bowl.id)
    assert listed.pickup_shop_name == "Épicerie du Château"
    assert listed.maker_name == "Poteries de Marie"


async def test_a_shopkeeper_types_the_opening_hours(territory: Territory,
                                                    people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await lea.forge(ASK_HOURS.payload(shop=territory.shop.id))
    await lea.send("lundi 9h")  # not understood: asked again, nothing saved
    assert (await territory.services.shops.get(territory.shop.id)).hours == ()
    await lea.send("mar-ven 9h-12h30 14h-19h; sam 9h-12h")
    shop = await territory.services.shops.get(territory.shop.id)
    assert len(shop.hours) == 9
    assert {i.weekday for i in shop.hours} == {1, 2, 3, 4, 5}
    assert "12:30" in lea.text


async def test_a_deleted_product_leaves_the_list_the_search_and_baskets(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    soap = await territory.product("Savon au lait d'ânesse", 650, on_hand=5)
    await jeanne.send("savon")
    await jeanne.press("Savon au lait")
    await jeanne.press("🧺")  # into the basket
    assert await territory.services.baskets.baskets(territory.customer.id)

    await lea.forge(PRODUCT_ADMIN.payload(product=soap.id))
    await lea.press("Plus")
    await lea.press("Supprimer")
    assert "définitivement" in lea.text  # asked once more
    await lea.press("Oui, supprimer")
    assert "supprimé" in lea.text
    assert (await territory.services.catalogue.maker_products(
        territory.owner, territory.shop.id)).total == 0

    await jeanne.send("savon")
    assert "Savon au lait" not in " ".join(jeanne.labels)
    assert not await territory.services.baskets.baskets(territory.customer.id)
    await lea.forge(STOCK_PLUS.payload(product=soap.id))  # an old button: the product is gone
    assert "introuvable" in lea.text or "retiré" in lea.text


async def test_a_reserved_product_cannot_be_deleted_until_collected(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    jeanne, lea = people
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await jeanne.forge(RESERVE_NOW.payload(product=honey.id, quantity=1, nonce="abc"))
    await lea.forge(DELETE.payload(product=honey.id))
    assert "réservé" in lea.text
    kept = await territory.services.catalogue.product(honey.id)
    assert (kept.on_hand, kept.reserved) == (4, 1)


async def test_a_shopkeeper_writes_the_announcement_for_the_weekly_digest(
        territory: Territory, people: tuple[Chat, Chat], clock: FakeClock) -> None:
    jeanne, lea = people
    await lea.send("/annonce Nouvelle collection d'automne !")
    shop = await territory.services.shops.get(territory.shop.id)
    assert shop.announcement == "Nouvelle collection d'automne !"
    assert shop.announcement_at == clock.now

    await lea.send("/annonce " + "x" * 501)  # too long: said, nothing changed
    assert "500" in lea.text
    assert (await territory.services.shops.get(territory.shop.id)).announcement == \
        "Nouvelle collection d'automne !"

    await lea.forge(ASK_ANNOUNCEMENT.payload(shop=territory.shop.id))
    assert "Nouvelle collection" in lea.text
    await lea.send("-")
    assert (await territory.services.shops.get(territory.shop.id)).announcement == ""

    await jeanne.send("/annonce Fausse annonce")  # a customer: refused, nothing written
    assert (await territory.services.shops.get(territory.shop.id)).announcement == ""
    await jeanne.forge(ASK_ANNOUNCEMENT.payload(shop=territory.shop.id))
    assert "Fausse" not in (await territory.services.shops.get(territory.shop.id)).announcement
