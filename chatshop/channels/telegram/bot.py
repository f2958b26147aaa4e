"""chatshop on Telegram, with python-telegram-bot (its public API only): one path from
any update into the conversation core and back, and the platform the delivery runtime
sends notifications and digests through.

The flow of one update (polling or webhook):

1. it is written down (``inbound_events``) before anything else (polling: by the
   getUpdates request, ``transport.py``; webhook: by ``accept``, before the 200); an update
   already written down is a redelivery and changes nothing;
2. python-telegram-bot's ``Application`` hands it, an ``Update``, to ``_on_update``; it
   becomes an ``Inbound`` (``inbound.py``) and goes to ``Conversation.handle``;
3. notifications for other people go to the outbox (SQLite) first, then the replies are
   shown in the person's chat (``render.py``; what cannot go now goes to the outbox
   too), then the update is marked handled.

Updates of one person are handled one at a time and in order, different people's side
by side. An update written down but not handled when the process stopped is handled at
the next start; the callback's spinner is answered at once, whatever follows.

The outbox, the weekly digest and the scheduled work (sweep, clean-up) are the delivery
runtime's (``chatshop.delivery``), not python-telegram-bot's job queue: to it this
channel is a ``Platform`` (``name``, ``pieces``, ``send``) that sends one message to one
person and says what became of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    ContextTypes,
    ExtBot,
    TypeHandler,
)
from telegram.request import BaseRequest, HTTPXRequest

from chatshop.channels.ratelimit import retry_after_seconds
from chatshop.channels.telegram import inbound as incoming
from chatshop.channels.telegram import render
from chatshop.channels.telegram.inbound import (
    Pressed,
    person_of,
    to_inbound,
    update_id_of,
    written_form,
)
from chatshop.channels.telegram.menus import Menu, commands
from chatshop.channels.telegram.transport import ShortAnswersRequest, WritingDownRequest
from chatshop.conversation.merchant import changes_roles
from chatshop.conversation.messages import Inbound, PhotoIn, Reply
from chatshop.conversation.router import Conversation
from chatshop.conversation.turns import Turn, Turns
from chatshop.delivery.outcome import Gone, Later, Message, Outcome, Refused, Sent
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import Channel, DigestReport
from chatshop.errors import InvalidInput
from chatshop.services import Services
from chatshop.storage.leases import ChatLocks

log = logging.getLogger(__name__)

CHANNEL: Channel = "telegram"
KEEP_UPDATE_IDS = timedelta(hours=24)
CONNECT_FIRST_WAIT, CONNECT_LAST_WAIT = 1.0, 60.0  # seconds between tries at start
ALLOWED_UPDATES = ["message", "callback_query"]


class OnePersonAtATime(BaseUpdateProcessor):
    """Updates of different people side by side; one person's one after another, in the
    order they arrived (an asyncio lock per person is fair: first come, first served)."""

    # Generous: python-telegram-bot takes a slot before our per-person lock, so the
    # updates one person has queued hold slots while they wait for their turn.
    def __init__(self, max_concurrent_updates: int = 4_096,
                 across: ChatLocks | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: Turns[int] = Turns(across, CHANNEL)

    def turn(self, person: int) -> Turn[int]:
        """``person``'s turn, for an update handled outside python-telegram-bot's
        queue (one taken over)."""
        return self._turns.of(person)

    async def do_process_update(self, update: object,
                                coroutine: Awaitable[Any]) -> None:
        person = incoming.person(update) if isinstance(update, Update) else None
        if person is None:
            await coroutine
            return
        async with self._turns.of(person):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class TelegramChannel:
    """The bot on Telegram, around one python-telegram-bot ``Application``."""

    def __init__(self, services: Services, conversation: Conversation, *, token: str,
                 base_url: str = "https://api.telegram.org/bot",
                 base_file_url: str = "https://api.telegram.org/file/bot",
                 rate_limiter: BaseRateLimiter[Any] | None = None,
                 request: BaseRequest | None = None,
                 get_updates_request: BaseRequest | None = None,
                 digest_rate: int = 25, digest_send_empty: bool = False,
                 delivery: Delivery | None = None) -> None:
        """``delivery``: the process's delivery runtime (one of its own if None, paced
        at ``digest_rate``: tests and the ``digest send`` command)."""
        self.services = services
        self.conversation = conversation
        self.delivery = delivery or Delivery(
            services, conversation, digest_pace=lambda: SlidingWindow(digest_rate),
            digest_send_empty=digest_send_empty)
        self._one_at_a_time = OnePersonAtATime(across=services.delivery.chat_locks)
        builder = (
            ApplicationBuilder().token(token).base_url(base_url).base_file_url(base_file_url)
            .request(ShortAnswersRequest(request or HTTPXRequest(connection_pool_size=256)))
            .get_updates_request(WritingDownRequest(get_updates_request or HTTPXRequest(),
                                                    self._write_down))
            .concurrent_updates(self._one_at_a_time)
            .job_queue(None))  # the scheduled work is the delivery runtime's
        if rate_limiter is not None:
            builder = builder.rate_limiter(rate_limiter)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._written: set[int] = set()  # written down (polled or pushed), not yet handled
        self._menus: dict[int, Menu] = {}
        self._polling = False
        self.delivery.register(self)

    @property
    def bot(self) -> ExtBot[Any]:
        bot: ExtBot[Any] = self.application.bot
        return bot

    # -- the delivery runtime's view: a Platform ----------------------------------------

    @property
    def name(self) -> Channel:
        return CHANNEL

    @property
    def keep_events(self) -> timedelta:
        """Telegram redelivers an update for a day at most."""
        return KEEP_UPDATE_IDS

    def pieces(self, reply: Reply) -> list[Reply]:
        """``reply`` as the messages Telegram will show (``render.split``)."""
        return render.split(reply)

    async def taken(self, platform_id: str) -> None:
        """Nothing to do: Telegram sends no statuses about a message later."""

    async def send(self, message: Message) -> Outcome:
        """One piece to one person (``message.recipient``, their chat id; or the
        territory's channel, by ``@name`` or id), and what Telegram said of it."""
        recipient = message.recipient
        chat: int | str = recipient if recipient.startswith("@") else int(recipient)
        try:
            await render.send_piece(self.bot, chat, message.reply,
                                    media=self.services.delivery.media)
        except RetryAfter as busy:  # the whole bot is asked to wait
            return Later(str(busy), wait=retry_after_seconds(busy), everyone=True)
        except Forbidden as blocked:
            return Gone(str(blocked))
        except BadRequest as refusal:  # chat not found, a message Telegram never takes
            return Refused(str(refusal))
        except NetworkError as problem:  # network, time-out, Telegram's 5xx
            return Later(str(problem))
        except TelegramError as problem:  # a migrated chat, a revoked token...: kept
            return Refused(str(problem))  # with its reason, for a human to read
        return Sent()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, *, polling: bool = True, webhook_url: str | None = None,
                    webhook_secret: str | None = None,
                    until: asyncio.Event | None = None) -> bool:
        """Connect, set the menus, finish what a stop interrupted, then listen: long
        polling, or a webhook that ``accept`` feeds. With ``until``, Telegram out of
        reach at start is waited for (trying again, up to a minute apart) instead of
        ending the process, which may serve WhatsApp too; False if ``until`` was set
        first."""
        app = self.application
        if not await self._connect(until):
            return False
        await self._set_menus()
        await self.take_over()
        await app.start()
        if webhook_url is not None and await self.services.delivery.leads("telegram:webhook"):
            # One process of the database registers it (all serve it, with one secret).
            await app.bot.set_webhook(webhook_url, secret_token=webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
        elif polling:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES,
                                            drop_pending_updates=False)
            self._polling = True
        return True

    async def take_over(self) -> int:
        """Handle the updates written down and not handled by a process that is gone:
        this one before its last stop (at start), or another one on the same database,
        killed after Telegram had its 200 (every few seconds: ``Delivery.jobs``).
        Returns how many; one person's in order, through their turn."""
        taken = await self.services.delivery.take_over(CHANNEL)
        for pending in taken:
            data = _loaded(pending.payload)
            if update_id_of(data) is None:  # written down by an older version: unreadable
                log.error("update %s kept but unreadable: dropped", pending.event_id)
                await self.services.delivery.handled(CHANNEL, pending.event_id)
                continue
            assert isinstance(data, dict)
            update = incoming.read(data, self.application.bot)
            log.info("handling update %s received by a process that stopped",
                     update.update_id)
            if self.application.running:
                # Beside the updates arriving: python-telegram-bot's queue, each person's
                # in order (one by one here would hold the later ones for as long as
                # the earlier ones take to answer).
                self._written.add(update.update_id)
                await self.application.update_queue.put(update)
                continue
            # At start, before any new update: one after the other. (If the webhook
            # queued it too, while Telegram could not be reached, that copy finds it
            # handled.)
            self._written.discard(update.update_id)
            person = incoming.person(update)
            if person is None:
                await self._process(update)
                continue
            async with self._one_at_a_time.turn(person):
                await self._process(update)
        return len(taken)

    async def _connect(self, until: asyncio.Event | None) -> bool:
        wait = CONNECT_FIRST_WAIT
        while True:
            try:
                await self.application.initialize()  # asks Telegram who the bot is
                return True
            except NetworkError as problem:  # a wrong token is InvalidToken: not retried
                if until is None:
                    raise
                log.warning("Telegram cannot be reached (%s): trying again in %.0f s",
                            problem, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), wait)
            if until.is_set():
                return False
            wait = min(wait * 2, CONNECT_LAST_WAIT)

    async def stop(self) -> None:
        """Stop listening and finish the updates already fetched (the runtime stops
        first: nothing is being delivered through this channel any more)."""
        app = self.application
        if self._polling and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def accept(self, data: dict[str, Any], payload: str | None = None) -> bool:
        """The webhook's way in: Telegram's JSON of one update (whose id
        ``inbound.update_id_of`` read), and ``payload``, that JSON as it came. Written
        down before Telegram gets its 200, then queued for handling. False if it was a
        redelivery."""
        update_id = update_id_of(data)
        if update_id is None:
            raise ValueError("not a Telegram update")
        await self._write_down([(update_id, payload or written_form(data))])
        if update_id not in self._written:
            return False
        await self.application.update_queue.put(incoming.read(data, self.bot))
        return True

    # -- one update -------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update comes here, whatever its kind, already written down."""
        if update.update_id not in self._written:
            log.info("update %s was already received: ignored", update.update_id)
            await self._answer_callback(update)
            return
        self._written.discard(update.update_id)
        await self._process(update)

    async def _write_down(self, updates: Sequence[tuple[int, str]]) -> None:
        """Write a batch of updates down (each id with its JSON); those seen before
        (redeliveries) are not marked for handling."""
        new = await self.services.delivery.receive_many(
            CHANNEL, [(str(update_id), payload) for update_id, payload in updates])
        self._written.update(update_id for update_id, _payload in updates
                             if str(update_id) in new)

    async def _process(self, update: Update) -> None:
        # The spinner on the button stops at once, whatever follows: the answer goes
        # out while the conversation works.
        answered = asyncio.ensure_future(self._answer_callback(update)) \
            if update.callback_query is not None else None
        try:
            await self._converse(update)
        except Exception:  # a bug of ours: logged; the update must not come back forever
            log.exception("update %s could not be handled", update.update_id)
        finally:
            if answered is not None:
                await answered
            await self.services.delivery.handled(CHANNEL, str(update.update_id))

    async def _converse(self, update: Update) -> None:
        chat_id = incoming.chat_id(update)
        try:
            inbound = await to_inbound(update, self.bot)
        except NetworkError as problem:  # a file could not be fetched from Telegram
            log.warning("update %s: file not fetched (%s)", update.update_id, problem)
            if chat_id is not None:
                await self._show(chat_id, [self.conversation.file_lost()], edit=None)
            return
        if inbound is None or chat_id is None:
            return
        if isinstance(inbound.event, PhotoIn):
            try:
                inbound = await self._keep_photo(inbound, inbound.event)
            except InvalidInput as refusal:  # no picture we can read: said, nothing kept
                await self._show(chat_id, [self.conversation.refused(refusal)], edit=None)
                return
        replies = await self.conversation.handle(inbound)
        await self._queue([r for r in replies if r.to is not None])
        await self._show(chat_id, [r for r in replies if r.to is None],
                         edit=incoming.pressed(update))
        if changes_roles(inbound.event):
            await self._menu_for(int(inbound.user_id))

    async def _keep_photo(self, inbound: Inbound, photo: PhotoIn) -> Inbound:
        """A shopkeeper's photo is also kept by chatshop, so that WhatsApp can show it
        (a Telegram file id means nothing there). Customers' photos are not fetched."""
        session = await self.services.customers.session(CHANNEL, inbound.user_id)
        if session is None or not session.memberships:
            return inbound
        try:
            data = bytes(await (await self.bot.get_file(photo.file_ref)).download_as_bytearray())
        except TelegramError as problem:
            log.warning("photo %s not kept: %s", photo.file_ref, problem)
            return inbound
        kept = await self.services.delivery.keep_media(data, "image/jpeg")
        return inbound.model_copy(update={"event": photo.model_copy(update={"kept": kept})})

    async def _show(self, chat_id: int, replies: list[Reply], *,
                    edit: Pressed | None) -> None:
        """The replies in the person's own chat, piece by piece; what cannot go now
        (Telegram busy or unreachable) waits in the outbox, in order."""
        pieces = [piece for reply in replies for piece in render.split(reply)]
        for i, piece in enumerate(pieces):
            try:
                await render.send_piece(self.bot, chat_id, piece, edit if i == 0 else None,
                                        media=self.services.delivery.media)
            except Forbidden:
                log.info("chat %s blocked the bot while being answered", chat_id)
                await self.services.customers.blocked_the_bot(CHANNEL, str(chat_id))
                return
            except BadRequest as refusal:  # a bug of ours: say it, go on with the rest
                log.error("Telegram refused a reply to chat %s: %s", chat_id, refusal)
            except (NetworkError, RetryAfter) as problem:
                log.warning("could not answer chat %s now (%s): kept in the outbox",
                            chat_id, problem)
                # Already cut into pieces: one row each, as they are.
                await self.services.delivery.queue(
                    [(CHANNEL, str(chat_id), p.model_copy(update={"edit": False})
                      .model_dump_json(), p.regarding) for p in pieces[i:]])
                self.delivery.outbox.kick(CHANNEL)
                return

    async def _answer_callback(self, update: Update) -> None:
        query_id = incoming.callback_query_id(update)
        if query_id is None:
            return
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as problem:  # too old, already answered: nothing to do
            log.debug("callback query not answered: %s", problem)

    async def _queue(self, notifications: list[Reply]) -> None:
        """Notifications for other people, into the outbox (one row per message their
        platform will show, so that a retry never sends a piece twice)."""
        await self.delivery.outbox.queue(notifications)

    # -- the runtime's work, for tests and the ``digest send`` command ----------------

    async def deliver_outbox(self) -> int:
        """Send the Telegram notifications that are due; returns how many went."""
        return await self.delivery.outbox.deliver(CHANNEL)

    async def deliver_digests(self, progress: Callable[[DigestReport], None] | None = None
                              ) -> list[DigestReport]:
        """Deliver the unfinished digest runs of Telegram subscribers, at the digest's
        pace."""
        return await self.delivery.broadcast.deliver(self, progress)

    # -- menus ------------------------------------------------------------------------

    async def _set_menus(self) -> None:
        """Customers' commands for everyone; staff and operators get theirs."""
        await self.bot.set_my_commands(commands(Menu.CUSTOMER), scope=BotCommandScopeDefault())
        for chat_id, menu in (await self._roles()).items():
            await self._push_menu(chat_id, menu)

    async def _roles(self) -> dict[int, Menu]:
        roles: dict[int, Menu] = {}
        for person in await self.services.shops.people_who_run_shops(CHANNEL):
            if person.external_id.isdigit():
                roles[int(person.external_id)] = Menu.SHOPKEEPER
        for channel, user_id in self.services.customers.operators:
            if channel == CHANNEL and user_id.isdigit():
                roles[int(user_id)] = Menu.OPERATOR
        return roles

    async def _menu_for(self, chat_id: int) -> None:
        """Keep this person's menu current (they joined a shop, left one...)."""
        session = await self.services.customers.session(CHANNEL, str(chat_id))
        if session is None:
            return
        menu = (Menu.OPERATOR if self.services.customers.is_operator(CHANNEL, str(chat_id))
                else Menu.SHOPKEEPER if session.memberships else Menu.CUSTOMER)
        if self._menus.get(chat_id, Menu.CUSTOMER) is not menu:
            await self._push_menu(chat_id, menu)

    async def _push_menu(self, chat_id: int, menu: Menu) -> None:
        try:
            if menu is Menu.CUSTOMER:
                await self.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
            else:
                await self.bot.set_my_commands(commands(menu),
                                               scope=BotCommandScopeChat(chat_id))
        except TelegramError as problem:  # a chat that never started the bot
            log.info("menu of chat %s not set: %s", chat_id, problem)
            return
        self._menus[chat_id] = menu

    # -- errors ---------------------------------------------------------------------

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling %r", update, exc_info=context.error)


def _loaded(payload: str) -> object:
    """The JSON of an update as it was written down (None if it cannot be read)."""
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


__all__ = ["TelegramChannel", "person_of"]
