"""The territory's channel (issue #11 §3): the shops' news posted where the bot is
administrator, grouped (one post per shop an hour at most), each with a photo and a
button into the bot, through the outbox — so that a restart or an outage loses or
doubles nothing, and a bot without rights there bothers no customer.

What is posted is read where people read it: in the channel of the fake Bot API (the
real Telegram channel over it), or, for what is composed, from a platform that keeps
what it is given (``Collecting``)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import RetryAfter

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.conversation.router import Conversation
from chatshop.delivery.outcome import Message
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import ProductChanges, ShopDetails
from chatshop.services import Services
from chatshop.services.links import Links
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory
from tests.fakes.bot_api import TINY_PNG, FakeBotAPI, FakeUser
from tests.test_telegram import TOKEN
from tests.world import Collecting

CHANNEL = "@consommelocal"
BOT = "chatshop_test_bot"


def runtime(services: Services, conversation: Conversation, *platforms: Collecting,
            territory_channel: str | None = CHANNEL) -> Delivery:
    delivery = Delivery(services, conversation, digest_pace=lambda: SlidingWindow(None),
                        territory_channel=territory_channel, links=Links(telegram_bot=BOT))
    for platform in platforms:
        delivery.register(platform)
    return delivery


async def posts(delivery: Delivery, platform: Collecting) -> list[Message]:
    """One look at the news, then the outbox: what went to the channel."""
    await delivery.post_to_channel()
    await delivery.outbox.deliver(platform.name)
    sent = [m for m in platform.sent if m.recipient == CHANNEL]
    platform.sent.clear()
    return sent


@pytest.fixture
def telegram() -> Collecting:
    return Collecting("telegram")


@pytest.fixture
async def delivery(territory: Territory, services: Services, conversation: Conversation,
                   telegram: Collecting, clock: FakeClock) -> Delivery:
    started = runtime(services, conversation, telegram)
    assert await started.post_to_channel() == []  # the feed starts: the catalogue before is no news
    clock.advance(seconds=1)
    return started


# -- what is posted, and when ------------------------------------------------------------


async def test_five_products_in_ten_minutes_make_one_post_then_the_next_hour_another(
        territory: Territory, delivery: Delivery, telegram: Collecting,
        clock: FakeClock) -> None:
    for name in ("Savon lavande", "Savon miel", "Bougie", "Confiture", "Tisane"):
        await territory.product(name, price_cents=650)
        clock.advance(minutes=2.5)
    assert await posts(delivery, telegram) == []  # the shopkeeper is still adding
    clock.advance(minutes=10)
    [post] = await posts(delivery, telegram)
    assert post.reply.text.splitlines() == [
        "🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:",
        "• Savon lavande — 6,50\u00a0€", "• Savon miel — 6,50\u00a0€", "• Bougie — 6,50\u00a0€",
        "• Confiture — 6,50\u00a0€", "• Tisane — 6,50\u00a0€"]
    assert post.reply.link is not None
    assert post.reply.link.url == f"https://t.me/{BOT}?start=s_{territory.shop.slug}"
    assert post.reply.link.label == "🏪 Voir la boutique dans le bot"

    clock.advance(minutes=5)
    await territory.product("Miel de printemps", price_cents=900)
    clock.advance(minutes=15)
    assert await posts(delivery, telegram) == []  # one post an hour, at most
    clock.advance(minutes=39)  # 59 minutes after the first post
    assert await posts(delivery, telegram) == []
    clock.advance(minutes=1)
    [second] = await posts(delivery, telegram)
    assert second.reply.text == ("🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:"
                                 " Miel de printemps — 9,00\u00a0€")
    clock.advance(hours=3)
    assert await posts(delivery, telegram) == []  # nothing new: nothing posted twice


async def test_a_product_back_in_stock_is_posted_as_back(
        territory: Territory, services: Services, conversation: Conversation,
        telegram: Collecting, clock: FakeClock) -> None:
    honey = await territory.product("Miel de châtaignier", on_hand=0)
    await services.catalogue.set_stock(territory.owner, honey.id, 2)
    clock.advance(minutes=5)
    await services.catalogue.set_stock(territory.owner, honey.id, 0)
    delivery = runtime(services, conversation, telegram)
    await delivery.post_to_channel()  # the feed starts after it was on the shelves once
    clock.advance(minutes=5)
    await services.catalogue.set_stock(territory.owner, honey.id, 6)
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    assert post.reply.text == ("🔁 De retour chez Épicerie du Château (Rochechouart)\u00a0:"
                               " Miel de châtaignier — 8,50\u00a0€")
    assert post.reply.link is not None
    assert post.reply.link.url == f"https://t.me/{BOT}?start=p_{honey.id}"
    assert post.reply.link.label == "🛒 Voir et réserver dans le bot"


async def test_a_product_added_without_stock_is_new_once_it_has_some(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    candle = await territory.product("Bougie", on_hand=0)
    clock.advance(minutes=11)
    assert await posts(delivery, telegram) == []  # nothing to sell yet
    await services.catalogue.set_stock(territory.owner, candle.id, 3)
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    assert post.reply.text.startswith("🆕 Nouveau chez")


async def test_an_announcement_is_posted_with_the_shop_s_photo(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    await services.shops.set_photo(territory.owner, territory.shop.id, "telegram", "AgACshop")
    await services.shops.set_announcement(territory.owner, territory.shop.id,
                                          "Nouvelle collection d'automne !")
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    assert post.reply.text == "📣 Épicerie du Château\u00a0: Nouvelle collection d'automne !"
    assert post.reply.photo == "AgACshop"


async def test_an_announcement_and_products_share_one_post(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    await territory.product("Savon lavande", price_cents=650)
    await services.shops.set_announcement(territory.owner, territory.shop.id, "Ouvert dimanche")
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    assert post.reply.text.splitlines() == [
        "📣 Épicerie du Château\u00a0: Ouvert dimanche",
        "🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:",
        "• Savon lavande — 6,50\u00a0€"]


async def test_a_post_lists_eight_products_and_counts_the_others(
        territory: Territory, delivery: Delivery, telegram: Collecting,
        clock: FakeClock) -> None:
    for number in range(1, 13):
        await territory.product(f"Carte postale {number}", price_cents=150)
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    lines = post.reply.text.splitlines()
    assert lines[1:9] == [f"• Carte postale {n} — 1,50\u00a0€" for n in range(1, 9)]
    assert lines[9:] == ["… et 4 autres"]


async def test_each_shop_gets_its_own_post_with_the_first_photo_it_has(
        territory: Territory, delivery: Delivery, telegram: Collecting,
        clock: FakeClock) -> None:
    bakery, baker = await territory.open_shop("Boulangerie Martin", "2100")
    await territory.product("Savon lavande")
    await territory.product("Savon miel", photo=("whatsapp", "media:" + "a" * 64))
    await territory.product("Pain de seigle", shop=bakery, owner=baker,
                            photo=("telegram", "AgACpain"))
    clock.advance(minutes=11)
    sent = await posts(delivery, telegram)
    assert sorted(post.reply.photo or "" for post in sent) == ["AgACpain", "media:" + "a" * 64]
    assert any("Boulangerie Martin" in post.reply.text and "Pain de seigle" in post.reply.text
               for post in sent)


async def test_hidden_or_deleted_before_the_post_are_not_in_it(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    await territory.product("Savon lavande", price_cents=650)
    typo = await territory.product("Svaon", price_cents=650)
    secret = await territory.product("Surprise de Noël", price_cents=2000)
    await services.catalogue.delete_product(territory.owner, typo.id)
    await services.catalogue.update_product(territory.owner, secret.id,
                                            ProductChanges(hidden=True))
    clock.advance(minutes=11)
    [post] = await posts(delivery, telegram)
    assert post.reply.text == ("🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:"
                               " Savon lavande — 6,50\u00a0€")


async def test_an_inactive_shop_posts_nothing(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    await territory.product("Savon lavande")
    await services.shops.update_shop(territory.operator, territory.shop.id,
                                     ShopDetails(active=False))
    clock.advance(minutes=11)
    assert await posts(delivery, telegram) == []


async def test_a_shop_on_holiday_keeps_its_news_for_when_it_reopens(
        territory: Territory, services: Services, delivery: Delivery,
        telegram: Collecting, clock: FakeClock) -> None:
    await services.shops.set_holiday(territory.owner, territory.shop.id, True)
    await territory.product("Savon lavande")
    clock.advance(hours=3)
    assert await posts(delivery, telegram) == []  # nobody could reserve it now
    await services.shops.set_holiday(territory.owner, territory.shop.id, False)
    [post] = await posts(delivery, telegram)
    assert "Savon lavande" in post.reply.text


async def test_shopkeepers_keep_adding_and_the_post_waits_an_hour_at_most(
        territory: Territory, delivery: Delivery, telegram: Collecting,
        clock: FakeClock) -> None:
    looks = []
    for minute in range(0, 90, 5):  # a product every 5 minutes for an hour and a half
        await territory.product(f"Carte {minute}")
        clock.advance(minutes=5)
        looks.append(await posts(delivery, telegram))
    assert [len(sent) for sent in looks] == [0] * 11 + [1] + [0] * 6
    [post] = looks[11]  # an hour after the first of them
    assert post.reply.text.splitlines()[1:3] == ["• Carte 0 — 8,50\u00a0€",
                                                 "• Carte 5 — 8,50\u00a0€"]


async def test_without_the_setting_nothing_is_composed(
        territory: Territory, services: Services, conversation: Conversation,
        telegram: Collecting, store: Store, clock: FakeClock) -> None:
    delivery = runtime(services, conversation, telegram, territory_channel=None)
    assert "channel-posts" not in [job.name for job in delivery.jobs()]
    await territory.product("Savon lavande")
    clock.advance(minutes=11)
    assert await delivery.post_to_channel() == []
    for table in ("channel_feeds", "outbox"):
        assert (await store.db.lookup(  # type: ignore[attr-defined]
            f"SELECT count(*) FROM {table}"))[0][0] == 0


async def test_the_job_runs_only_where_telegram_is_served(
        services: Services, conversation: Conversation) -> None:
    assert "channel-posts" in [job.name for job in runtime(
        services, conversation, Collecting("telegram")).jobs()]
    assert "channel-posts" not in [job.name for job in runtime(
        services, conversation, Collecting("whatsapp")).jobs()]


async def test_a_restart_between_composing_and_sending_sends_once(
        territory: Territory, services: Services, conversation: Conversation,
        delivery: Delivery, clock: FakeClock) -> None:
    await territory.product("Savon lavande")
    clock.advance(minutes=11)
    assert len(await delivery.post_to_channel()) == 1  # composed and queued, then a stop
    await delivery.stop()

    after = Collecting("telegram")
    restarted = runtime(services, conversation, after)
    [post] = await posts(restarted, after)  # the outbox kept it; the watermark moved
    assert "Savon lavande" in post.reply.text
    clock.advance(hours=2)
    assert await posts(restarted, after) == []


# -- over Telegram -----------------------------------------------------------------------


@asynccontextmanager
async def on_telegram(services: Services, conversation: Conversation, api: FakeBotAPI,
                      chat: str = CHANNEL) -> AsyncIterator[TelegramChannel]:
    delivery = Delivery(services, conversation, digest_pace=lambda: SlidingWindow(None),
                        territory_channel=chat, links=Links(telegram_bot=BOT))
    channel = TelegramChannel(services, conversation, token=TOKEN, request=api.request(),
                              get_updates_request=api.request(), delivery=delivery)
    await channel.start(polling=False)
    try:
        await delivery.post_to_channel()  # the feed starts
        services.clock.advance(seconds=1)  # type: ignore[attr-defined]
        yield channel
    finally:
        await delivery.stop()
        await channel.stop()


async def look(channel: TelegramChannel) -> None:
    await channel.delivery.post_to_channel()
    await channel.deliver_outbox()


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


async def test_a_new_product_is_posted_in_the_channel_once_with_its_photo_and_button(
        territory: Territory, services: Services, conversation: Conversation,
        api: FakeBotAPI, clock: FakeClock) -> None:
    room = api.channel(username="consommelocal")
    photo = api.photo_file(TINY_PNG)
    async with on_telegram(services, conversation, api) as channel:
        honey = await territory.product("Miel de châtaignier", photo=("telegram", photo))
        clock.advance(minutes=11)
        await look(channel)
        clock.advance(hours=2)
        await look(channel)
    [post] = api.messages(room)
    assert post.kind == "photo"
    assert post.photo is not None
    assert post.text == ("🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:"
                         " Miel de châtaignier — 8,50\u00a0€")
    assert post.buttons == [[("🛒 Voir et réserver dans le bot",
                              f"https://t.me/{BOT}?start=p_{honey.id}")]]


def a_photo() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(picture, "JPEG")
    return picture.getvalue()


async def test_a_photo_kept_by_chatshop_is_uploaded_to_a_channel_named_by_its_id(
        territory: Territory, services: Services, conversation: Conversation,
        api: FakeBotAPI, clock: FakeClock) -> None:
    room = api.channel(chat_id=-1009876543210, username=None)
    kept = await services.delivery.keep_media(a_photo(), "image/jpeg")  # from WhatsApp
    async with on_telegram(services, conversation, api, chat="-1009876543210") as channel:
        await territory.product("Savon lavande", photo=("whatsapp", kept))
        clock.advance(minutes=11)
        await look(channel)
    [post] = api.messages(room)
    assert post.kind == "photo"
    assert "Savon lavande" in (post.text or "")
    [upload] = [call for call in api.calls_to("sendPhoto") if call.ok]
    assert "photo" in upload.files  # the bytes themselves: Telegram has no id for them


async def test_shopkeepers_text_stays_plain_text_in_the_channel(
        territory: Territory, services: Services, conversation: Conversation,
        api: FakeBotAPI, clock: FakeClock) -> None:
    room = api.channel()
    async with on_telegram(services, conversation, api) as channel:
        await territory.product("<b>Savon</b> & co", price_cents=650)
        clock.advance(minutes=11)
        await look(channel)
    [post] = api.messages(room)
    assert post.kind == "text"
    assert post.text == ("🆕 Nouveau chez Épicerie du Château (Rochechouart)\u00a0:"
                         " <b>Savon</b> & co — 6,50\u00a0€")
    assert post.entities == []


async def test_a_telegram_outage_delays_the_post_and_sends_it_once(
        territory: Territory, services: Services, conversation: Conversation,
        api: FakeBotAPI, clock: FakeClock) -> None:
    room = api.channel()
    async with on_telegram(services, conversation, api) as channel:
        await territory.product("Savon lavande")
        clock.advance(minutes=11)
        api.fail_next(502, times=1, method="sendMessage")
        await look(channel)
        assert api.messages(room) == []
        api.go_down()
        clock.advance(minutes=5)
        await look(channel)
        api.come_back()
        clock.advance(hours=2)
        await look(channel)
        clock.advance(hours=2)
        await look(channel)
    assert len(api.messages(room)) == 1


async def test_a_bot_without_rights_marks_no_one_and_tells_the_operators_once(
        territory: Territory, services: Services, conversation: Conversation,
        api: FakeBotAPI, store: Store, clock: FakeClock) -> None:
    room = api.channel(member=False, admin=False)
    operator = api.user(1000, "Office", started=True)
    async with on_telegram(services, conversation, api) as channel:
        await territory.product("Savon lavande")
        clock.advance(minutes=11)
        await look(channel)
        api.set_rights(room, member=True, admin=False)  # a member now, still no admin
        for _ in range(3):
            clock.advance(hours=1)
            await territory.product("Bougie")
            clock.advance(minutes=11)
            await look(channel)
        assert api.messages(room) == []
        told = [m.text or "" for m in api.messages(operator)]
        assert len(told) == 1
        assert told[0].startswith("⚠️ Le bot ne peut pas publier dans le canal @consommelocal")
        assert (await store.db.lookup(  # type: ignore[attr-defined]
            "SELECT count(*) FROM users WHERE unreachable_at IS NOT NULL"))[0][0] == 0

        api.set_rights(room, member=True, admin=True)
        clock.advance(minutes=31)
        await look(channel)  # the waiting post goes, then the news gathered meanwhile
        clock.advance(hours=1)
        await look(channel)
    sent = [m.text or "" for m in api.messages(room)]
    assert len(sent) == 2
    assert "Savon lavande" in sent[0]
    assert "Bougie" in sent[1]
    told = [m.text or "" for m in api.messages(operator)]
    assert len(told) == 2
    assert told[1].startswith("✅ Le bot peut de nouveau publier")


async def test_the_fake_bot_api_allows_twenty_messages_a_minute_in_a_channel() -> None:
    now = [0.0]
    api = FakeBotAPI(clock=lambda: now[0])
    room = api.channel(chat_id=-100555, username="consommelocal")
    reader = FakeUser(4242)
    api.user(4242, started=True)
    bot = Bot(TOKEN, request=api.request())
    async with bot:
        for i in range(20):
            now[0] += 1.0
            await bot.send_message("@consommelocal", f"post {i}")
        with pytest.raises(RetryAfter):
            await bot.send_message(-100555, "one too many")
        await bot.send_message(reader.id, "a private chat is no group")
        now[0] += 61.0
        await bot.send_message("@consommelocal", "the next minute")
    assert len(api.messages(room)) == 21
