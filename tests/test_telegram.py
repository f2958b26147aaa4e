"""chatshop on Telegram: the real python-telegram-bot Application, long polling (and the
webhook) over the in-process fake Bot API; what people see is read from the fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from chatshop.channels.telegram import inbound, render
from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.telegram.inbound import Pressed
from chatshop.channels.telegram.render import CAPTION_MAX, keyboard, pieces
from chatshop.channels.webhooks import SECRET_HEADER, webhook_app
from chatshop.conversation.messages import Button, Document, Reply
from chatshop.conversation.router import Conversation
from chatshop.domain.models import ReservationStatus, Role, ShopDetails
from chatshop.services import Services
from chatshop.storage import Store, open_store
from tests.conftest import OPERATOR, FakeClock, Territory
from tests.fakes.bot_api import TINY_PNG, FakeBotAPI, FakeUser

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Phone:
    """One person's Telegram app: what they send goes through the fake Bot API to the
    polling bot; ``screen`` is the bot's last message in their chat."""

    def __init__(self, api: FakeBotAPI, store: Store, user: FakeUser) -> None:
        self.api = api
        self.store = store
        self.user = user

    async def handled(self, update: dict[str, Any]) -> None:
        """Wait until the bot has handled this update (its replies are out)."""
        def done() -> bool:
            found = self.store.db.lookup_now(  # type: ignore[attr-defined]
                "SELECT handled_at FROM inbound_events WHERE channel = 'telegram'"
                " AND event_id = ?", (str(update["update_id"]),))
            return bool(found and found[0][0])
        await self.api.wait_for(done)

    async def send(self, text: str) -> None:
        await self.handled(self.api.send_text(self.user, text))

    async def press(self, label_start: str) -> None:
        """Press the button of the last message whose label starts with ``label_start``."""
        message = self.api.last(self.user)
        label = next(label for label in message.labels if label.startswith(label_start))
        await self.handled(self.api.press_label(self.user, label, message.message_id))

    @property
    def screen(self) -> str:
        return self.api.last(self.user).text

    @property
    def labels(self) -> list[str]:
        return self.api.last(self.user).labels

    def texts(self) -> list[str]:
        return [m.text for m in self.api.messages(self.user)]


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


def make_channel(services: Services, store: Store, api: FakeBotAPI, **options: Any
                 ) -> TelegramChannel:
    conversation = Conversation(services, territory="Porte Océane du Limousin",
                                tz=ZoneInfo("Europe/Paris"))
    return TelegramChannel(services, conversation, token=TOKEN, request=api.request(),
                           get_updates_request=api.request(), **options)


@asynccontextmanager
async def running(services: Services, store: Store, api: FakeBotAPI, *,
                  polling: bool = True) -> AsyncIterator[TelegramChannel]:
    """The channel started (long polling, or waiting for a webhook), then stopped."""
    started = make_channel(services, store, api)
    await started.start(polling=polling)
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def channel(territory: Territory, services: Services, store: Store,
                  api: FakeBotAPI) -> AsyncIterator[TelegramChannel]:
    async with running(services, store, api) as started:
        yield started


@dataclass
class Webhook:
    """The bot in webhook mode (secret « s3cret »), and Telegram's side posting to it."""
    channel: TelegramChannel
    http: httpx.AsyncClient

    async def post(self, update: dict[str, Any], secret: str | None = "s3cret"
                   ) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        return await self.http.post("/telegram", json=update, headers=headers)


@pytest.fixture
async def webhook(territory: Territory, services: Services, store: Store,
                  api: FakeBotAPI) -> AsyncIterator[Webhook]:
    running = make_channel(services, store, api)
    await running.start(polling=False)
    try:
        app = webhook_app(telegram=running, telegram_secret="s3cret")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bot.test") as http:
            yield Webhook(running, http)
    finally:
        await running.stop()


@pytest.fixture
def jeanne(api: FakeBotAPI, store: Store) -> Phone:
    return Phone(api, store, api.user(3000, "Jeanne"))


@pytest.fixture
def lea(api: FakeBotAPI, store: Store) -> Phone:
    return Phone(api, store, api.user(2000, "Léa", started=True))


