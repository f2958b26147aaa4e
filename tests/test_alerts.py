"""« 🔔 Prévenez-moi quand il revient » (#12 §3), through the chat: a customer asks on a
sold-out card, lists and cancels « Mes alertes », and is told once, through the outbox,
when the product is back (« ✅ Réserver 1 » on the message); hidden or deleted products
never fire, and an alert lapses 60 days after it was asked."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import ALERT_ASK, ALERT_CANCEL, MY_ALERTS
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import (
    Product,
    ProductChanges,
    ReservationStatus,
    ShopDetails,
    StockReason,
)
from chatshop.domain.parsing import StockChange
from chatshop.errors import NotAllowed
from chatshop.services import Services
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.fakes.graph_api import FakeGraphAPI
from tests.test_whatsapp import JEANNE, running, webhook
from tests.world import Collecting, runtime_of

ASK = "Prévenez-moi quand il revient"


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


@pytest.fixture
def telegram() -> Collecting:
    return Collecting("telegram")


@pytest.fixture
def delivery(services: Services, conversation: Conversation,
             telegram: Collecting) -> Delivery:
    return runtime_of(services, conversation, telegram)


async def sold_out_soap(territory: Territory) -> Product:
    return await territory.product("Savon lavande", 450, on_hand=0)


async def asks_for(jeanne: Chat, product: Product) -> None:
    await jeanne.send(f"/start p_{product.id}")
    await jeanne.press(ASK)


async def told(delivery: Delivery, telegram: Collecting) -> list[str]:
    """What one telling sweep sends, once the outbox has delivered it."""
    await delivery.tell_alerts()
    await delivery.outbox.deliver("telegram")
    sent, telegram.sent[:] = list(telegram.sent), []
    return [message.reply.text for message in sent]


async def test_jeanne_asks_on_a_sold_out_card_and_is_told_once_when_lea_restocks(
        territory: Territory, people: tuple[Chat, Chat], services: Services, store: Store,
        delivery: Delivery, telegram: Collecting, clock: FakeClock) -> None:
    jeanne, lea = people
    soap = await sold_out_soap(territory)
    await jeanne.send(f"/start p_{soap.id}")
    assert any(ASK in label for label in jeanne.labels)
    await jeanne.press(ASK)
    assert "C’est noté" in jeanne.text
    assert "Savon lavande" in jeanne.text
    assert "Épicerie du Château" in jeanne.text
    assert "lundi 25 janvier" in jeanne.text  # 60 days after Thursday 26 November
    # The first alert says how the news will come, and what is kept.
    assert "un seul message ici, dans cette conversation" in jeanne.text
    assert "/alertes" in jeanne.text
    assert {"🔔 Mes alertes", "🏠 Menu"} <= set(jeanne.labels)
    (mine,) = await services.alerts.of_customer(territory.customer.id)
    assert mine.alert.expires_at == clock.now + timedelta(days=60)
    assert await services.alerts.waiting_count(territory.owner, soap.id) == 1

    assert await told(delivery, telegram) == []  # still sold out: nothing to say

    clock.advance(hours=2)
    await lea.send("/stock savon lavande 3")
    (news,) = await told(delivery, telegram)
    assert news == ("🔔 Bonne nouvelle\u00a0: Savon lavande est de retour chez Épicerie du "
                    "Château (4,50\u00a0€). Pour le réserver, répondez ici «\u00a0Savon "
                    "lavande\u00a0».")
    assert await told(delivery, telegram) == []  # told once
    assert await services.alerts.of_customer(territory.customer.id) == []
    assert await services.alerts.waiting_count(territory.owner, soap.id) == 0
    await delivery.clean_up()  # told: nothing more is kept of it
    assert await store.alerts.of_user(territory.customer.id) == []


async def test_the_reserve_1_button_of_the_news_reserves_one(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        delivery: Delivery, telegram: Collecting) -> None:
    jeanne, lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    await lea.send("/stock savon lavande 2")
    await delivery.tell_alerts()
    await delivery.outbox.deliver("telegram")
    (message,) = telegram.sent
    assert message.recipient == "3000"
    assert [b.label for b in message.reply.all_buttons] == ["✅ Réserver 1", "🏠 Menu"]
    jeanne.last = [message.reply]
    await jeanne.press("Réserver 1")
    (made,) = await services.reservations.of_customer(territory.customer.id)
    assert made.status is ReservationStatus.PENDING
    assert [(line.product_id, line.quantity) for line in made.lines] == [(soap.id, 1)]
    assert made.code in jeanne.text
    assert (await services.catalogue.product(soap.id)).reserved == 1
    # A double tap on the same message reserves nothing more.
    jeanne.last = [message.reply]
    await jeanne.press("Réserver 1")
    assert len(await services.reservations.of_customer(territory.customer.id)) == 1


async def test_two_sweeps_at_once_tell_once_and_a_stop_after_the_claim_loses_nothing(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        conversation: Conversation) -> None:
    jeanne, lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    await lea.send("/stock savon lavande 5")
    # Two processes (no platform: as if killed right after the sweep), one twice.
    first, other = runtime_of(services, conversation), runtime_of(services, conversation)
    told_now = await asyncio.gather(first.tell_alerts(), other.tell_alerts(),
                                    first.tell_alerts())
    assert sum(len(batch) for batch in told_now) == 1
    # Written to the outbox in the claim's unit of work; a new start delivers it.
    assert await services.delivery.waiting_count("telegram") == 1
    again = Collecting("telegram")
    restarted = runtime_of(services, conversation, again)
    assert await restarted.tell_alerts() == []
    assert await restarted.outbox.deliver("telegram") == 1
    assert "Bonne nouvelle" in again.sent[0].reply.text


async def test_a_second_press_says_politely_that_she_will_be_told_already(
        territory: Territory, people: tuple[Chat, Chat], services: Services) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await jeanne.send(f"/start p_{soap.id}")
    card = jeanne.last
    await jeanne.press(ASK)
    jeanne.last = card  # the same card, still in her chat: pressed again
    await jeanne.press(ASK)
    assert jeanne.text.startswith("Vous serez déjà prévenu quand «\u00a0Savon lavande\u00a0»")
    assert "lundi 25 janvier" in jeanne.text
    assert {"🔔 Mes alertes", "⬅️ Retour", "🏠 Menu"} <= set(jeanne.labels)
    assert len(await services.alerts.of_customer(territory.customer.id)) == 1
    # The card, seen again, says so instead of offering to ask.
    await jeanne.send(f"/start p_{soap.id}")
    assert "🔔 Vous serez prévenu dès son retour (jusqu’au lundi 25 janvier)." in jeanne.text
    assert "🔔 Mes alertes" in jeanne.labels
    assert not any(ASK in label for label in jeanne.labels)
    # A second alert, on another product: no need to explain it all again.
    candle = await territory.product("Bougie", 900, on_hand=0)
    await asks_for(jeanne, candle)
    assert "C’est noté" in jeanne.text
    assert "un seul message" not in jeanne.text
    assert len(await services.alerts.of_customer(territory.customer.id)) == 2


async def test_a_product_back_already_when_she_presses_is_offered_at_once(
        territory: Territory, people: tuple[Chat, Chat], services: Services) -> None:
    jeanne, lea = people
    soap = await sold_out_soap(territory)
    await jeanne.send(f"/start p_{soap.id}")
    await lea.send("/stock savon lavande 1")  # meanwhile, at the shop
    await jeanne.press(ASK)
    assert "Bonne nouvelle" in jeanne.text
    assert "Vous pouvez le réserver" in jeanne.text
    assert await services.alerts.of_customer(territory.customer.id) == []
    await jeanne.press("Réserver 1")
    assert len(await services.reservations.of_customer(territory.customer.id)) == 1


async def test_my_alerts_lists_each_with_its_shop_and_date_and_cancels_one(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        clock: FakeClock, delivery: Delivery, telegram: Collecting) -> None:
    jeanne, lea = people
    await jeanne.send("/alertes")  # her first words: a welcome comes first
    assert "Vous n’avez aucune alerte pour le moment." in jeanne.text
    assert {"🔎 Rechercher", "📋 Mes réservations", "🏠 Menu"} <= set(jeanne.labels)

    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    clock.advance(days=1)
    candle = await territory.product("Bougie parfumée", 900, on_hand=0)
    await asks_for(jeanne, candle)
    await jeanne.send("/reservations")  # reachable from « Mes réservations »
    await jeanne.press("Mes alertes")
    assert "Vous attendez 2 produits" in jeanne.text
    assert "• Savon lavande — Épicerie du Château, jusqu’au lundi 25 janvier" in jeanne.text
    assert "• Bougie parfumée — Épicerie du Château, jusqu’au mardi 26 janvier" in jeanne.text
    await jeanne.press("Annuler\u00a0: Savon lavande")
    assert "L’alerte pour «\u00a0Savon lavande\u00a0» est annulée." in jeanne.text
    assert "Vous attendez 1 produit\u00a0:" in jeanne.text
    assert [each.product_name for each in
            await services.alerts.of_customer(territory.customer.id)] == ["Bougie parfumée"]
    # Cancelled: the soap's return tells her nothing.
    await lea.send("/stock savon lavande 4")
    await delivery.tell_alerts()
    await delivery.outbox.deliver("telegram")
    assert telegram.sent == []


async def test_hidden_or_deleted_products_never_fire(
        territory: Territory, people: tuple[Chat, Chat], services: Services, store: Store,
        delivery: Delivery, telegram: Collecting) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    candle = await territory.product("Bougie", 900, on_hand=0)
    await asks_for(jeanne, soap)
    await asks_for(jeanne, candle)
    await services.catalogue.update_product(territory.owner, soap.id,
                                            ProductChanges(hidden=True))
    await services.catalogue.delete_product(territory.owner, candle.id)
    await services.catalogue.change_stock(territory.owner, soap.id, _set(6))
    assert await delivery.tell_alerts() == []
    await delivery.outbox.deliver("telegram")
    assert telegram.sent == []
    # The deleted one is no longer listed; the hidden one waits, and fires once shown.
    assert [each.product_name for each in
            await services.alerts.of_customer(territory.customer.id)] == ["Savon lavande"]
    await delivery.clean_up()  # the deleted product's alert goes; the hidden one's waits
    assert [each.product_name for each in await store.alerts.of_user(
        territory.customer.id)] == ["Savon lavande"]
    await services.catalogue.update_product(territory.owner, soap.id,
                                            ProductChanges(hidden=False))
    assert len(await delivery.tell_alerts()) == 1


async def test_a_shop_on_holiday_tells_when_it_is_back(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        delivery: Delivery) -> None:
    """Told while the shop takes no reservation, she could not reserve: the alert waits."""
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    await services.catalogue.change_stock(territory.owner, soap.id, _set(3))
    await services.shops.update_shop(territory.owner, territory.shop.id,
                                     ShopDetails(on_holiday=True))
    assert await delivery.tell_alerts() == []
    await services.shops.update_shop(territory.owner, territory.shop.id,
                                     ShopDetails(on_holiday=False))
    assert len(await delivery.tell_alerts()) == 1


async def test_an_alert_lapses_60_days_after_it_was_asked(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        clock: FakeClock, delivery: Delivery, store: Store) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    clock.advance(days=60)  # to the minute: lapsed
    await services.catalogue.change_stock(territory.owner, soap.id, _set(2))
    assert await delivery.tell_alerts() == []
    await jeanne.send("/alertes")
    assert jeanne.text.startswith("Vous n’avez aucune alerte")
    await delivery.clean_up()  # the daily clean-up deletes it
    assert await store.alerts.of_user(territory.customer.id) == []
    # She may ask again: a new alert, for another 60 days.
    await services.catalogue.change_stock(territory.owner, soap.id, _set(0))
    await asks_for(jeanne, soap)
    assert "C’est noté" in jeanne.text


async def test_a_lapsed_alert_not_yet_cleaned_does_not_block_a_new_one(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        clock: FakeClock) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    clock.advance(days=61)
    await asks_for(jeanne, soap)
    assert "C’est noté" in jeanne.text
    (mine,) = await services.alerts.of_customer(territory.customer.id)
    assert mine.alert.expires_at == clock.now + timedelta(days=60)


async def test_forged_alert_buttons_change_nothing(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        conversation: Conversation, postbox: Postbox) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    paul = Chat(conversation, "3100", "Paul", postbox)
    await asks_for(paul, soap)
    (his,) = await services.alerts.of_customer((await territory.person("3100")).id)
    await jeanne.forge(ALERT_CANCEL.payload(alert=his.alert.id))  # Paul's alert
    assert "Cette alerte n’existe plus" in jeanne.text
    assert len(await services.alerts.of_customer(his.alert.user_id)) == 1
    for forged in (ALERT_ASK.payload(product=999_999), "va:abc", "va:", "vx:-1",
                   "vx:99999999999999999999", ALERT_CANCEL.payload(alert=999_999)):
        await jeanne.forge(forged)
        assert jeanne.labels, forged  # a polite answer with a way on
    hidden = await territory.product("Caché", 500, on_hand=0)
    await services.catalogue.update_product(territory.owner, hidden.id,
                                            ProductChanges(hidden=True))
    await jeanne.forge(ALERT_ASK.payload(product=hidden.id))
    assert "Nous ne" in jeanne.text
    assert await services.alerts.of_customer(territory.customer.id) == []
    await jeanne.forge(MY_ALERTS.payload())
    assert jeanne.text.startswith("Vous n’avez aucune alerte")


async def test_the_staff_count_is_for_the_shop_s_staff_only(
        territory: Territory, people: tuple[Chat, Chat], services: Services) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    assert await services.alerts.waiting_count(territory.owner, soap.id) == 1
    assert await services.alerts.waiting_count(territory.operator, soap.id) == 1
    with pytest.raises(NotAllowed):
        await services.alerts.waiting_count(
            services.customers.actor(territory.customer), soap.id)


async def test_erasing_her_data_deletes_her_alerts(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        store: Store) -> None:
    jeanne, _lea = people
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    await jeanne.send("/effacer")
    assert "vos alertes supprimées" in jeanne.text
    await jeanne.press("Oui")
    assert await store.alerts.of_user(territory.customer.id) == []
    assert await services.alerts.waiting_count(territory.owner, soap.id) == 0


def _set(quantity: int) -> StockChange:
    return StockChange(StockReason.SET, quantity)


# -- on WhatsApp -----------------------------------------------------------------------------


async def test_on_whatsapp_she_is_told_how_and_the_news_reads_alone_as_the_template(
        territory: Territory, services: Services, store: Store, clock: FakeClock) -> None:
    """Outside her 24-hour window the outbox sends the approved notification template,
    whose one parameter is the news: no button there, so it says what to type; typing
    the product's name finds it."""
    api = FakeGraphAPI(wall_clock=clock)
    api.add_template("chatshop_notification", "fr", body="Nouvelle de chatshop : {{1}}")
    soap = await sold_out_soap(territory)
    async with running(services, store, api) as channel, webhook(api, channel) as meta:
        await meta.says(JEANNE, "Jeanne", f"/start p_{soap.id}")
        await meta.taps(JEANNE, "🔔")
        said = meta.texts(JEANNE)[-1]
        assert "C’est noté" in said
        assert "un seul message ici, sur WhatsApp, même si vous ne nous avez pas écrit " \
               "depuis longtemps" in said
        clock.now += timedelta(days=3)  # her window closed long ago
        await services.catalogue.change_stock(territory.owner, soap.id, _set(3))
        assert len(await channel.delivery.tell_alerts()) == 1
        await channel.deliver_outbox()
        news = api.messages_to(JEANNE)[-1]
        assert news.template_name == "chatshop_notification"
        (parameter,) = news.template_params  # one line, spaces as Meta takes them
        assert parameter.replace("\u00a0", " ") == (
            "🔔 Bonne nouvelle : Savon lavande est de retour chez Épicerie du Château "
            "(4,50 €). Pour le réserver, répondez ici « Savon lavande ».")
        await meta.says(JEANNE, "Jeanne", "Savon lavande")  # as the news says
        assert any("Savon lavande" in title for title in api.last(JEANNE).titles)


