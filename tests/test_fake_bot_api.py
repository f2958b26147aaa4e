"""The fake Telegram Bot API, seen through a real python-telegram-bot ``Bot`` and ``Application``.

python-telegram-bot rewrites error descriptions (it drops "Bad Request: " and capitalises the
rest: "BUTTON_DATA_INVALID" becomes "Button_data_invalid"), so exact Telegram wording is checked
on what the fake recorded (``api.calls[-1].error``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import TINY_PNG, FakeBotAPI, FakeUser, ManualTime, parse_html


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def bot_on(api: FakeBotAPI) -> Bot:
    return Bot("123:ABC", request=api.request(), get_updates_request=api.request())


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with bot_on(api) as initialised:
        yield initialised


@pytest.fixture
def marie(api: FakeBotAPI) -> FakeUser:
    return api.user(1001, "Marie", username="marie_d", started=True)


# ------------------------------------------------------------------ sending and seeing


async def test_the_bot_knows_itself_through_get_me(bot: Bot) -> None:
    assert bot.id == 777000111
    assert bot.username == "chatshop_test_bot"
    assert bot.first_name == "Chatshop"


async def test_a_message_sent_is_seen_by_the_user(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    sent = await bot.send_message(
        marie.id, "Bonjour Marie", reply_markup=keyboard([("Voir", "p_12"), ("Menu", "menu")])
    )

    assert sent.text == "Bonjour Marie"
    assert sent.chat.id == marie.id
    assert sent.from_user is not None
    assert sent.from_user.id == bot.id
    seen = api.last(marie)
    assert seen.message_id == sent.message_id
    assert seen.text == "Bonjour Marie"
    assert seen.buttons == [[("Voir", "p_12"), ("Menu", "menu")]]
    assert not seen.edited
    assert [c.method for c in api.sent_to(marie)] == ["sendMessage"]
    assert api.sent_to(marie)[0].params["text"] == "Bonjour Marie"


async def test_a_benchmark_s_fake_keeps_only_the_last_screens_and_goes_on_with_them(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    api.keep_history = 2
    for n in range(6):
        await bot.send_message(marie.id, f"Écran {n}", reply_markup=keyboard([("Voir", "v")]))
    assert [m.text for m in api.messages(marie)] == ["Écran 4", "Écran 5"]
    assert [c.params["text"] for c in api.calls] == ["Écran 4", "Écran 5"]
    pressed = api.press_label(marie, "Voir")  # the last screen still works
    edited = await bot.edit_message_text("Écran 6", marie.id,
                                         pressed["callback_query"]["message"]["message_id"])
    assert isinstance(edited, Message)
    assert api.last(marie).text == "Écran 6"
    sent = await bot.send_message(marie.id, "Écran 7")
    assert sent.message_id == 7  # ids go on from where they were


async def test_a_message_can_be_sent_to_a_user_by_username(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    await bot.send_message("@marie_d", "Coucou")

    assert api.last(marie).text == "Coucou"


async def test_the_bot_cannot_write_first_to_someone_who_never_wrote_to_it(
    api: FakeBotAPI, bot: Bot
) -> None:
    paul = api.user(2002, "Paul")

    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(paul.id, "Promo !")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "Allô ?")

    api.send_text(paul, "/start")
    await bot.send_message(paul.id, "Bienvenue")
    assert api.last(paul).text == "Bienvenue"


async def test_4097_characters_are_refused_and_nothing_is_stored(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(marie.id, "x" * 4097)
    assert api.calls[-1].error == "Bad Request: message is too long"
    assert api.messages(marie) == []

    await bot.send_message(marie.id, "é" * 4096)
    assert len(api.last(marie).text or "") == 4096


async def test_empty_and_blank_texts_are_refused(bot: Bot, marie: FakeUser) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(marie.id, "")
    with pytest.raises(BadRequest, match="Text must be non-empty"):
        await bot.send_message(marie.id, "  \n ")


async def test_surrounding_whitespace_is_trimmed_like_telegram_does(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    sent = await bot.send_message(marie.id, "\n  Bonjour  \n")

    assert sent.text == "Bonjour"
    assert api.last(marie).text == "Bonjour"


async def test_65_bytes_of_callback_data_are_refused_but_64_bytes_with_accents_pass(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(marie.id, "Choix", reply_markup=keyboard([("A", "a" * 65)]))
    assert api.calls[-1].error == "Bad Request: BUTTON_DATA_INVALID"
    # 33 characters, but 66 bytes in UTF-8: Telegram counts bytes.
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(marie.id, "Choix", reply_markup=keyboard([("A", "é" * 33)]))
    assert api.messages(marie) == []

    await bot.send_message(marie.id, "Choix", reply_markup=keyboard([("A", "é" * 32)]))
    assert api.last(marie).buttons == [[("A", "é" * 32)]]


async def test_inline_buttons_need_a_text_and_exactly_one_action(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    no_action = {"inline_keyboard": [[{"text": "Rien"}]]}
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(marie.id, "Choix", reply_markup=no_action)  # type: ignore[arg-type]
    assert api.calls[-1].error == (
        "Bad Request: can't parse inline keyboard button:"
        " Text buttons are unallowed in the inline keyboard"
    )
    blank = {"inline_keyboard": [[{"text": " ", "callback_data": "x"}]]}
    with pytest.raises(BadRequest, match=r"(?i)button_text_invalid"):
        await bot.send_message(marie.id, "Choix", reply_markup=blank)  # type: ignore[arg-type]
    both = {"inline_keyboard": [[{"text": "Deux", "callback_data": "x", "url": "https://a.fr"}]]}
    with pytest.raises(BadRequest, match="exactly one action"):
        await bot.send_message(marie.id, "Choix", reply_markup=both)  # type: ignore[arg-type]
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("Site", url="ftp://boutique.fr")]])
    with pytest.raises(BadRequest, match=r"(?i)unsupported url protocol"):
        await bot.send_message(marie.id, "Choix", reply_markup=bad_url)
    assert api.messages(marie) == []

    link = InlineKeyboardMarkup([[InlineKeyboardButton("Site", url="https://boutique.fr/p/12")]])
    await bot.send_message(marie.id, "Choix", reply_markup=link)
    assert api.last(marie).buttons == [[("Site", "https://boutique.fr/p/12")]]


async def test_html_is_counted_after_parsing(api: FakeBotAPI, bot: Bot, marie: FakeUser) -> None:
    # 4103 characters typed, 4096 shown: accepted.
    await bot.send_message(marie.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert api.last(marie).text == "x" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(marie.id, "<i>" + "x" * 4097 + "</i>", parse_mode="HTML")

    sent = await bot.send_message(
        marie.id, "<b>Crème</b> &lt;3 &amp; <a href='https://boutique.fr'>nous</a>", "HTML"
    )
    assert sent.text == "Crème <3 & nous"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 5),
        ("text_link", 11, 4),
    ]
    assert sent.entities[1].url == "https://boutique.fr"


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<b>gras", 'Can\'t find end tag corresponding to start tag "b"'),
        ("Ligne<br>suivante", 'Unsupported start tag "br" at byte offset 5'),
        ("Prix < 5 €", 'Unsupported start tag "" at byte offset 5'),
        (
            "<b><i>test</b></i>",
            'Unmatched end tag at byte offset 10, expected "</i>", found "</b>"',
        ),
        ("texte</b>", "Unexpected end tag at byte offset 5"),
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    ],
)
async def test_html_telegram_cannot_parse_is_refused_with_its_reason(
    api: FakeBotAPI, bot: Bot, marie: FakeUser, html: str, description: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(marie.id, html, parse_mode="HTML")

    assert api.calls[-1].error == f"Bad Request: can't parse entities: {description}"
    assert api.messages(marie) == []


def test_html_parsing_keeps_utf16_offsets_like_telegram() -> None:
    text, entities = parse_html("🧀 <b>Comté</b> <tg-spoiler>secret</tg-spoiler>")

    assert text == "🧀 Comté secret"
    assert entities == [
        {"offset": 3, "length": 5, "type": "bold"},  # the emoji is 2 UTF-16 units
        {"offset": 9, "length": 6, "type": "spoiler"},
    ]


async def test_a_caption_over_1024_characters_is_refused(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(marie.id, TINY_PNG, caption="c" * 1025)
    assert api.messages(marie) == []

    await bot.send_photo(marie.id, TINY_PNG, caption="<b>" + "c" * 1024 + "</b>", parse_mode="HTML")
    assert api.last(marie).text == "c" * 1024


async def test_a_reply_keyboard_stays_under_the_input_field_until_removed(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    share = ReplyKeyboardMarkup([[KeyboardButton("Partager mon numéro", request_contact=True)]])
    await bot.send_message(marie.id, "Votre numéro ?", reply_markup=share)
    assert api.reply_keyboard(marie) == [["Partager mon numéro"]]

    api.send_contact(marie, "+33612345678")
    updates = await bot.get_updates()
    contact = updates[-1].message.contact if updates[-1].message else None
    assert contact is not None
    assert (contact.phone_number, contact.user_id) == ("+33612345678", marie.id)


# ------------------------------------------------------------------ editing and buttons


async def test_editing_follows_telegram_rules(api: FakeBotAPI, bot: Bot, marie: FakeUser) -> None:
    markup = keyboard([("Ajouter", "add")])
    sent = await bot.send_message(marie.id, "Panier : 1 article", reply_markup=markup)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Panier : 1 article", marie.id, sent.message_id, reply_markup=markup
        )
    assert api.calls[-1].error == (
        "Bad Request: message is not modified: specified new message content and reply markup"
        " are exactly the same as a current content and reply markup of the message"
    )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("Panier", marie.id, 999)

    # Same text, other buttons: that is a modification.
    await bot.edit_message_reply_markup(
        marie.id, sent.message_id, reply_markup=keyboard([("Vider", "clear")])
    )
    assert api.last(marie).buttons == [[("Vider", "clear")]]
    # An edit without reply_markup takes the keyboard away, as on Telegram.
    await bot.edit_message_text("Panier : 2 articles", marie.id, sent.message_id)
    seen = api.last(marie)
    assert (seen.text, seen.buttons, seen.edited) == ("Panier : 2 articles", [], True)
    assert len(api.messages(marie)) == 1

    photo = await bot.send_photo(marie.id, TINY_PNG, caption="Comté")
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("Comté 18 mois", marie.id, photo.message_id)
    await bot.edit_message_caption(marie.id, photo.message_id, caption="Comté 18 mois")
    assert api.last(marie).text == "Comté 18 mois"


async def test_a_deleted_message_is_no_longer_seen(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    sent = await bot.send_message(marie.id, "Éphémère")

    assert await bot.delete_message(marie.id, sent.message_id)
    assert api.messages(marie) == []
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(marie.id, sent.message_id)


async def test_a_button_press_is_answered_once(api: FakeBotAPI, bot: Bot, marie: FakeUser) -> None:
    sent = await bot.send_message(marie.id, "Réserver ?", reply_markup=keyboard([("Oui", "yes")]))

    update = api.press(marie, sent.message_id, "yes")
    query = Update.de_json(update, bot).callback_query
    assert query is not None
    assert query.data == "yes"
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="C'est noté")
    assert [(a.text, a.show_alert) for a in api.callback_answers] == [("C'est noté", False)]

    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("123456")
    with pytest.raises(ValueError, match="no button"):
        api.press(marie, sent.message_id, "no")


# ------------------------------------------------------------------ rate limits


async def test_a_31st_message_in_one_second_gets_retry_after_and_is_not_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, no warning
    clock = ManualTime()
    api = FakeBotAPI(clock=clock)
    people = [api.user(3000 + n, started=True) for n in range(31)]
    async with bot_on(api) as bot:
        for person in people[:30]:
            await bot.send_message(person.id, "Votre commande est prête")
        clock.advance(0.5)
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(people[30].id, "Votre commande est prête")
        assert refused.value.retry_after == timedelta(seconds=1)
        assert api.calls[-1].error == "Too Many Requests: retry after 1"
        assert api.messages(people[30]) == []
        assert len(api.rejections) == 1

        clock.advance(0.5)  # the first 30 are now a second old
        await bot.send_message(people[30].id, "Votre commande est prête")
    assert api.last(people[30]).text == "Votre commande est prête"
    assert len(api.rejections) == 1


async def test_an_optional_per_chat_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = ManualTime()
    api = FakeBotAPI(clock=clock, per_chat_per_second=1)
    marie, paul = api.user(1, started=True), api.user(2, "Paul", started=True)
    async with bot_on(api) as bot:
        await bot.send_message(marie.id, "Un")
        with pytest.raises(RetryAfter):
            await bot.send_message(marie.id, "Deux")
        await bot.send_message(paul.id, "Un")
        clock.advance(1)
        await bot.send_message(marie.id, "Deux")
    assert [m.text for m in api.messages(marie)] == ["Un", "Deux"]


# ------------------------------------------------------------------ faults


async def test_a_user_who_blocked_the_bot_gives_forbidden(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    api.block(marie)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(marie.id, "Votre réservation expire bientôt")
    assert api.messages(marie) == []
    assert api.sent_to(marie) == []
    assert len(api.sent_to(marie, include_failed=True)) == 1
    (update,) = api.pending_updates()
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"


async def test_a_server_error_surfaces_as_network_error_then_the_next_call_succeeds(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    api.fail_next(500)
    with pytest.raises(NetworkError, match="Internal Server Error") as failed:
        await bot.send_message(marie.id, "Un")
    assert type(failed.value) is NetworkError  # not BadRequest, not TimedOut
    assert api.messages(marie) == []

    api.fail_next(502, method="sendMessage")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(marie.id, "Un")

    await bot.send_message(marie.id, "Un")
    assert [m.text for m in api.messages(marie)] == ["Un"]


async def test_an_injected_429_raises_retry_after(
    api: FakeBotAPI, bot: Bot, marie: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next(429, retry_after=3, times=2)

    for _ in range(2):
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(marie.id, "Un")
        assert refused.value.retry_after == timedelta(seconds=3)
    await bot.send_message(marie.id, "Un")
    assert len(api.messages(marie)) == 1
    assert api.rejections == []  # only the rate limiter's own refusals count there


@pytest.mark.parametrize(("applied", "delivered"), [(False, []), (True, ["Un"])],
                         ids=["before delivery", "after delivery"])
async def test_a_timeout_raises_timed_out_and_the_message_is_as_telegram_left_it(
    api: FakeBotAPI, bot: Bot, marie: FakeUser, applied: bool, delivered: list[str]
) -> None:
    api.timeout_next(applied=applied)

    with pytest.raises(TimedOut):
        await bot.send_message(marie.id, "Un")
    assert [m.text for m in api.messages(marie)] == delivered
    assert api.calls[-1].outcome == "timeout"


async def test_an_outage_fails_every_call_until_the_api_comes_back(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    api.go_down()
    with pytest.raises(NetworkError):
        await bot.send_message(marie.id, "Un")
    with pytest.raises(NetworkError):
        await bot.get_updates()
    assert api.messages(marie) == []

    api.come_back()
    await bot.send_message(marie.id, "Un")
    assert len(api.messages(marie)) == 1


async def test_an_outage_breaks_a_long_poll_in_progress(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await api.wait_for(lambda: api.calls_to("getUpdates"))

    api.go_down()
    with pytest.raises(NetworkError):
        await asyncio.wait_for(poll, 1)


async def test_an_unknown_method_is_not_found(api: FakeBotAPI, bot: Bot, marie: FakeUser) -> None:
    # Telegram answers 404, which python-telegram-bot reports as InvalidToken (and, for
    # do_api_request on an initialised bot, as EndPointNotFound).
    with pytest.raises(EndPointNotFound, match="sendTelepathy"):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": marie.id})
    assert api.calls[-1].error == "Not Found"
    with pytest.raises(InvalidToken, match="does not implement sendPoll"):
        await bot.send_poll(marie.id, "Fromage ?", ["Comté", "Brie"])


async def test_another_token_is_unauthorised() -> None:
    api = FakeBotAPI(token="123:ABC")

    with pytest.raises(InvalidToken, match="rejected by the server"):
        await Bot("999:XYZ", request=api.request(), get_updates_request=api.request()).initialize()


# ------------------------------------------------------------------ getUpdates


async def test_get_updates_confirms_with_the_offset_like_telegram(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    for text in ("un", "deux", "trois"):
        api.send_text(marie, text)

    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["un", "deux"]
    # Without an offset nothing is confirmed.
    assert len(await bot.get_updates()) == 3

    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["trois"]
    assert [u["message"]["text"] for u in api.pending_updates()] == ["trois"]
    # Confirmed updates are gone for good, even with a lower offset.
    again = await bot.get_updates(offset=first[0].update_id)
    assert [u.message.text for u in again if u.message] == ["trois"]


async def test_a_long_poll_wakes_up_when_an_update_arrives(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await api.wait_for(lambda: api.calls_to("getUpdates"))
    assert not poll.done()

    api.send_text(marie, "/start p_12")
    (update,) = await asyncio.wait_for(poll, 1)
    assert update.message is not None
    assert update.message.text == "/start p_12"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")


async def test_a_long_poll_ends_empty_after_its_timeout_and_can_be_cancelled(
    api: FakeBotAPI, bot: Bot
) -> None:
    assert await bot.get_updates(timeout=timedelta(milliseconds=50)) == ()

    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.calls_to("getUpdates")[-1].outcome == "pending")
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    assert api.calls_to("getUpdates")[-1].outcome == "cancelled"


async def test_webhooks_are_kept_and_forbid_polling(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://boutique.fr/tg")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://boutique.fr/tg", secret_token="a+b/c=")

    await bot.set_webhook("https://boutique.fr/tg", secret_token="s3cret_-X")
    assert (api.webhook.url, api.webhook.secret_token) == ("https://boutique.fr/tg", "s3cret_-X")
    update = api.send_text(marie, "bonjour")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://boutique.fr/tg", 1)
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates()
    # The update, as Telegram would POST it to the webhook.
    parsed = Update.de_json(update, bot)
    assert parsed.message is not None
    assert parsed.message.text == "bonjour"

    await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_commands_are_kept_per_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Commencer"), BotCommand("aide", "Aide")])
    private = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(
        [BotCommand("panier", "Mon panier")], scope=private, language_code="fr"
    )

    assert [c.command for c in await bot.get_my_commands()] == ["start", "aide"]
    assert api.commands() == [("start", "Commencer"), ("aide", "Aide")]
    assert api.commands({"type": "all_private_chats"}, "fr") == [("panier", "Mon panier")]
    assert await bot.get_my_commands(scope=private) == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Panier!", "Mon panier")])

    await bot.delete_my_commands()
    assert api.commands() == []


# ------------------------------------------------------------------ files


async def test_photos_and_documents_can_be_downloaded_and_sent_again(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    api.send_photo(marie, TINY_PNG, caption="Mon fromage")
    api.send_document(marie, b"nom;prix\nComte;12,50\n", "produits.csv")
    photo_update, document_update = await bot.get_updates()
    assert photo_update.message is not None
    assert document_update.message is not None

    sizes = photo_update.message.photo
    assert len(sizes) == 3
    assert sizes[-1].width > sizes[0].width
    assert photo_update.message.caption == "Mon fromage"
    photo_file = await bot.get_file(sizes[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == TINY_PNG
    document = document_update.message.document
    assert document is not None
    assert (document.file_name, document.mime_type) == ("produits.csv", "text/csv")
    csv_file = await bot.get_file(document.file_id)
    assert bytes(await csv_file.download_as_bytearray()) == b"nom;prix\nComte;12,50\n"

    await bot.send_photo(marie.id, sizes[-1].file_id, caption="Ajouté au catalogue")
    assert api.last(marie).photo == sizes[-1].file_id
    await bot.send_document(marie.id, b"id;nom\n12;Comte\n", filename="export.csv")
    sent = api.last(marie).document
    assert sent is not None
    assert (sent.file_name, sent.data) == ("export.csv", b"id;nom\n12;Comte\n")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(marie.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


# ------------------------------------------------------------------ a real Application


async def test_a_polling_application_receives_updates_and_its_replies_are_seen(
    api: FakeBotAPI, marie: FakeUser
) -> None:
    app = (
        ApplicationBuilder()
        .token("123:ABC")
        .request(api.request())
        .get_updates_request(api.request())
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Bienvenue, produit {context.args[0] if context.args else '?'}",
            reply_markup=keyboard([("Réserver", "book:12")]),
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Reçu : {update.effective_message.text}")

    async def book(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Réservé")
        await query.edit_message_text("Produit 12 réservé jusqu'à 18 h")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(book, pattern="^book:"))

    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)

        api.send_text(marie, "/start p_12")
        api.send_text(marie, "du comté")
        await api.wait_for(lambda: len(api.messages(marie)) == 2)
        welcome = api.messages(marie)[0]
        api.press(marie, welcome.message_id, "book:12")
        await api.wait_for(lambda: api.messages(marie)[0].edited)

        await app.updater.stop()
        await app.stop()

    texts = [m.text for m in api.messages(marie)]
    assert texts == ["Produit 12 réservé jusqu'à 18 h", "Reçu : du comté"]
    assert api.messages(marie)[0].buttons == []
    assert [a.text for a in api.callback_answers] == ["Réservé"]
    assert api.pending_updates() == []  # every update was confirmed on the way out
    # Polling starts by removing any webhook, once, before its first getUpdates.
    methods = [c.method for c in api.calls if c.ok]
    assert methods.count("deleteWebhook") == 1
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    assert api.webhook.url == ""


# ------------------------------------------------------------------ helpers of the fake


async def test_a_shop_address_and_a_customer_location_travel_as_venue_and_location(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    await bot.send_venue(
        marie.id, latitude=45.764, longitude=4.8357, title="Fromagerie", address="1 rue Mercière"
    )
    venue = api.last(marie).venue
    assert venue is not None
    assert (venue["title"], venue["location"]["latitude"]) == ("Fromagerie", 45.764)
    with pytest.raises(BadRequest, match="Wrong latitude"):
        await bot.send_location(marie.id, latitude=91, longitude=0)

    api.send_location(marie, 45.75, 4.85)
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.location is not None
    assert update.message.location.latitude == 45.75


async def test_buttons_can_be_pressed_by_their_label(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    await bot.send_message(
        marie.id, "Quantité ?", reply_markup=keyboard([("1", "q:1"), ("2", "q:2")])
    )

    update = api.press_label(marie, "2")

    assert update["callback_query"]["data"] == "q:2"
    assert api.last(marie).labels == ["1", "2"]
    with pytest.raises(KeyError, match="no callback button '3'"):
        api.press_label(marie, "3")


async def test_wait_for_gives_up_with_the_last_calls(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(
        AssertionError, match=r"condition not met within 0.05 s \(last calls: getMe"
    ):
        await api.wait_for(lambda: api.last(1), timeout=0.05)


async def test_calls_to_a_username_are_counted_for_its_chat(
    api: FakeBotAPI, bot: Bot, marie: FakeUser
) -> None:
    await bot.send_message("@marie_d", "Coucou")

    assert [c.params["chat_id"] for c in api.sent_to(marie)] == ["@marie_d"]
