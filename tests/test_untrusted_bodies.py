"""Untrusted webhook bodies never reach a send: whatever Meta's signed payloads or
Telegram's updates carry (nulls, wrong types, extremes, half an emoji, JSON nested past
reason), the real webhook app answers without a traceback, what is not in the
platform's shape is left aside, and nothing but a real customer's phone number or chat
is ever sent to (issue #8, section 2). Read from the fake Graph API, the fake Bot API
and the database."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.request import RequestData

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.webhooks import SECRET_HEADER, webhook_app
from chatshop.channels.whatsapp.channel import EARLY_FAILURES_KEPT, WhatsAppChannel
from chatshop.channels.whatsapp.inbound import attachment, event_of, is_wa_id, read
from chatshop.conversation.router import Conversation
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory, written_down_before_a_stop
from tests.fakes.bot_api import FakeBotAPI, FakeRequest
from tests.fakes.graph_api import TINY_PNG, FakeGraphAPI
from tests.test_telegram import TOKEN as BOT_TOKEN
from tests.test_telegram import Phone, make_channel
from tests.test_whatsapp import (
    JEANNE,
    LEA,
    SECRET,
    Meta,
    running,
    webhook,
    whatsapp_channel,
    whatsapp_shopkeeper,
)

JSON = dict[str, Any]
UNSUPPORTED = "je ne sais lire que"  # « Désolé, je ne sais lire que le texte... »
HALF_AN_EMOJI = "\ud83d"  # the first half of 🍯's UTF-16 pair, alone


# -- fixtures: the real webhook app, in front of the real channels ----------------------


@pytest.fixture
def graph(clock: FakeClock) -> FakeGraphAPI:
    return FakeGraphAPI(wall_clock=clock)


@pytest.fixture
async def whatsapp(territory: Territory, services: Services, store: Store,
                   graph: FakeGraphAPI) -> AsyncIterator[WhatsAppChannel]:
    async with running(services, store, graph) as started:
        yield started


@pytest.fixture
async def meta(graph: FakeGraphAPI, whatsapp: WhatsAppChannel) -> AsyncIterator[Meta]:
    async with webhook(graph, whatsapp) as posting:
        yield posting


@pytest.fixture
def bot_api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def telegram_http(territory: Territory, services: Services, store: Store,
                        bot_api: FakeBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Telegram's side of the bot in webhook mode (secret « s3cret »)."""
    running = make_channel(services, store, bot_api)
    await running.start(polling=False)
    try:
        app = webhook_app(telegram=running, telegram_secret="s3cret")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bot.test") as http:
            yield http
    finally:
        await running.stop()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged as an error or with a traceback."""
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def events(store: Store) -> list[str]:
    rows = store.db.lookup_now("SELECT event_id FROM inbound_events")  # type: ignore[attr-defined]
    return [row[0] for row in rows]


def people(store: Store, channel: str) -> list[str]:
    rows = store.db.lookup_now(  # type: ignore[attr-defined]
        "SELECT display_name FROM users WHERE channel = ?", (channel,))
    return [row[0] for row in rows]


def first_message(payload: JSON) -> JSON:
    message: JSON = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


# -- WhatsApp: who sent it ---------------------------------------------------------------


@pytest.mark.parametrize("sender", [
    None, 33612345678, [JEANNE], {"wa_id": JEANNE}, True, "None", "+33612345678",
    "0612345678", "3361234567890123", "33 6 12 34 56 78", "٣٣٦١٢٣٤٥٦٧٨", JEANNE + "\n",
], ids=["null", "a number", "a list", "an object", "a boolean", "None as text",
        "with its plus", "a national number", "16 digits", "with spaces",
        "Arabic-Indic digits", "a trailing newline"])
async def test_a_sender_that_is_not_a_phone_number_is_no_customer(
        meta: Meta, graph: FakeGraphAPI, store: Store, caplog: pytest.LogCaptureFixture,
        sender: object) -> None:
    """« from »: null was answered with a send to "None"; now: a warning, a 200, and
    nothing sent nor stored."""
    payload = graph.text(JEANNE, "Jeanne", "bonjour")
    first_message(payload)["from"] = sender
    response = await meta.deliver(payload)
    assert response.status_code == 200
    assert graph.calls_to("send") == []
    assert events(store) == []
    assert people(store, "whatsapp") == []
    logged = [r for r in caplog.records if r.name.startswith("chatshop")]
    assert [(r.levelno, r.exc_info) for r in logged] == [(logging.WARNING, None)]


async def test_an_event_written_down_by_an_older_version_for_no_number_sends_nothing(
        territory: Territory, services: Services, store: Store,
        graph: FakeGraphAPI) -> None:
    """Before the fix, « from »: null was written down as "None": such an event, found
    at the next start, is dropped rather than answered."""
    written = json.dumps({"id": "wamid.older", "wa_id": "None", "name": "", "kind": "text",
                          "body": {"body": "bonjour"}})
    await written_down_before_a_stop(store, "whatsapp", [("wamid.older", written)])
    restarted = whatsapp_channel(services, store, graph)
    await restarted.start()
    await restarted.settle()
    await restarted.stop()
    assert graph.calls_to("send") == []
    assert await services.delivery.waiting("whatsapp") == []


# -- WhatsApp: the shape of a payload ------------------------------------------------------


def _value(payload: JSON) -> JSON:
    """Léa's part of the batch (the first entry)."""
    value: JSON = payload["entry"][0]["changes"][0]["value"]
    return value


