"""chatshop on Telegram, with python-telegram-bot: one path from any update into the
conversation core and back, and the outbox that delivers notifications to other people.

The flow of one update (polling or webhook):

1. it is written down (``inbound_events``) before anything else; an update already
   written down is a redelivery and changes nothing;
2. it becomes an ``Inbound`` (``inbound.py``) and goes to ``Conversation.handle``;
3. notifications for other people go to the outbox (SQLite) first, then the replies are
   shown in the person's chat (``render.py``), then the update is marked handled;
4. the outbox is delivered in the background, rate-limited, retried until Telegram takes
   each message; a person who blocked the bot is marked unreachable and the shop told.

Updates of one person are handled one at a time and in order, different people's side
by side. An update written down but not handled when the process stopped is handled at
the next start. Scheduled jobs (python-telegram-bot's job queue) run the reservation
sweep and reminders, the outbox, and forget handled updates after 24 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import BotCommandScopeChat, BotCommandScopeDefault
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
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

from chatshop.channels.ratelimit import SlidingWindow, retry_after_seconds
from chatshop.channels.telegram import render
from chatshop.channels.telegram.inbound import Pressed, TelegramUpdate, person_of, to_inbound
from chatshop.channels.telegram.menus import Menu, commands
from chatshop.conversation.digest import Outcome, deliver_run
from chatshop.conversation.messages import Command, Inbound, PhotoIn, Reply
from chatshop.conversation.router import Conversation
from chatshop.conversation.turns import Turns
from chatshop.domain.models import Channel, Digest, DigestReport, OutgoingMessage
from chatshop.services import Services

log = logging.getLogger(__name__)

CHANNEL: Channel = "telegram"
KEEP_UPDATE_IDS = timedelta(hours=24)
TICK_EVERY = 60.0  # seconds between reservation sweeps (expiry, reminders)
OUTBOX_EVERY = 2.0  # seconds between outbox rounds when nothing wakes it earlier
DIGEST_EVERY = 30.0  # seconds between looks at the digest's schedule and runs
CLEAN_UP_EVERY = 3_600.0
CONNECT_FIRST_WAIT, CONNECT_LAST_WAIT = 1.0, 60.0  # seconds between tries at start
ALLOWED_UPDATES = ["message", "callback_query"]


class OnePersonAtATime(BaseUpdateProcessor):
    """Updates of different people side by side; one person's one after another, in the
    order they arrived (an asyncio lock per person is fair: first come, first served)."""

    # Generous: python-telegram-bot takes a slot before our per-person lock, so the
    # updates one person has queued hold slots while they wait for their turn.
    def __init__(self, max_concurrent_updates: int = 4_096) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: Turns[int] = Turns()

    async def do_process_update(self, update: object,
                                coroutine: Awaitable[Any]) -> None:
        person = update.person if isinstance(update, TelegramUpdate) else None
        if person is None:
            await coroutine
            return
        async with self._turns.of(person):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class WritingDownBot(ExtBot[None]):
    """python-telegram-bot's bot, whose ``getUpdates`` writes every batch of updates down
    (one transaction) as soon as Telegram returns it, and returns them as
    ``TelegramUpdate``s (Telegram's JSON, read by ``inbound.py``). The Updater confirms a
    batch to Telegram by asking for the next one, which it does only after this returns:
    an update Telegram forgets is always in our database first."""

    def __init__(self, token: str, *,
                 fetched: Callable[[Sequence[TelegramUpdate]], Awaitable[None]],
                 **options: Any) -> None:
        super().__init__(token, **options)
        with self._unfrozen():
            self._fetched = fetched

    async def get_updates(  # type: ignore[override]  # TelegramUpdates, not Updates
            self, offset: int | None = None, limit: int | None = None,
            timeout: float | timedelta | None = None,  # noqa: ASYNC109  # the Bot API's
            allowed_updates: Sequence[str] | None = None,
            *, read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
            connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE,
            api_kwargs: dict[str, Any] | None = None) -> tuple[TelegramUpdate, ...]:
        # As python-telegram-bot's own: a long poll may take the request's read timeout
        # plus the poll's.
        waited = self._request[0].read_timeout if isinstance(read_timeout, DefaultValue) \
            else read_timeout
        result = await self._post(
            "getUpdates",
            {"timeout": timeout, "offset": offset, "limit": limit,
             "allowed_updates": allowed_updates},
            read_timeout=(waited or 0) + (timeout.total_seconds()
                                          if isinstance(timeout, timedelta) else timeout or 0),
            write_timeout=write_timeout,
            connect_timeout=connect_timeout, pool_timeout=pool_timeout,
            api_kwargs=api_kwargs)
        updates = []
        for data in result if isinstance(result, list) else ():
            update = TelegramUpdate.of(data)
            if update is None:  # never seen from Telegram; kept out rather than crash
                log.error("not an update, ignored: %.200r", data)
            else:
                updates.append(update)
        if updates:
            await self._fetched(updates)
        return tuple(updates)


class TelegramChannel:
    """The bot on Telegram, around one python-telegram-bot ``Application``."""

    def __init__(self, services: Services, conversation: Conversation, *, token: str,
                 base_url: str = "https://api.telegram.org/bot",
                 base_file_url: str = "https://api.telegram.org/file/bot",
                 rate_limiter: BaseRateLimiter[Any] | None = None,
                 request: BaseRequest | None = None,
                 get_updates_request: BaseRequest | None = None,
                 jobs: bool = True, digest_rate: int = 25,
                 digest_send_empty: bool = False) -> None:
        self.services = services
        self.conversation = conversation
        bot = WritingDownBot(
            token, fetched=self._write_down, base_url=base_url, base_file_url=base_file_url,
            request=request or HTTPXRequest(connection_pool_size=256),
            get_updates_request=get_updates_request or HTTPXRequest(),
            rate_limiter=rate_limiter)
        builder = ApplicationBuilder().bot(bot).concurrent_updates(OnePersonAtATime())
        self._jobs = jobs
        if not jobs:
            builder = builder.job_queue(None)  # type: ignore[arg-type]  # documented
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.application.add_handler(TypeHandler(TelegramUpdate, self._on_update))
        self.application.add_error_handler(self._on_error)
        self._written: set[int] = set()  # written down by the webhook, not yet handled
        self._menus: dict[int, Menu] = {}
        self._outbox_lock = asyncio.Lock()
        self._digest_lock = asyncio.Lock()
        self._digest_pace = SlidingWindow(digest_rate)
        self._digest_send_empty = digest_send_empty
        self._stopping = asyncio.Event()
        self._outbox_again = False
        self._polling = False

    @property
    def bot(self) -> Any:
        return self.application.bot

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
        for pending in await self.services.delivery.waiting(CHANNEL):
            update = TelegramUpdate.of(_loaded(pending.payload), pending.payload)
            if update is None:  # written down by an older version: cannot be read
                log.error("update %s kept but unreadable: dropped", pending.event_id)
                await self.services.delivery.handled(CHANNEL, pending.event_id)
                continue
            log.info("handling update %s received before the last stop", update.update_id)
            # (If the webhook queued it too, while Telegram could not be reached, that
            # copy finds it handled.)
            self._written.discard(update.update_id)
            await self._process(update)
        await app.start()
        if webhook_url is not None:
            await app.bot.set_webhook(webhook_url, secret_token=webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
        elif polling:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES,
                                            drop_pending_updates=False)
            self._polling = True
        if self._jobs and app.job_queue is not None:
            app.job_queue.run_repeating(self._tick_job, interval=TICK_EVERY, first=0)
            app.job_queue.run_repeating(self._outbox_job, interval=OUTBOX_EVERY, first=0)
            app.job_queue.run_repeating(self._clean_up_job, interval=CLEAN_UP_EVERY,
                                        first=CLEAN_UP_EVERY)
            app.job_queue.run_repeating(self._digest_job, interval=DIGEST_EVERY, first=5)
        return True

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
        """Stop listening, finish the updates already fetched, stop the jobs (a digest
        being sent stops after the message in flight, and goes on at the next start)."""
        self._stopping.set()
        app = self.application
        if self._polling and app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def accept(self, update: TelegramUpdate) -> bool:
        """The webhook's way in: write the update down before Telegram gets its 200,
        then queue it for handling. False if it was a redelivery."""
        await self._write_down([update])
        if update.update_id not in self._written:
            return False
        await self.application.update_queue.put(update)
        return True

    # -- one update -------------------------------------------------------------------

    async def _on_update(self, update: TelegramUpdate,
                         _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update comes here, whatever its kind, already written down."""
        if update.update_id not in self._written:
            log.info("update %s was already received: ignored", update.update_id)
            await self._answer_callback(update)
            return
        self._written.discard(update.update_id)
        await self._process(update)

    async def _write_down(self, updates: Sequence[TelegramUpdate]) -> None:
        """Write a batch of updates down (each with its JSON); those seen before
        (redeliveries) are not marked for handling."""
        new = await self.services.delivery.receive_many(
            CHANNEL, [(str(update.update_id), update.payload) for update in updates])
        self._written.update(update.update_id for update in updates
                             if str(update.update_id) in new)

    async def _process(self, update: TelegramUpdate) -> None:
        # The spinner on the button stops at once, whatever follows: the answer goes
        # out while the conversation works.
        answered = asyncio.ensure_future(self._answer_callback(update)) \
            if update.callback_query_id is not None else None
        try:
            await self._converse(update)
        except Exception:  # a bug of ours: logged; the update must not come back forever
            log.exception("update %s could not be handled", update.update_id)
        finally:
            if answered is not None:
                await answered
            await self.services.delivery.handled(CHANNEL, str(update.update_id))

    async def _converse(self, update: TelegramUpdate) -> None:
        chat_id = update.chat_id
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
            inbound = await self._keep_photo(inbound, inbound.event)
        replies = await self.conversation.handle(inbound)
        await self._queue([r for r in replies if r.to is not None])
        await self._show(chat_id, [r for r in replies if r.to is None], edit=update.pressed)
        if _may_change_roles(inbound.event):
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
                await self.services.delivery.queue(
                    [(CHANNEL, str(chat_id), p.model_copy(update={"edit": False})
                      .model_dump_json(), p.regarding) for p in pieces[i:]])
                self.kick_outbox()
                return

    async def _answer_callback(self, update: TelegramUpdate) -> None:
        if update.callback_query_id is None:
            return
        try:
            await render.call(self.bot, "answerCallbackQuery",
                              {"callback_query_id": update.callback_query_id})
        except TelegramError as problem:  # too old, already answered: nothing to do
            log.debug("callback query not answered: %s", problem)

    async def _queue(self, notifications: list[Reply]) -> None:
        """Notifications for other people, into the outbox: one row per message Telegram
        will show, so that a retry never sends a piece twice."""
        rows: list[tuple[Channel, str, str, int | None]] = []
        for note in notifications:
            if note.to is None:
                continue
            pieces = render.split(note) if note.to.channel == CHANNEL else [note]
            rows += [(note.to.channel, note.to.user_id, p.model_dump_json(), p.regarding)
                     for p in pieces]
        if rows:
            await self.services.delivery.queue(rows)
            self.kick_outbox()

    # -- the outbox -------------------------------------------------------------------

    def kick_outbox(self) -> None:
        """Deliver soon (after this update), without waiting for the next round."""
        if self._outbox_lock.locked():
            self._outbox_again = True
        elif self.application.running:
            self.application.create_task(self.deliver_outbox())

    async def deliver_outbox(self) -> int:
        """Send what is due, in the order it was queued (one delivery at a time: a call
        while another runs waits for it); returns how many went."""
        sent = 0
        async with self._outbox_lock:
            self._outbox_again = True
            while self._outbox_again:
                self._outbox_again = False
                done, delivered = await self._deliver_round()
                sent += delivered
                # A person's next message becomes due once the one before it is done.
                self._outbox_again = self._outbox_again or done > 0
        return sent

    async def _deliver_round(self) -> tuple[int, int]:
        """One pass over the due messages (the oldest waiting one of each person: a
        person's messages go in the order they were queued). Returns how many are done
        with (delivered, refused, or their recipient gone) and how many delivered."""
        delivery = self.services.delivery
        sent = done = 0
        for message in await delivery.due(CHANNEL):
            done += 1
            try:
                piece = Reply.model_validate_json(message.message)
                await render.send_piece(self.bot, int(message.recipient), piece,
                                        media=self.services.delivery.media)
            except RetryAfter as busy:
                await delivery.retry_later(message, str(busy), wait=_seconds(busy))
                return done - 1, sent  # Telegram asks the whole bot to wait
            except Forbidden as blocked:
                await self._unreachable(message, str(blocked))
            except BadRequest as refusal:
                # Permanent (chat not found, a message Telegram will never take):
                # retrying would fail the same way. Kept, with the reason, for a human.
                log.error("outbox message %s refused by Telegram: %s", message.id, refusal)
                await delivery.refused(message, str(refusal))
            except (NetworkError, TelegramError) as problem:
                await delivery.retry_later(message, str(problem))
                done -= 1
            except Exception as problem:  # unreadable row (a bug, an old format)
                log.exception("outbox message %s cannot be sent", message.id)
                await delivery.refused(message, repr(problem))
            else:
                await delivery.delivered(message)
                sent += 1
        return done, sent

    async def _unreachable(self, message: OutgoingMessage, error: str) -> None:
        person = await self.services.delivery.unreachable(message, error)
        log.info("outbox message %s: recipient blocked the bot", message.id)
        if person is not None and message.regarding is not None:
            await self._queue(await self.conversation.unreachable(person, message.regarding))

    # -- the weekly digest -------------------------------------------------------------

    async def deliver_digests(self, progress: Callable[[DigestReport], None] | None = None
                              ) -> list[DigestReport]:
        """Deliver the digest runs not finished yet (this week's, or one interrupted),
        at the digest's pace; one at a time."""
        reports = []
        async with self._digest_lock:
            for run_id, _week in await self.services.digest.unfinished_runs(CHANNEL):
                reports.append(await deliver_run(
                    self.services, self.conversation.territory, run_id, self._send_digest,
                    pace=self._digest_pace, send_empty=self._digest_send_empty,
                    progress=progress, stop=self._stopping))
        return reports

    async def _send_digest(self, reply: Reply, _digest: Digest) -> Outcome:
        """One digest to one subscriber, and what became of it."""
        assert reply.to is not None
        try:
            await render.send_piece(self.bot, int(reply.to.user_id), reply,
                                    media=self.services.delivery.media)
        except RetryAfter as busy:
            return Outcome("later", wait=_seconds(busy).total_seconds())
        except Forbidden as blocked:
            await self.services.customers.blocked_the_bot(CHANNEL, reply.to.user_id)
            return Outcome("blocked", error=str(blocked))
        except BadRequest as refusal:
            log.error("digest to %s refused: %s", reply.to.user_id, refusal)
            return Outcome("failed", error=str(refusal))
        except NetworkError as problem:
            log.warning("digest to %s not sent yet: %s", reply.to.user_id, problem)
            return Outcome("later", wait=5.0)
        return Outcome("sent")

    async def _digest_job(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Start this week's digest once its time has come, and deliver what is due."""
        await self.services.digest.start_if_due(CHANNEL)
        await self.deliver_digests()

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

    # -- jobs -------------------------------------------------------------------------

    async def _tick_job(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Expire overdue reservations and remind customers; the news goes out."""
        await self._queue(await self.conversation.tick())

    async def _outbox_job(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver_outbox()

    async def _clean_up_job(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        events, sent = await self.services.delivery.clean_up(CHANNEL, KEEP_UPDATE_IDS)
        log.info("forgot %d handled updates and %d delivered messages", events, sent)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling %r", update, exc_info=context.error)


def _may_change_roles(event: object) -> bool:
    """Only accepting an invitation makes someone staff from their own chat."""
    return isinstance(event, Command) and (
        event.name == "invitation" or (event.name == "start" and event.args.startswith("i_")))


def _loaded(payload: str) -> object:
    """The JSON of an update as it was written down (None if it cannot be read)."""
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


def _seconds(busy: RetryAfter) -> timedelta:
    return timedelta(seconds=retry_after_seconds(busy))


__all__ = ["TelegramChannel", "person_of"]
