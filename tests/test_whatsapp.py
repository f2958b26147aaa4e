"""chatshop on WhatsApp: signed webhook payloads in Meta's format posted to the real
webhook app, and what the fake Cloud API received (tests/fakes/graph_api.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatshop.channels.webhooks import webhook_app
from chatshop.channels.whatsapp.channel import WhatsAppChannel
from chatshop.conversation.router import Conversation
from chatshop.domain.models import ReservationStatus, Role, User
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store
from tests.conftest import OPERATOR, FakeClock, Territory
from tests.fakes.graph_api import TINY_PNG, TOKEN, FakeGraphAPI

SECRET = "app-s3cret"
JEANNE = "33612345678"
LEA = "33698765432"


class Meta:
    """Meta's side: posts signed webhook deliveries to the bot, as WhatsApp would."""

    def __init__(self, api: FakeGraphAPI, http: httpx.AsyncClient,
                 channel: WhatsAppChannel) -> None:
        self.api = api
        self.http = http
        self.channel = channel

    async def deliver(self, payload: dict[str, Any], *, secret: str = SECRET,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        body, signed = self.api.signed(payload, secret)
        response = await self.http.post("/whatsapp", content=body,
                                        headers=signed if headers is None else headers)
        await self.channel.settle()
        return response

    async def says(self, wa_id: str, name: str, text: str) -> None:
        assert (await self.deliver(self.api.text(wa_id, name, text))).status_code == 200

    async def taps(self, wa_id: str, title_start: str) -> None:
        last = self.api.last(wa_id)
        titles = [t for _id, t in [*last.buttons, *[(r[0], r[1]) for r in last.rows]]]
        title = next(t for t in titles if t.startswith(title_start))
        assert (await self.deliver(self.api.choose(wa_id, title))).status_code == 200

    def texts(self, wa_id: str) -> list[str]:
        return [m.text or "" for m in self.api.messages_to(wa_id)]


@pytest.fixture
def api(clock: FakeClock) -> FakeGraphAPI:
    return FakeGraphAPI(wall_clock=clock)


def whatsapp_channel(services: Services, store: Store, api: FakeGraphAPI,
                     transport: httpx.AsyncBaseTransport | None = None) -> WhatsAppChannel:
    """The real WhatsApp channel talking to the fake Graph API, or through ``transport``
    in front of it (no scheduled jobs: they are the runtime's, run in ``app.serve``)."""
    conversation = Conversation(services, territory="Porte Océane du Limousin",
                                tz=ZoneInfo("Europe/Paris"))
    return WhatsAppChannel(
        services, conversation, token=TOKEN, phone_number_id=api.phone_number_id,
        app_secret=SECRET, verify_token="verify-me",
        session=httpx.AsyncClient(transport=transport or api.transport()))


@asynccontextmanager
async def running(services: Services, store: Store,
                  api: FakeGraphAPI) -> AsyncIterator[WhatsAppChannel]:
    """The channel started, then stopped."""
    started = whatsapp_channel(services, store, api)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


@asynccontextmanager
async def webhook(api: FakeGraphAPI, channel: WhatsAppChannel) -> AsyncIterator[Meta]:
    """Meta, posting to the channel's webhook (in process)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(
            app=webhook_app(whatsapp=channel)), base_url="http://bot.test") as http:
        yield Meta(api, http, channel)


@pytest.fixture
async def channel(territory: Territory, services: Services, store: Store,
                  api: FakeGraphAPI) -> AsyncIterator[WhatsAppChannel]:
    async with running(services, store, api) as started:
        yield started


@pytest.fixture
async def meta(api: FakeGraphAPI, channel: WhatsAppChannel) -> AsyncIterator[Meta]:
    async with webhook(api, channel) as posting:
        yield posting


async def whatsapp_shopkeeper(territory: Territory) -> User:
    """Léa helps run the Épicerie from WhatsApp."""
    lea = await territory.services.customers.seen("whatsapp", LEA, "Léa")
    invite = await territory.services.shops.invite(territory.owner, territory.shop.id,
                                                   Role.STAFF)
    await territory.services.shops.accept_invite(lea.id, invite.code)
    return lea


async def test_meta_verifies_the_webhook_with_our_token(meta: Meta) -> None:
    ok = await meta.http.get("/whatsapp", params=meta.api.verification("verify-me", "1158"))
    assert (ok.status_code, ok.text) == (200, "1158")
    wrong = await meta.http.get("/whatsapp", params=meta.api.verification("guess", "1158"))
    assert wrong.status_code == 403


async def test_a_customer_finds_reserves_and_the_shop_is_told(
        territory: Territory, meta: Meta, channel: WhatsAppChannel) -> None:
    await whatsapp_shopkeeper(territory)
    await territory.product("Crème pour les mains", 1250, on_hand=3)
    await meta.says(LEA, "Léa", "/menu")  # Léa wrote today: inside her window
    await meta.says(JEANNE, "Jeanne", "creme")
    await meta.taps(JEANNE, "Crème pour les")
    assert "12,50" in meta.texts(JEANNE)[-1]
    await meta.taps(JEANNE, "✅")
    (made,) = await territory.services.reservations.of_customer(
        (await territory.services.customers.session("whatsapp", JEANNE)).user.id)  # type: ignore[union-attr]
    assert any(made.code in text for text in meta.texts(JEANNE))
    await channel.deliver_outbox()
    assert any(made.code in text for text in meta.texts(LEA))
    # Every screen stayed within WhatsApp's limits: the fake refused nothing.
    assert meta.api.rejections == []

    # Léa marks it ready from her notification; Jeanne is told.
    await meta.taps(LEA, "✅")
    again = await territory.services.reservations.get(made.id)
    assert again is not None
    assert again.status is ReservationStatus.READY
    await channel.deliver_outbox()
    assert "prête" in meta.texts(JEANNE)[-1]


async def test_a_shopkeeper_adds_a_product_with_a_photo(
        territory: Territory, meta: Meta) -> None:
    await whatsapp_shopkeeper(territory)
    photo = meta.api.image(LEA, "Léa", TINY_PNG, caption="Savon lavande 6,50 € x12")
    assert (await meta.deliver(photo)).status_code == 200
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    (soap,) = page.items
    assert (soap.name, soap.price_cents, soap.on_hand) == ("Savon lavande", 650, 12)
    reference = soap.photos["whatsapp"]
    kept = await territory.services.delivery.media(reference)
    assert kept is not None
    # Downloaded by its media id and kept cleaned of its metadata, as a JPEG.
    assert kept[0] == "image/jpeg"
    assert kept[1].startswith(b"\xff\xd8")


async def test_a_photo_that_cannot_be_fetched_is_asked_again_with_a_way_on(
        territory: Territory, meta: Meta) -> None:
    await whatsapp_shopkeeper(territory)
    meta.api.fail_next(500, operation="download")
    photo = meta.api.image(LEA, "Léa", TINY_PNG, caption="Savon lavande 6,50 € x12")
    assert (await meta.deliver(photo)).status_code == 200
    asked = meta.api.last(LEA)
    assert (asked.text or "").startswith("Désolé, votre fichier ne nous est pas parvenu.")
    assert [title for _id, title in asked.buttons] == ["🏠 Menu"]
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()


async def test_unsigned_wrongly_signed_and_replayed_webhooks_change_nothing(
        territory: Territory, meta: Meta, store: Store) -> None:
    payload = meta.api.text(JEANNE, "Jeanne", "/start")
    body, _headers = meta.api.signed(payload, SECRET)
    unsigned = await meta.http.post("/whatsapp", content=body)
    wrong = await meta.deliver(payload, secret="not-the-secret")
    assert (unsigned.status_code, wrong.status_code) == (403, 403)
    assert meta.api.messages_to(JEANNE) == []
    assert await territory.services.customers.session("whatsapp", JEANNE) is None

    assert (await meta.deliver(payload)).status_code == 200
    assert (await meta.deliver(payload)).status_code == 200  # Meta retries: same wamid
    assert len(meta.api.messages_to(JEANNE)) == 1


async def test_a_notification_that_fails_later_goes_back_as_a_template(
        territory: Territory, meta: Meta, channel: WhatsAppChannel, clock: FakeClock,
        api: FakeGraphAPI) -> None:
    lea = await whatsapp_shopkeeper(territory)
    api.add_template("chatshop_notification", "fr", body="Nouvelle de chatshop : {{1}}")
    await meta.says(LEA, "Léa", "/menu")
    clock.now += timedelta(hours=30)  # for Meta, Léa wrote 30 hours ago: window closed
    await territory.services.customers.seen("whatsapp", LEA, "Léa")  # we think: open
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await meta.says(JEANNE, "Jeanne", f"/start p_{honey.id}")
    await meta.taps(JEANNE, "✅")
    await channel.deliver_outbox()  # Meta takes it, then says 131047 by status
    for status in api.take_statuses():
        assert (await meta.deliver(status)).status_code == 200
    await channel.deliver_outbox()  # back in the outbox, as the template this time
    delivered = api.messages_to(LEA)
    assert delivered[-1].template_name == "chatshop_notification"
    assert lea.unreachable_at is None


async def test_the_digest_goes_out_as_a_template_outside_the_window(
        territory: Territory, meta: Meta, channel: WhatsAppChannel, clock: FakeClock,
        api: FakeGraphAPI) -> None:
    api.add_template("chatshop_digest", "fr", category="MARKETING",
                     body="Les nouvelles de la semaine : {{1}}")
    await meta.says(JEANNE, "Jeanne", "/abonnement")
    await meta.taps(JEANNE, "🌍")
    clock.now += timedelta(days=3)
    await territory.product("Miel de châtaignier", 900)
    await territory.services.digest.start_week("whatsapp")
    (report,) = await channel.deliver_digests()
    assert report.sent == 1
    digest = api.messages_to(JEANNE)[-1]
    assert digest.template_name == "chatshop_digest"
    assert digest.template_params == ["1 nouveau produit"]
    sent = next(c for c in reversed(api.sent) if c.json and c.json.get("type") == "template")
    buttons = [b for b in sent.json["template"]["components"] if b["type"] == "button"]
    assert [b["parameters"][0]["payload"] for b in buttons] == ["na", "un"]

    # The template's « Se désabonner » quick reply: one tap, no more digests.
    tap = api.text(JEANNE, "Jeanne", "x")
    message = tap["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message.update(type="button", button={"payload": "un", "text": "Se désabonner"})
    assert (await meta.deliver(tap)).status_code == 200
    assert await territory.services.digest.subscription(
        (await territory.services.customers.session("whatsapp", JEANNE)).user.id  # type: ignore[union-attr]
    ) is None


async def test_a_digest_meta_says_is_outside_the_window_goes_as_the_template(
        territory: Territory, meta: Meta, channel: WhatsAppChannel, clock: FakeClock,
        api: FakeGraphAPI) -> None:
    """Our clock said « inside the 24-hour window »; Meta refused the free-form message
    with 131047: the template goes instead, and if it is refused too, the report says
    « outside the window » rather than « failed »."""
    api.add_template("chatshop_digest", "fr", category="MARKETING",
                     body="Les nouvelles de la semaine : {{1}}")
    await meta.says(JEANNE, "Jeanne", "/abonnement")
    await meta.taps(JEANNE, "🌍")
    await territory.product("Miel de châtaignier", 900)
    await territory.services.digest.start_week("whatsapp")
    api.fail_next(131047)
    (report,) = await channel.deliver_digests()
    assert (report.sent, report.failed) == (1, 0)
    assert api.messages_to(JEANNE)[-1].template_name == "chatshop_digest"

    clock.now += timedelta(hours=1)
    await territory.product("Savon lavande", 650)
    await territory.services.digest.start_week("whatsapp", forced=True)
    api.fail_next(131047, times=2)
    (report,) = await channel.deliver_digests()
    assert (report.sent, report.outside_window, report.failed) == (0, 1, 0)


async def test_without_a_subscription_no_digest_is_sent(
        territory: Territory, meta: Meta, channel: WhatsAppChannel) -> None:
    await meta.says(JEANNE, "Jeanne", "bonjour")
    before = len(meta.api.messages_to(JEANNE))
    await territory.product("Miel de châtaignier", 900)
    await territory.services.digest.start_week("whatsapp")
    (report,) = await channel.deliver_digests()
    assert report.total == 0
    assert len(meta.api.messages_to(JEANNE)) == before


def test_a_shared_link_s_text_opens_the_product() -> None:
    from chatshop.channels.whatsapp.inbound import WhatsAppMessage, event_of
    from chatshop.conversation.messages import Command

    message = WhatsAppMessage(id="wamid.1", wa_id=JEANNE, name="Jeanne", kind="text",
                              body={"body": "Bonjour ! p_12"})
    assert event_of(message) == Command(name="start", args="p_12")


def test_screens_fit_whatsapp_buttons_or_lists() -> None:
    from chatshop.channels.whatsapp.render import parts
    from chatshop.conversation.messages import Button, Reply

    short = Reply(text="Réserver ?", buttons=((Button(label="Oui", payload="y"),
                                                Button(label="Non", payload="n")),))
    (buttons,) = parts(short)
    assert buttons.body["type"] == "button"
    many = Reply(text="Résultats", buttons=tuple(
        (Button(label=f"Boucles d'oreilles pendantes en perles n°{n}", payload=f"p:{n}"),)
        for n in range(8)))
    (listing,) = parts(many)
    rows = listing.body["action"]["sections"][0]["rows"]
    assert len(rows) == 8
    assert all(len(r["title"]) <= 24 for r in rows)
    assert len({r["title"] for r in rows}) == 8  # still told apart once shortened
    assert all(len(r.get("description", "")) <= 72 for r in rows)


async def test_meta_s_server_trouble_keeps_the_notification_for_later(
        territory: Territory, meta: Meta, channel: WhatsAppChannel, clock: FakeClock,
        api: FakeGraphAPI) -> None:
    await whatsapp_shopkeeper(territory)
    await meta.says(LEA, "Léa", "/menu")
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await meta.says(JEANNE, "Jeanne", f"/start p_{honey.id}")
    api.fail_next(500, times=3)  # the new reservation's notification meets a 500...
    await meta.taps(JEANNE, "✅")
    await channel.deliver_outbox()
    (made,) = await territory.services.reservations.of_customer(
        (await territory.services.customers.session("whatsapp", JEANNE)).user.id)  # type: ignore[union-attr]
    clock.now += timedelta(minutes=10)  # ...and goes once Meta is well again
    await channel.deliver_outbox()
    assert sum(made.code in (m.text or "") for m in api.messages_to(LEA)) == 1


async def test_a_huge_body_is_refused_before_it_is_read_whole(meta: Meta) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"x" * 100_000  # 5 MB, without a Content-Length

    response = await meta.http.post("/whatsapp", content=chunks())
    assert response.status_code == 413


async def test_a_customer_s_photo_is_not_fetched_nor_kept(
        territory: Territory, meta: Meta, store: Store, api: FakeGraphAPI) -> None:
    assert (await meta.deliver(api.text(JEANNE, "Jeanne", "bonjour"))).status_code == 200
    photo = api.image(JEANNE, "Jeanne", TINY_PNG, caption="moi")
    assert (await meta.deliver(photo)).status_code == 200
    assert store.db.lookup_now("SELECT count(*) FROM media")[0][0] == 0  # type: ignore[attr-defined]
    assert "Merci" in meta.texts(JEANNE)[-1]


async def test_an_undeliverable_notification_ends_and_marks_the_person(
        territory: Territory, meta: Meta, channel: WhatsAppChannel,
        api: FakeGraphAPI) -> None:
    lea = await whatsapp_shopkeeper(territory)
    await meta.says(LEA, "Léa", "/menu")
    api.undeliverable(LEA)
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await meta.says(JEANNE, "Jeanne", f"/start p_{honey.id}")
    await meta.taps(JEANNE, "✅")
    await channel.deliver_outbox()
    for status in api.take_statuses():
        await meta.deliver(status)
    assert await channel.deliver_outbox() == 0  # not tried again and again
    person = await territory.services.customers.get(lea.id)
    assert person is not None
    assert person.unreachable_at is not None


async def test_events_written_down_before_a_stop_are_handled_at_the_next_start(
        territory: Territory, services: Services, store: Store, api: FakeGraphAPI) -> None:
    from chatshop.channels.whatsapp.inbound import read

    messages, _statuses = read(api.text(JEANNE, "Jeanne", "/start"))
    # Written down by the process before the stop (gone since: its lease with it).
    before = await open_store(store.db.path)  # type: ignore[attr-defined]
    await before.inbox.receive("whatsapp", [(m.event_id, m.payload()) for m in messages],
                               services.clock())
    await before.close()
    conversation = Conversation(services, territory="T", tz=ZoneInfo("Europe/Paris"))
    restarted = WhatsAppChannel(
        services, conversation, token=TOKEN, phone_number_id=api.phone_number_id,
        app_secret=SECRET, verify_token="v",
        session=httpx.AsyncClient(transport=api.transport()))
    await restarted.start()
    await restarted.settle()
    await restarted.stop()
    assert "Bienvenue" in (api.messages_to(JEANNE)[0].text or "")
    assert await services.delivery.waiting("whatsapp") == []


async def test_a_reply_meeting_a_503_arrives_later_once_and_whole(
        territory: Territory, meta: Meta, channel: WhatsAppChannel, clock: FakeClock,
        api: FakeGraphAPI) -> None:
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await meta.says(JEANNE, "Jeanne", f"/start p_{honey.id}")
    before = len(api.messages_to(JEANNE))
    api.fail_next(503, times=1, operation="send")  # the proof meets Meta's trouble
    await meta.taps(JEANNE, "✅")
    clock.now += timedelta(minutes=1)
    await channel.deliver_outbox()
    texts = [m.text or "" for m in api.messages_to(JEANNE)[before:]]
    (made,) = await territory.services.reservations.of_customer(
        (await territory.services.customers.session("whatsapp", JEANNE)).user.id)  # type: ignore[union-attr]
    assert sum(made.code in text for text in texts) == 1  # the proof, once
    assert sum("numéro" in text and "appuyez" in text for text in texts) == 1


def test_a_long_reply_is_split_into_single_whatsapp_messages() -> None:
    from chatshop.channels.whatsapp.render import parts, split
    from chatshop.conversation.messages import Button, Reply

    reply = Reply(text="Ligne de texte assez longue pour le test.\n" * 60,
                  buttons=((Button(label="Oui", payload="y"),),), ask_contact=True)
    pieces = split(reply)
    assert [len(parts(piece)) for piece in pieces] == [1] * len(pieces)
    assert [p.type for piece in pieces for p in parts(piece)] == [
        "text", "interactive", "interactive"]


async def test_a_customer_who_types_a_title_shown_gets_what_tapping_it_gives(
        territory: Territory, meta: Meta, api: FakeGraphAPI) -> None:
    """WhatsApp's buttons and rows show no numbers: people type what they read."""
    await territory.product("Crème pour les mains", 1250, on_hand=3)
    await meta.says(JEANNE, "Jeanne", "bonjour")
    await meta.says(JEANNE, "Jeanne", "creme")
    row = next(title for _id, title, _more in api.last(JEANNE).rows
               if title.startswith("Crème"))
    await meta.says(JEANNE, "Jeanne", row)  # typed, not tapped
    assert "12,50" in meta.texts(JEANNE)[-1]  # the product's card
    assert "Réserver 1" in " ".join(title for _id, title, _more in api.last(JEANNE).rows)
    await meta.says(JEANNE, "Jeanne", "reserver 1")  # « ✅ Réserver 1 », as people type it
    (made,) = await territory.services.reservations.of_customer(
        (await territory.services.customers.session("whatsapp", JEANNE)).user.id)  # type: ignore[union-attr]
    assert any(made.code in text for text in meta.texts(JEANNE))
    await meta.says(JEANNE, "Jeanne", "crème")  # no title: a search, as always
    assert "résultat" in meta.texts(JEANNE)[-1]


async def test_a_title_typed_after_a_restart_is_still_the_choice_shown(
        territory: Territory, meta: Meta, api: FakeGraphAPI, clock: FakeClock,
        tmp_path: Path) -> None:
    await territory.product("Crème pour les mains", 1250, on_hand=3)
    await meta.says(JEANNE, "Jeanne", "bonjour")
    await meta.says(JEANNE, "Jeanne", "creme")
    row = next(title for _id, title, _more in api.last(JEANNE).rows
               if title.startswith("Crème"))
    # A new process: its own connection to the database, nothing kept in memory.
    store = await open_store(tmp_path / "chatshop.db")
    services = build_services(store, operators=frozenset({OPERATOR}), clock=clock)
    conversation = Conversation(services, territory="Porte Océane du Limousin",
                                tz=ZoneInfo("Europe/Paris"))
    restarted = WhatsAppChannel(
        services, conversation, token=TOKEN, phone_number_id=api.phone_number_id,
        app_secret=SECRET, verify_token="verify-me",
        session=httpx.AsyncClient(transport=api.transport()))
    await restarted.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(
                app=webhook_app(whatsapp=restarted)), base_url="http://bot.test") as http:
            await Meta(api, http, restarted).says(JEANNE, "Jeanne", row)
    finally:
        await restarted.stop()
        await store.close()
    assert "12,50" in meta.texts(JEANNE)[-1]


def test_a_title_that_two_choices_share_chooses_neither() -> None:
    from chatshop.channels.whatsapp.render import typed_choice
    from chatshop.conversation.messages import Button

    shown = [Button(label="✅ Réserver", payload="bc:1:a"),
             Button(label="✅ Réserver", payload="bc:2:b"), Button(label="🏠 Menu", payload="m")]
    assert typed_choice("réserver", shown) is None
    assert typed_choice("MENU", shown) == shown[2]
    assert typed_choice("✅", shown) is None  # nothing to read in it