def _retyped(kind: str, content: object) -> Callable[[JSON], None]:
    def change(payload: JSON) -> None:
        message = first_message(payload)
        message.pop("text")
        message.update(type=kind)
        message[kind] = content
    return change


def _status(**fields: object) -> Callable[[JSON], None]:
    def change(payload: JSON) -> None:
        _value(payload)["statuses"] = [{"id": "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI=",
                                        "status": "failed", "recipient_id": LEA, **fields}]
    return change


# (what is wrong in Léa's part of a batch, and what Léa gets: nothing, any answer, or
# « I can only read... »); Jeanne's message in the same batch is answered every time.
SHAPES: list[tuple[str, Callable[[JSON], None], str]] = [
    ("an entry that is text", lambda p: p["entry"].insert(0, "entry"), "answered"),
    ("an entry that is null", lambda p: p["entry"].insert(0, None), "answered"),
    ("changes as an object",
     lambda p: p["entry"][0].update(changes=p["entry"][0]["changes"][0]), "nothing"),
    ("a change that is a list",
     lambda p: p["entry"][0]["changes"].insert(0, ["messages"]), "answered"),
    ("a value that is a list",
     lambda p: p["entry"][0]["changes"][0].update(value=[_value(p)]), "nothing"),
    ("contacts as an object",
     lambda p: _value(p).update(contacts=_value(p)["contacts"][0]), "answered"),
    ("a contact's wa_id in a list",
     lambda p: _value(p)["contacts"][0].update(wa_id=[LEA]), "answered"),
    ("a profile that is text",
     lambda p: _value(p)["contacts"][0].update(profile="Léa"), "answered"),
    ("a name that is an object",
     lambda p: _value(p)["contacts"][0]["profile"].update(name={"first": "Léa"}),
     "answered"),
    ("messages as an object",
     lambda p: _value(p).update(messages=first_message(p)), "nothing"),
    ("a message id in a list",
     lambda p: first_message(p).update(id=[first_message(p)["id"]]), "nothing"),
    ("a message id that is a number", lambda p: first_message(p).update(id=12), "nothing"),
    ("a text that is not an object",
     lambda p: first_message(p).update(text="miel"), "unsupported"),
    ("a text body that is a number",
     lambda p: first_message(p).update(text={"body": 12}), "unsupported"),
    ("a button reply that is text",
     _retyped("interactive", {"type": "button_reply", "button_reply": "y"}), "unsupported"),
    ("a button id that is a number",
     _retyped("interactive", {"type": "button_reply",
                              "button_reply": {"id": 7, "title": "7"}}), "unsupported"),
    ("a template button payload that is null",
     _retyped("button", {"payload": None, "text": "Voir"}), "unsupported"),
    ("a list row id that is an object",
     _retyped("interactive", {"type": "list_reply", "list_reply": {"id": {"p": 1}}}),
     "unsupported"),
    ("a latitude in text",
     _retyped("location", {"latitude": "45.8", "longitude": "0.8"}), "unsupported"),
    ("a latitude past a float's range",
     _retyped("location", {"latitude": 10**400, "longitude": 0}), "unsupported"),
    ("a latitude off the globe",
     _retyped("location", {"latitude": 91, "longitude": 0}), "unsupported"),
    ("a contact card of three fields", _retyped("contacts", [{
        "name": {"formatted_name": "Marie Dupont"}, "phones": [{"phone": "+33600000000"}],
        "org": {"company": "Mairie"}}]), "unsupported"),
    ("an error code in text", _status(errors=[{"code": "abc"}]), "answered"),
    ("errors as an object", _status(errors={"code": 131047}), "answered"),
    ("a status without an id", _status(id=None), "answered"),
    ("a status id in a list", _status(id=["wamid.HBgL"]), "answered"),
    ("a status list of numbers", lambda p: _value(p).update(statuses=[1, 2]), "answered"),
]