async def reserve_cream(territory: Territory, jeanne: Phone) -> None:
    await territory.product("Crème pour les mains", 1250, on_hand=3)
    await jeanne.send("creme")
    await jeanne.press("Crème pour les mains")
    await jeanne.press("✅")


async def test_a_customer_types_creme_reserves_and_the_shop_is_told(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    await jeanne.send("/start")
    assert "Bienvenue" in jeanne.screen
    await reserve_cream(territory, jeanne)
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    proof = jeanne.texts()[-2]  # then a short message with the « share my number » key
    assert made.code in proof
    assert "paiement en boutique" in proof.lower()
    await channel.deliver_outbox()
    assert made.code in lea.screen
    assert any(label.startswith("✅") for label in lea.labels)
    # Every button press was answered (no spinner left on the customer's phone).
    presses = [c for c in api.calls if c.method == "answerCallbackQuery"]
    assert len(presses) == 2


async def test_a_customer_browses_by_buttons_and_pages_are_edited_in_place(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, api: FakeBotAPI
) -> None:
    for n in range(12):
        await territory.product(f"Confiture n°{n:02}", 450, on_hand=5)
    await jeanne.send("confiture")
    first = api.last(jeanne.user)
    assert len(first.labels) <= 8
    await jeanne.press("Suivant")
    after = api.last(jeanne.user)
    assert after.message_id == first.message_id
    assert after.edited
    assert "Confiture n°" in " ".join(after.labels)


async def test_from_a_shared_link_to_a_confirmed_reservation_in_3_taps_at_most(
        territory: Territory, channel: TelegramChannel, jeanne: Phone) -> None:
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await jeanne.send(f"/start p_{honey.id}")  # the link opens the bot on the product
    await jeanne.press("✅")  # tap 1
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert made.code in jeanne.texts()[-2]


async def test_a_double_tap_on_reserve_makes_one_reservation(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await jeanne.send(f"/start p_{honey.id}")
    card = api.last(jeanne.user)
    data = next(card.button_data(label) for label in card.labels if label.startswith("✅"))
    first = api.press(jeanne.user, card.message_id, data)
    second = api.press(jeanne.user, card.message_id, data)
    await jeanne.handled(first)
    await jeanne.handled(second)
    assert len(await territory.services.reservations.of_customer(territory.customer.id)) == 1
    assert (await territory.services.catalogue.product(honey.id)).reserved == 1
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    news = [m for m in api.messages(2000) if made.code in m.text]
    assert len(news) == 1  # the shop is told once, not once per tap


async def test_a_shopkeeper_adds_a_product_by_photo_and_handles_a_reservation(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    photo = api.send_photo(lea.user, TINY_PNG, caption="Savon lavande 6,50 € x12")
    await lea.handled(photo)
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    (soap,) = page.items
    assert (soap.name, soap.price_cents, soap.on_hand) == ("Savon lavande", 650, 12)
    largest = photo["message"]["photo"][-1]["file_id"]
    assert soap.photos["telegram"] == largest  # (and a kept copy for WhatsApp)

    await jeanne.send("savon lavande")
    await jeanne.press("Savon lavande")
    assert api.last(jeanne.user).photo == largest  # the card shows the shop's photo
    await jeanne.press("✅")
    await channel.deliver_outbox()
    await lea.press("✅")  # « Prête » on the notification
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    assert made.status is ReservationStatus.READY
    await channel.deliver_outbox()
    assert "prête" in jeanne.screen


async def test_a_redelivered_webhook_update_changes_nothing_and_sends_nothing(
        territory: Territory, webhook: Webhook, api: FakeBotAPI, jeanne: Phone) -> None:
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    opened = api.send_text(jeanne.user, f"/start p_{honey.id}")
    assert (await webhook.post(opened)).status_code == 200
    await jeanne.handled(opened)
    card = api.last(jeanne.user)
    data = next(card.button_data(label) for label in card.labels if label.startswith("✅"))
    tap = api.press(jeanne.user, card.message_id, data)
    for _ in range(2):  # Telegram did not get our 200 in time and sends it again
        assert (await webhook.post(tap)).status_code == 200
    await jeanne.handled(tap)
    sent = len(api.calls)
    assert (await webhook.post(tap)).status_code == 200
    await webhook.channel.deliver_outbox()
    assert len(await territory.services.reservations.of_customer(territory.customer.id)) == 1
    assert (await territory.services.catalogue.product(honey.id)).reserved == 1
    assert [c for c in api.calls[sent:] if c.params.get("chat_id") == 3000] == []


@pytest.mark.parametrize("secret", [None, "wrong", ""])
async def test_the_webhook_refuses_a_missing_or_wrong_secret_and_processes_nothing(
        webhook: Webhook, store: Store, api: FakeBotAPI, jeanne: Phone,
        secret: str | None) -> None:
    response = await webhook.post(api.send_text(jeanne.user, "/start"), secret)
    assert response.status_code == 403
    assert (await webhook.http.get("/health")).json() == {"status": "ok"}
    assert store.db.lookup_now("SELECT count(*) FROM inbound_events")[0][0] == 0  # type: ignore[attr-defined]
    assert api.messages(jeanne.user) == []


@pytest.mark.parametrize("body", [
    b"{not json", b"\xff\xfe{}", b"[]", b'{"update_id": "12"}', b'{"message": {}}',
    b'{"update_id": true, "message": {}}',
], ids=["not JSON", "not UTF-8", "a list", "id as text", "no id", "id a boolean"])
async def test_a_body_that_is_not_an_update_gets_400_and_nothing_is_written(
        webhook: Webhook, store: Store, body: bytes) -> None:
    response = await webhook.http.post(
        "/telegram", content=body,
        headers={SECRET_HEADER: "s3cret", "content-type": "application/json"})
    assert response.status_code == 400
    assert store.db.lookup_now("SELECT count(*) FROM inbound_events")[0][0] == 0  # type: ignore[attr-defined]


async def test_the_webhook_is_set_with_its_secret(
        territory: Territory, services: Services, store: Store, api: FakeBotAPI) -> None:
    running = make_channel(services, store, api)
    await running.start(polling=False, webhook_url="https://bot.example.fr/telegram",
                        webhook_secret="s3cret")
    await running.stop()
    assert (api.webhook.url, api.webhook.secret_token) == (
        "https://bot.example.fr/telegram", "s3cret")


async def test_notifications_wait_out_an_outage_and_are_delivered_once(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI, clock: FakeClock) -> None:
    await reserve_cream(territory, jeanne)
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    ready = api.press_label(lea.user, next(label for label in api.last(lea.user).labels
                                           if label.startswith("✅")))
    api.go_down()  # Telegram is unreachable for five minutes...
    # ...while Léa's tap (it reached us just before) is handled: Jeanne must be told.
    await channel.accept(ready)
    await lea.handled(ready)
    for _ in range(10):
        assert await channel.deliver_outbox() == 0
        clock.now += timedelta(seconds=30)
    assert await channel.services.delivery.waiting_count("telegram") >= 1
    api.come_back()
    clock.now += timedelta(minutes=5)
    assert await channel.deliver_outbox() >= 1
    assert await channel.deliver_outbox() == 0
    assert await channel.services.delivery.waiting_count("telegram") == 0
    told = [text for text in jeanne.texts() if made.code in text and "prête" in text]
    assert len(told) == 1


async def test_a_customer_who_blocked_the_bot_is_marked_and_the_shop_is_told(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    await reserve_cream(territory, jeanne)
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    api.block(jeanne.user)
    await lea.press("✅")  # ready: Jeanne should be told, but she blocked the bot
    await channel.deliver_outbox()
    await channel.deliver_outbox()  # the shop's warning, queued meanwhile
    person = await territory.services.customers.get(territory.customer.id)
    assert person is not None
    assert person.unreachable_at is not None
    assert made.code in lea.screen
    assert "bloqué" in lea.screen
    # She unblocks and writes again: reachable again.
    api.unblock(jeanne.user)
    await jeanne.send("/menu")
    person = await territory.services.customers.get(territory.customer.id)
    assert person is not None
    assert person.unreachable_at is None


async def test_a_shopkeeper_who_blocked_the_bot_misses_news_and_the_operator_is_told(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    office = api.user(int(OPERATOR[1]), "Office de tourisme", started=True)
    api.block(lea.user)
    await reserve_cream(territory, jeanne)
    await channel.deliver_outbox()  # Léa's « new reservation » is refused: 403
    await channel.deliver_outbox()  # the operator's warning, queued meanwhile
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    warning = api.last(office).text
    assert "Léa" in warning
    assert made.code in warning
    assert "bloqué le bot" in warning
    assert "🏠 Menu" in api.last(office).labels


async def test_an_update_received_before_a_stop_is_handled_at_the_next_start(
        territory: Territory, services: Services, store: Store, api: FakeBotAPI,
        jeanne: Phone) -> None:
    update = api.send_text(jeanne.user, "/start")
    # Written down by a process that then died before handling it (and Telegram will
    # not send it again: its offset was confirmed).
    gone = await open_store(store.db.path)  # type: ignore[attr-defined]
    await gone.inbox.receive("telegram", [(str(update["update_id"]), json.dumps(update))],
                             services.clock())
    await gone.close()
    api.pending_updates().clear()
    running = make_channel(services, store, api)
    await running.start(polling=False)
    await running.stop()
    assert "Bienvenue" in jeanne.screen
    assert await services.delivery.waiting("telegram") == []


async def test_a_pressed_update_is_written_down_whole_and_read_for_what_an_edit_needs(
        territory: Territory, services: Services, store: Store, api: FakeBotAPI,
        lea: Phone) -> None:
    running = make_channel(services, store, api)
    await running.start(polling=False)
    try:
        await running.bot.send_message(lea.user.id, "Choisissez", reply_markup=(
            InlineKeyboardMarkup([[InlineKeyboardButton("Miel", callback_data="p:1")]])))
        pressed = api.press_label(lea.user, "Miel")
        updates = await running.bot.get_updates()
    finally:
        await running.stop()
    (update,) = updates
    assert inbound.callback_query_id(update) == pressed["callback_query"]["id"]
    assert inbound.person(update) == lea.user.id
    assert inbound.pressed(update) == Pressed(
        chat_id=lea.user.id, message_id=pressed["callback_query"]["message"]["message_id"],
        has_media=False)
    # What was written down is the update as Telegram sent it (for a restart to redo).
    (written,) = store.db.lookup_now(  # type: ignore[attr-defined]
        "SELECT payload FROM inbound_events WHERE event_id = ?", (str(update.update_id),))
    assert json.loads(written[0]) == pressed
    assert json.loads(written[0])["callback_query"]["message"]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Miel", "callback_data": "p:1"}]]}


async def test_menus_are_set_per_role_and_follow_a_new_shopkeeper(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    customer_menu = [name for name, _ in api.commands()]
    assert "panier" in customer_menu
    assert "boutique" not in customer_menu
    lea_menu = [name for name, _ in api.commands({"type": "chat", "chat_id": 2000})]
    assert "boutique" in lea_menu
    assert "stock" in lea_menu
    operator_menu = [name for name, _ in api.commands({"type": "chat", "chat_id": 1000})]
    assert "territoire" in operator_menu

    invite = await territory.services.shops.invite(territory.owner, territory.shop.id,
                                                   Role.STAFF)
    await jeanne.send(f"/invitation {invite.code}")
    jeanne_menu = [name for name, _ in api.commands({"type": "chat", "chat_id": 3000})]
    assert "boutique" in jeanne_menu


async def test_a_shopkeeper_imports_and_exports_csv_files(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI) -> None:
    data = "\ufeffnom;prix;stock\nSavon lavande;6,50;12\nMiel 500 g;9,00;4\n".encode()
    await lea.handled(api.send_document(lea.user, data, "produits.csv"))
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert sorted(p.name for p in page.items) == ["Miel 500 g", "Savon lavande"]
    await lea.send("/boutique")
    await lea.press("📤")
    await lea.press("🛍")
    exported = next(m.document for m in reversed(api.messages(lea.user)) if m.document)
    assert exported.file_name.endswith(".csv")
    assert b"Savon lavande" in exported.data


async def test_a_customer_shares_a_phone_number_with_the_contact_button(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    await reserve_cream(territory, jeanne)
    keyboard_now = api.reply_keyboard(jeanne.user)
    assert keyboard_now is not None
    assert "numéro" in keyboard_now[0][0]
    await jeanne.handled(api.send_contact(jeanne.user, "+33 6 12 34 56 78"))
    person = await territory.services.customers.get(territory.customer.id)
    assert person is not None
    assert person.phone == "+33612345678"


async def test_a_reply_that_cannot_go_now_waits_in_the_outbox(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    await jeanne.send("/start")
    api.fail_next(status=502, method="sendMessage")
    await jeanne.send("/aide")
    await channel.deliver_outbox()
    failed = [c for c in api.calls if c.method == "sendMessage" and c.error]
    assert len(failed) == 1  # the first try met a 502...
    assert [m.text.split("\n")[0] for m in api.messages(jeanne.user)][1:] == [
        "ℹ️ Comment ça marche"]  # ...and the reply came once, from the outbox


def test_callback_data_over_64_bytes_is_refused_before_telegram_sees_it() -> None:
    reply = Reply.model_construct(text="x", buttons=(
        (Button.model_construct(label="Crème", payload="p:" + "é" * 32),),))
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard(reply)


def test_a_keyboard_is_built_once_and_sends_python_telegram_bot_s_own_json() -> None:
    reply = Reply(text="x", buttons=((Button(label="🍯 Miel", payload="p:7"),
                                      Button(label="Crème", payload="p:8")),
                                     (Button(label="🏠 Menu", payload="m"),)))
    built = keyboard(reply)
    assert built is keyboard(reply.model_copy())  # the same buttons: the same keyboard
    assert built is not None
    assert built.to_dict() == InlineKeyboardMarkup.to_dict(built)


def test_a_long_caption_is_cut_and_the_rest_follows() -> None:
    text = ("Savon surgras à la lavande fine de Haute-Provence. " * 60).strip()
    caption, *rest = pieces(text, CAPTION_MAX)
    assert len(caption) <= CAPTION_MAX
    assert rest
    assert all(len(piece) <= 4096 for piece in rest)
    assert " ".join([caption, *rest]).split() == text.split()


async def test_updates_are_written_down_before_telegram_forgets_them(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, api: FakeBotAPI,
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()
    handle = channel.conversation.handle

    async def slow_handle(inbound: Any) -> list[Reply]:
        await release.wait()  # the bot is busy (or about to be killed)
        return await handle(inbound)

    monkeypatch.setattr(channel.conversation, "handle", slow_handle)
    first = api.send_text(jeanne.user, "miel")
    second = api.send_text(jeanne.user, "savon")
    await api.wait_for(lambda: not api.pending_updates())  # Telegram confirmed both
    ids = {row[0] for row in store.db.lookup_now(  # type: ignore[attr-defined]
        "SELECT event_id FROM inbound_events WHERE handled_at IS NULL")}
    assert {str(first["update_id"]), str(second["update_id"])} <= ids
    release.set()
    await jeanne.handled(second)


async def test_a_failure_halfway_through_a_reply_resends_only_the_rest(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await jeanne.send(f"/start p_{honey.id}")
    card = api.last(jeanne.user)
    data = next(card.button_data(label) for label in card.labels if label.startswith("✅"))
    before = len(api.messages(jeanne.user))
    # The proof goes; the « share my number » message, right after, meets a 502.
    send_piece = render.send_piece

    async def second_fails(bot: Any, chat_id: int | str, piece: Reply,
                           edit: Any = None, **options: Any) -> None:
        if piece.ask_contact and not getattr(second_fails, "failed", False):
            second_fails.failed = True  # type: ignore[attr-defined]
            api.fail_next(status=502, method="sendMessage")
        await send_piece(bot, chat_id, piece, edit, **options)

    monkeypatch.setattr(render, "send_piece", second_fails)
    await jeanne.handled(api.press(jeanne.user, card.message_id, data))
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    texts = [m.text for m in api.messages(jeanne.user)[before:]]
    assert [made.code in text for text in texts] == [True, False]  # proof once, then...
    assert texts[-1].startswith("📱 Pour donner")  # ...the contact key, from the outbox
    assert api.reply_keyboard(jeanne.user) is not None


async def test_an_unreadable_outbox_message_does_not_hold_back_the_others(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI) -> None:
    await channel.services.delivery.queue([
        ("telegram", "2000", '{"text": 12, "unknown": true}', None),  # a bug, an old format
        ("telegram", "2000", Reply(text="Nouvelle réservation ABCDE").model_dump_json(), None),
    ])
    await channel.deliver_outbox()
    assert lea.screen == "Nouvelle réservation ABCDE"
    assert await channel.services.delivery.waiting_count("telegram") == 0


async def test_a_pdf_kept_in_the_outbox_reaches_the_person_byte_for_byte(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI) -> None:
    # A PDF is not UTF-8: its bytes must survive the outbox's JSON (and a retry's).
    pdf = b"%PDF-1.4\n\xe2\xe3\xcf\xd3\xff\x00 the day's list"
    note = Reply(text="La liste du jour", document=Document(
        file_name="aujourdhui.pdf", data=pdf, mime_type="application/pdf"))
    await channel.services.delivery.queue([("telegram", "2000", note.model_dump_json(), None)])
    await channel.deliver_outbox()
    (sent,) = [m for m in api.messages(lea.user) if m.kind == "document"]
    assert sent.document is not None
    assert sent.document.data == pdf
    assert sent.document.file_name == "aujourdhui.pdf"


async def test_a_person_gets_their_notifications_in_order_even_after_a_retry(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI,
        clock: FakeClock) -> None:
    api.fail_next(status=502, method="sendMessage")
    await channel.services.delivery.queue(
        [("telegram", "2000", Reply(text="Premier").model_dump_json(), None)])
    await channel.deliver_outbox()  # fails: retried later
    await channel.services.delivery.queue(
        [("telegram", "2000", Reply(text="Second").model_dump_json(), None)])
    await channel.deliver_outbox()  # « Second » must wait for « Premier »
    assert lea.texts() == []
    clock.now += timedelta(minutes=1)
    await channel.deliver_outbox()
    assert lea.texts() == ["Premier", "Second"]


async def test_a_sticker_or_a_voice_message_gets_a_french_answer(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, api: FakeBotAPI) -> None:
    update = api.send_text(jeanne.user, "placeholder")
    await jeanne.handled(update)
    sticker = {"update_id": update["update_id"] + 1000, "message": {
        **{k: v for k, v in update["message"].items() if k not in ("text", "entities")},
        "message_id": update["message"]["message_id"] + 1,
        "sticker": {"file_id": "CAACAgI", "file_unique_id": "AgAD", "width": 512,
                    "height": 512, "is_animated": False, "is_video": False,
                    "type": "regular"}}}
    assert await channel.accept(sticker)
    await jeanne.handled(sticker)
    assert "je ne sais lire que" in jeanne.screen
    assert jeanne.labels  # and a way on


async def test_a_csv_that_could_not_be_fetched_is_asked_again(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI) -> None:
    api.fail_next(status=502, method="getFile")
    await lea.handled(api.send_document(lea.user, b"nom;prix\nSavon;6,50\n", "produits.csv"))
    assert "envoyer à nouveau" in lea.screen


async def test_a_shopkeeper_who_blocked_the_bot_is_reported_to_the_operator(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, lea: Phone,
        api: FakeBotAPI) -> None:
    operator = api.user(1000, "Office", started=True)
    api.block(lea.user)
    await reserve_cream(territory, jeanne)
    await channel.deliver_outbox()
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(territory.customer.id)
    warning = api.last(operator).text
    assert made.code in warning
    assert "Épicerie du Château" in warning
    assert "bloqué" in warning


async def test_notifications_never_burst_above_telegram_s_limit(
        territory: Territory, services: Services, store: Store) -> None:
    from chatshop.channels.ratelimit import TelegramRateLimiter

    api = FakeBotAPI(global_per_second=30)  # refuses a 31st message in any second
    people = [api.user(7000 + n, f"Client {n}", started=True) for n in range(45)]
    running = make_channel(services, store, api, rate_limiter=TelegramRateLimiter())
    await running.start(polling=False)
    try:
        await services.delivery.queue([
            ("telegram", str(person.id), Reply(text=f"Votre commande n°{n} est prête")
             .model_dump_json(), None) for n, person in enumerate(people)])
        await running.deliver_outbox()
    finally:
        await running.stop()
    assert all(len(api.messages(person)) == 1 for person in people)
    assert api.rejections == []  # no 429: the limiter kept under 30 per second


async def test_a_photo_taken_on_whatsapp_is_shown_on_telegram(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    kept = await channel.services.delivery.keep_media(TINY_PNG, "image/png")
    soap = await territory.product("Savon lavande", 650, on_hand=5,
                                   photo=("whatsapp", kept))
    await jeanne.send(f"/start p_{soap.id}")
    card = api.last(jeanne.user)
    assert card.photo is not None  # uploaded from the kept bytes
    assert "Savon lavande" in card.text


async def test_a_photo_taken_on_telegram_is_kept_for_whatsapp(
        territory: Territory, channel: TelegramChannel, lea: Phone, api: FakeBotAPI) -> None:
    await lea.handled(api.send_photo(lea.user, TINY_PNG, caption="Savon lavande 6,50 € x12"))
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    (soap,) = page.items
    assert soap.photos["telegram"].startswith("media:") is False  # Telegram's own file id
    kept = await channel.services.delivery.media(soap.photos["whatsapp"])
    assert kept is not None
    assert kept[0] == "image/jpeg"  # cleaned of its metadata and re-encoded
    assert kept[1].startswith(b"\xff\xd8")


# -- the offer to share one's number has a way back (« Non merci »), every screen ends
# with its way on


async def test_telegram_s_number_keyboard_has_non_merci_which_stores_nothing(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI, store: Store) -> None:
    await reserve_cream(territory, jeanne)
    assert api.reply_keyboard(jeanne.user) == [["📱 Donner mon numéro"], ["Non merci"]]
    await jeanne.send("Non merci")
    person = await territory.services.customers.get(territory.customer.id)
    assert person is not None
    assert person.phone is None
    assert api.reply_keyboard(jeanne.user) is None  # the keyboard is gone
    said, way_on = api.messages(jeanne.user)[-2:]
    assert said.text is not None
    assert said.text.startswith("Très bien")
    assert "📋 Mes réservations" in way_on.labels
    assert "🏠 Menu" in way_on.labels
    # Her reservation is untouched, and « non » later is just a word again.
    reservations = await territory.services.reservations.of_customer(territory.customer.id)
    assert len(reservations) == 1
    assert reservations[0].status.is_live


async def test_sharing_the_number_also_takes_the_keyboard_away(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    await reserve_cream(territory, jeanne)
    await jeanne.handled(api.send_contact(jeanne.user, "+33 6 12 34 56 78"))
    assert api.reply_keyboard(jeanne.user) is None
    assert "🏠 Menu" in api.last(jeanne.user).labels


async def test_every_telegram_message_of_the_contact_screen_ends_with_a_way_on(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    """The shop's map is the last message of its contact screen: the buttons are on it."""
    await territory.services.shops.update_shop(territory.owner, territory.shop.id, ShopDetails(
        latitude=45.8, longitude=0.8, address="1 place du Château"))
    await jeanne.send("/start")
    await jeanne.send("/boutiques")
    await jeanne.press("🏪")
    await jeanne.press("📞")
    last = api.messages(jeanne.user)[-1]
    assert last.kind == "venue"
    assert "🏠 Menu" in last.labels


async def test_non_merci_still_takes_the_keyboard_away_after_other_taps(
        territory: Territory, channel: TelegramChannel, jeanne: Phone,
        api: FakeBotAPI) -> None:
    """Telegram's reply keyboard stays on screen while she taps inline buttons."""
    await reserve_cream(territory, jeanne)
    await jeanne.send("/reservations")
    await jeanne.press("🏠")
    assert api.reply_keyboard(jeanne.user) is not None
    await jeanne.send("Non merci")
    assert api.reply_keyboard(jeanne.user) is None
    assert "🏠 Menu" in api.last(jeanne.user).labels


async def test_a_batch_that_cannot_be_written_down_is_not_confirmed_and_comes_again(
        territory: Territory, channel: TelegramChannel, jeanne: Phone, api: FakeBotAPI,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The database is busy when a batch arrives: Telegram must not be told it was
    received (it would forget it); polling goes on, and the update is answered once."""
    receive_many = channel.services.delivery.receive_many
    failed: list[int] = []

    async def busy_once(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(1)
            raise OSError("database is locked")
        return await receive_many(*args, **kwargs)

    monkeypatch.setattr(channel.services.delivery, "receive_many", busy_once)
    await jeanne.send("/start")
    assert failed
    assert len(api.messages(jeanne.user)) == 1
    assert "Bienvenue" in jeanne.screen