async def test_gone_again_before_she_presses_reserve_1_she_is_told_kindly(
        territory: Territory, people: tuple[Chat, Chat], services: Services,
        delivery: Delivery, telegram: Collecting, conversation: Conversation,
        postbox: Postbox) -> None:
    """One unit came back, two people were told: the first to press has it."""
    jeanne, lea = people
    paul = Chat(conversation, "3100", "Paul", postbox)
    soap = await sold_out_soap(territory)
    await asks_for(jeanne, soap)
    await asks_for(paul, soap)
    await lea.send("/stock savon lavande 1")
    await delivery.tell_alerts()
    await delivery.outbox.deliver("telegram")
    news = {message.recipient: message.reply for message in telegram.sent}
    assert set(news) == {"3000", "3100"}
    paul.last = [news["3100"]]
    await paul.press("Réserver 1")
    jeanne.last = [news["3000"]]
    await jeanne.press("Réserver 1")
    assert jeanne.text == "Il n’y a plus de «\u00a0Savon lavande\u00a0» en stock."
    assert await services.reservations.of_customer(territory.customer.id) == []
    await jeanne.press(ASK)  # and she may wait for the next delivery
    assert "C’est noté" in jeanne.text
    assert len(await services.alerts.of_customer(territory.customer.id)) == 1