@pytest.mark.parametrize(("change", "lea_gets"), [(c, g) for _n, c, g in SHAPES],
                         ids=[n for n, _c, _g in SHAPES])
async def test_a_field_of_the_wrong_type_is_left_aside_and_the_rest_of_the_batch_answered(
        meta: Meta, graph: FakeGraphAPI, store: Store, caplog: pytest.LogCaptureFixture,
        change: Callable[[JSON], None], lea_gets: str) -> None:
    """One odd field used to drop the whole batch (AttributeError, TypeError,
    ValueError), to crash a handler (a traceback, no answer), or to be read with
    ``str()`` (« 12 » searched, « None » pressed, « {'first': 'Léa'} » as a name)."""
    await meta.says(LEA, "Léa", "/menu")  # both talked to the bot before: no welcome
    await meta.says(JEANNE, "Jeanne", "/menu")
    batch = graph.combine(graph.text(LEA, "Léa", "miel"), graph.text(JEANNE, "Jeanne", "miel"))
    change(batch)
    assert (await meta.deliver(batch)).status_code == 200
    assert len(graph.messages_to(JEANNE)) == 2
    to_lea = [m.text or "" for m in graph.messages_to(LEA)[1:]]
    if lea_gets == "nothing":
        assert to_lea == []
    else:
        assert len(to_lea) == 1
        assert (UNSUPPORTED in to_lea[0]) is (lea_gets == "unsupported")
    assert {c.json["to"] for c in graph.calls_to("send") if c.json} <= {JEANNE, LEA}
    assert all(e.startswith(("wamid.", "status:wamid.")) for e in events(store))
    assert all(name in ("", "Léa", "Jeanne") for name in people(store, "whatsapp"))
    assert tracebacks(caplog) == []


async def test_media_fields_of_the_wrong_type_fetch_nothing_and_create_nothing(
        territory: Territory, meta: Meta, graph: FakeGraphAPI,
        caplog: pytest.LogCaptureFixture) -> None:
    """A media id that is not Meta's (an object, a path) was put into the Graph API URL
    with ``str()``; a caption in a list became the product « ['Savon lavande »."""
    await whatsapp_shopkeeper(territory)
    await meta.says(LEA, "Léa", "/menu")
    for media_id in [{"id": "1"}, "../../" + graph.phone_number_id + "/messages", None, ""]:
        photo = graph.image(LEA, "Léa", TINY_PNG, caption="Savon lavande 6,50 € x12")
        first_message(photo)["image"]["id"] = media_id
        assert (await meta.deliver(photo)).status_code == 200
        assert UNSUPPORTED in (graph.last(LEA).text or "")
    assert graph.calls_to("media_url") == []
    listed = graph.image(LEA, "Léa", TINY_PNG)
    first_message(listed)["image"]["caption"] = ["Savon lavande 6,50 € x12"]
    assert (await meta.deliver(listed)).status_code == 200
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert page.items == ()
    assert "Ajoutez une légende" in (graph.last(LEA).text or "")
    assert tracebacks(caplog) == []


class GraphAnswering(httpx.AsyncBaseTransport):
    """The fake Graph API, with its answers about a media (GET /{media-id}) changed as
    ``change`` says."""

    def __init__(self, graph: FakeGraphAPI, change: Callable[[JSON], None]) -> None:
        self._inner = graph.transport()
        self._change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "GET" or response.status_code != 200 \
                or not response.headers.get("content-type", "").startswith("application/json"):
            return response
        answer = json.loads(await response.aread())
        self._change(answer)
        return httpx.Response(200, json=answer)


@pytest.mark.parametrize(("change", "kind"), [
    (lambda a: a.update(file_size="abc"), "document"),
    (lambda a: a.update(mime_type={"type": "image/png"}), "image"),
    (lambda a: a.update(mime_type="text/html"), "image"),
], ids=["a file size in text", "a type that is an object",
        "a type that is no image"])
async def test_the_graph_api_s_answer_about_a_media_is_checked_too(
        territory: Territory, services: Services, store: Store, graph: FakeGraphAPI,
        caplog: pytest.LogCaptureFixture, change: Callable[[JSON], None], kind: str) -> None:
    """``int(info.get("file_size") or 0)`` raised on a size in text (a traceback, no
    answer); a type that is not an image's was kept with the photo (``str()`` of it)."""
    running = whatsapp_channel(services, store, graph, GraphAnswering(graph, change))
    await running.start()
    try:
        app = webhook_app(whatsapp=running)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bot.test") as http:
            meta = Meta(graph, http, running)
            await whatsapp_shopkeeper(territory)
            await meta.says(LEA, "Léa", "/menu")
            sent = graph.document(LEA, "Léa", b"nom;prix;stock\nSavon lavande;6,50;12\n") \
                if kind == "document" else graph.image(LEA, "Léa", TINY_PNG,
                                                       caption="Savon lavande 6,50 € x12")
            assert (await meta.deliver(sent)).status_code == 200
    finally:
        await running.stop()
    page = await territory.services.catalogue.maker_products(territory.owner,
                                                             territory.shop.id)
    assert [p.name for p in page.items] == ["Savon lavande"]
    kept = store.db.lookup_now("SELECT mime_type FROM media")  # type: ignore[attr-defined]
    assert [row[0] for row in kept] == ([] if kind == "document" else ["image/jpeg"])
    assert tracebacks(caplog) == []


# -- WhatsApp: half an emoji ---------------------------------------------------------------


async def test_text_with_half_an_emoji_is_written_down_and_answered_well_formed(
        meta: Meta, graph: FakeGraphAPI, store: Store,
        caplog: pytest.LogCaptureFixture) -> None:
    """An escaped lone surrogate made a string SQLite cannot encode: the receipt failed
    every time, and Meta would have retried it for days."""
    payload = graph.text(JEANNE, "Jeanne" + HALF_AN_EMOJI, "miel " + HALF_AN_EMOJI)
    assert (await meta.deliver(payload)).status_code == 200
    answers = graph.messages_to(JEANNE)
    said = " ".join(m.text or "" for m in answers)
    assert "Bienvenue" in said  # her first words: the welcome, then the search
    assert HALF_AN_EMOJI not in json.dumps([m.payload for m in answers], ensure_ascii=False)
    assert people(store, "whatsapp") == ["Jeanne\ufffd"]
    (written,) = store.db.lookup_now("SELECT payload FROM inbound_events")  # type: ignore[attr-defined]
    assert written[0].isascii()
    assert tracebacks(caplog) == []


async def test_a_failure_whose_reason_holds_half_an_emoji_still_goes_back_as_a_template(
        territory: Territory, meta: Meta, whatsapp: WhatsAppChannel, graph: FakeGraphAPI,
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """The reason was stored with the outbox message: SQLite refused it, and the
    notification Meta failed was never sent again."""
    await whatsapp_shopkeeper(territory)
    graph.add_template("chatshop_notification", "fr", body="Nouvelle de chatshop : {{1}}")
    await meta.says(LEA, "Léa", "/menu")
    clock.now += timedelta(hours=30)  # for Meta, Léa wrote 30 hours ago: window closed
    await territory.services.customers.seen("whatsapp", LEA, "Léa")  # we think: open
    honey = await territory.product("Miel de châtaignier", 900, on_hand=4)
    await meta.says(JEANNE, "Jeanne", f"/start p_{honey.id}")
    await meta.taps(JEANNE, "✅")
    await whatsapp.deliver_outbox()  # Meta takes it, then says 131047 by status
    (failed,) = graph.take_statuses()
    error = failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    error.update(title="Re-engagement " + HALF_AN_EMOJI, message=HALF_AN_EMOJI)
    assert (await meta.deliver(failed)).status_code == 200
    await whatsapp.deliver_outbox()
    assert graph.messages_to(LEA)[-1].template_name == "chatshop_notification"
    assert tracebacks(caplog) == []


async def test_failures_of_messages_never_sent_from_here_are_not_kept_forever(
        meta: Meta, whatsapp: WhatsAppChannel, graph: FakeGraphAPI, store: Store) -> None:
    """Statuses of messages someone else sent from the number piled up in memory."""
    statuses = [{"id": f"wamid.elsewhere{n}", "status": "failed", "recipient_id": JEANNE,
                 "errors": [{"code": 131047}]} for n in range(EARLY_FAILURES_KEPT + 50)]
    payload = graph.text(JEANNE, "Jeanne", "bonjour")
    payload["entry"][0]["changes"][0]["value"].update(statuses=statuses, messages=[])
    assert (await meta.deliver(payload)).status_code == 200
    assert len(events(store)) == EARLY_FAILURES_KEPT + 50
    assert len(whatsapp._early_failures) == EARLY_FAILURES_KEPT


# -- both webhooks: bodies that cannot be read within limits -------------------------------


def _meta_body(graph: FakeGraphAPI, number: bytes) -> bytes:
    """A signed location whose latitude is written ``number``."""
    body = graph.encode(graph.location(JEANNE, "Jeanne", lat=45.8125, lon=0.5))
    assert b"45.8125" in body
    return body.replace(b"45.8125", number)


@pytest.mark.parametrize("make", [
    lambda g: b"[" * 100_000,
    lambda g: b'{"a":' * 50_000,
    lambda g: b'{"object":"whatsapp_business_account","entry":' + b"[" * 40 + b"]" * 40 + b"}",
    lambda g: _meta_body(g, b"NaN"),
    lambda g: _meta_body(g, b"-Infinity"),
    lambda g: _meta_body(g, b"1e400"),
    lambda g: g.encode(g.text(JEANNE, "Jeanne", "miel")).decode().encode("utf-16"),
], ids=["100 000 [", "50 000 objects", "40 levels", "NaN", "-Infinity", "1e400", "UTF-16"])
async def test_a_signed_body_that_cannot_be_read_within_limits_is_400_without_a_traceback(
        meta: Meta, graph: FakeGraphAPI, store: Store, caplog: pytest.LogCaptureFixture,
        make: Callable[[FakeGraphAPI], bytes]) -> None:
    """Deep nesting gave a 500 and a RecursionError; NaN and 1e400, which Python reads,
    were written back as JSON SQLite refuses (a 500 Meta would retry for days)."""
    body = make(graph)
    response = await meta.http.post("/whatsapp", content=body, headers={
        "Content-Type": "application/json",
        "X-Hub-Signature-256": graph.sign(body, SECRET)})
    await meta.channel.settle()
    assert response.status_code == 400
    assert events(store) == []
    assert graph.calls_to("send") == []
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("body", [
    b"[" * 100_000,
    b'{"update_id": 5, "message": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"update_id": 5, "message": {"location": {"latitude": NaN, "longitude": 0}}}',
    b'{"update_id": 5, "message": {"location": {"latitude": 1e400, "longitude": 0}}}',
    b'{"update_id": 100000000000000000000000000000, "message": {}}',
    b'{"update_id": -5, "message": {}}',
], ids=["100 000 [", "40 levels", "NaN", "1e400", "an id past 64 bits", "a negative id"])
async def test_a_telegram_body_that_cannot_be_read_within_limits_is_400_without_a_traceback(
        telegram_http: httpx.AsyncClient, store: Store, bot_api: FakeBotAPI,
        caplog: pytest.LogCaptureFixture, body: bytes) -> None:
    response = await telegram_http.post("/telegram", content=body, headers={
        SECRET_HEADER: "s3cret", "content-type": "application/json"})
    assert response.status_code == 400
    assert events(store) == []
    assert bot_api.calls_to("sendMessage") == []
    assert tracebacks(caplog) == []


async def test_a_batch_of_a_few_megabytes_from_meta_is_taken(
        meta: Meta, graph: FakeGraphAPI) -> None:
    """Meta batches up to 1 000 changes (documented: up to 3 MB); 1 MB was refused."""
    batch = graph.text(JEANNE, "Jeanne", "miel")
    template_news = {"field": "message_template_status_update", "value": {
        "event": "APPROVED", "message_template_id": 1_234_567_890_123_456,
        "message_template_name": "chatshop_notification",
        "message_template_language": "fr", "reason": "NONE"}}
    batch["entry"][0]["changes"] += [template_news] * 17_000
    assert 3_000_000 < len(graph.encode(batch)) < 4_000_000
    assert (await meta.deliver(batch)).status_code == 200
    assert len(graph.messages_to(JEANNE)) == 1


@pytest.mark.parametrize("length", ["9" * 5_000, "²"],
                         ids=["5 000 digits", "a superscript digit"])
@pytest.mark.parametrize("path", ["/whatsapp", "/telegram"])
async def test_a_declared_length_past_the_cap_or_not_a_number_is_413(
        meta: Meta, telegram_http: httpx.AsyncClient, store: Store, path: str,
        length: str) -> None:
    """``"²".isdigit()`` is true, yet ``int("²")`` raises, and so does ``int()`` of
    5 000 digits: both were 500s."""
    http = meta.http if path == "/whatsapp" else telegram_http
    response = await http.post(path, content=b"{}", headers={
        b"content-length": length.encode("latin-1"), SECRET_HEADER.encode(): b"s3cret"})
    assert response.status_code == 413
    assert events(store) == []


# -- Telegram: ids, places, and what polling brings -----------------------------------------


async def test_a_telegram_sender_or_place_past_the_limits_is_answered_without_a_traceback(
        telegram_http: httpx.AsyncClient, bot_api: FakeBotAPI, store: Store,
        caplog: pytest.LogCaptureFixture) -> None:
    """A sender id of 70 digits made an Inbound that failed validation; a latitude of
    400 digits a LocationIn that did: both tracebacks, after the update was taken."""
    jeanne = Phone(bot_api, store, bot_api.user(3000, "Jeanne"))
    hello = bot_api.send_text(jeanne.user, "/menu")  # she talked to the bot before
    await telegram_http.post("/telegram", json=hello, headers={SECRET_HEADER: "s3cret"})
    await jeanne.handled(hello)
    giant = bot_api.send_text(jeanne.user, "bonjour")
    giant["message"]["from"]["id"] = giant["message"]["chat"]["id"] = 10**70
    far = bot_api.send_location(jeanne.user, 45.8125, 0.5)
    far["message"]["location"]["latitude"] = 10**400
    for update in (giant, far):
        response = await telegram_http.post("/telegram", json=update,
                                            headers={SECRET_HEADER: "s3cret"})
        assert response.status_code == 200
        await jeanne.handled(update)
    assert [c.params.get("chat_id") for c in bot_api.calls_to("sendMessage")] == [3000] * 2
    assert UNSUPPORTED in jeanne.screen
    assert tracebacks(caplog) == []


class TelegramWriting(FakeRequest):
    """The fake Bot API's getUpdates answers, with the bytes ``marks`` stand for written
    as Telegram may write them (an escaped half of an emoji; a bare NaN)."""

    def __init__(self, api: FakeBotAPI, marks: dict[bytes, bytes]) -> None:
        super().__init__(api)
        self._marks = marks

    async def do_request(self, url: str, method: str,
                         request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        for mark, written in self._marks.items():
            body = body.replace(mark, written)
        return status, body


@pytest.fixture
async def polling(territory: Territory, services: Services, store: Store,
                  bot_api: FakeBotAPI) -> AsyncIterator[TelegramChannel]:
    conversation = Conversation(services, territory="Porte Océane du Limousin",
                                tz=ZoneInfo("Europe/Paris"))
    running = TelegramChannel(
        services, conversation, token=BOT_TOKEN, request=bot_api.request(),
        get_updates_request=TelegramWriting(bot_api, {
            "✂".encode(): b"\\ud83d", b"12.3456789": b"NaN"}))
    await running.start(polling=True)
    yield running
    await running.stop()


async def test_polled_updates_with_half_an_emoji_or_a_nan_are_kept_and_polling_goes_on(
        polling: TelegramChannel, bot_api: FakeBotAPI, store: Store,
        caplog: pytest.LogCaptureFixture) -> None:
    """Written down with ``ensure_ascii=False``, half an emoji could not be stored, and a
    NaN made JSON SQLite refuses: getUpdates failed on every try, python-telegram-bot
    fetched the same batch again, and no one's messages got through any more."""
    jeanne = Phone(bot_api, store, bot_api.user(3000, "Jeanne"))
    await jeanne.send("miel ✂")  # arrives as « miel \ud83d »
    assert any("Bienvenue" in (m.text or "") for m in bot_api.messages(jeanne.user))
    place = bot_api.send_location(jeanne.user, 12.3456789, 0.5)  # arrives with NaN
    await jeanne.send("/start")
    await jeanne.handled(place)
    assert "Bienvenue" in jeanne.screen
    rows = store.db.lookup_now("SELECT payload FROM inbound_events")  # type: ignore[attr-defined]
    assert all(row[0].isascii() for row in rows)
    assert tracebacks(caplog) == []


async def test_an_update_written_down_deeper_than_python_reads_does_not_stop_the_start(
        services: Services, store: Store, bot_api: FakeBotAPI) -> None:
    """SQLite takes JSON 1 990 levels deep; reading it back raised RecursionError, and
    the bot could not start again."""
    await written_down_before_a_stop(store, "telegram", [("7", "[" * 1_990 + "]" * 1_990)])
    running = make_channel(services, store, bot_api)
    await running.start(polling=False)
    await running.stop()
    assert await services.delivery.waiting("telegram") == []


# -- reading Meta's payloads never raises ---------------------------------------------------


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from([JEANNE, "whatsapp_business_account",
                                              "messages", "text", "interactive", "image"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["object", "entry", "changes", "field", "value", "contacts",
                         "wa_id", "profile", "name", "messages", "from", "id", "type",
                         "text", "body", "interactive", "button_reply", "list_reply",
                         "image", "caption", "location", "latitude", "longitude",
                         "statuses", "status", "recipient_id", "errors", "code", "title"]),
        inner, max_size=6),
    max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=_ANY_JSON, message=_ANY_JSON)
def test_no_payload_makes_reading_raise_and_every_sender_is_a_phone_number(
        entry: object, message: object) -> None:
    shaped = {"object": "whatsapp_business_account", "entry": [entry, {"changes": [
        {"field": "messages", "value": {"messages": [message], "statuses": [message],
                                        "contacts": [message]}}]}]}
    messages, statuses = read(shaped)
    for each in messages:
        assert is_wa_id(each.wa_id)
        assert isinstance(each.id, str)
        assert isinstance(each.name, str)
        json.loads(each.payload())
        event_of(each)
        attachment(each)
    for status in statuses:
        assert all(isinstance(code, int) for code in status.error_codes)
        assert status.recipient == "" or is_wa_id(status.recipient)
