"""chatshop on WhatsApp: webhook events in, Cloud API messages out, through pywa's async
client (its low-level Graph API calls: we build Meta's JSON ourselves, within WhatsApp's
limits, in ``render.py``).

The flow of one message: the webhook checks the signature, writes the event down
(``inbound_events``, by its wamid: a retried webhook changes nothing) and answers 200;
the event is then handled in the background, one person's in order: it becomes an
``Inbound`` (a photo or a file downloaded and kept first; the title of a choice just
shown, typed rather than tapped, becomes that choice), goes to the conversation,
notifications for others go to the outbox, and the replies are sent.

The 24-hour window: a person who wrote in the last 24 hours gets free messages; outside
it, a notification goes out as the approved utility template and the weekly digest as
the marketing template (their subscription is the opt-in). A message Meta took but
reports failed later (status callback, e.g. 131047 outside the window) goes back to the
outbox, as a template. Sending is paced (80 messages/s by default); 130429 and 131056
wait and retry; nothing is dropped.

The outbox, the digest and the scheduled work are the delivery runtime's
(``chatshop.delivery``): to it this channel is a ``Platform`` that sends one message and
says what became of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import httpx
from pywa_async.client import WhatsApp
from pywa_async.errors import ThrottlingError, WhatsAppError

from chatshop.channels.whatsapp import render
from chatshop.channels.whatsapp.inbound import (
    WhatsAppMessage,
    WhatsAppStatus,
    attachment,
    event_of,
    is_wa_id,
    read,
)
from chatshop.conversation.messages import (
    DocumentIn,
    Event,
    Inbound,
    PhotoIn,
    Press,
    Recipient,
    Reply,
    Text,
    Unsupported,
)
from chatshop.conversation.router import MAX_FILE_BYTES, Conversation
from chatshop.conversation.turns import Turns
from chatshop.delivery.outcome import Later, Message, Outcome, Purpose, Refused, Sent
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import Channel, DigestReport
from chatshop.errors import InvalidInput
from chatshop.services import Services

log = logging.getLogger(__name__)

CHANNEL: Channel = "whatsapp"
WINDOW = timedelta(hours=24) - timedelta(minutes=15)  # last-seen is kept to 10 minutes
KEEP_EVENTS = timedelta(days=7)  # Meta retries a webhook for days
RE_ENGAGEMENT = 131047  # « outside the 24-hour window »
UNDELIVERABLE = 131026  # not on WhatsApp, old app...: they cannot be reached
# Meta's errors worth trying again later: server trouble and throttling.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
THROTTLED_WAIT = 5.0  # seconds
# Failures of messages not recorded as sent yet: a few at a time, normally. Statuses of
# messages someone else sent from the same number would otherwise pile up forever.
EARLY_FAILURES_KEPT = 1_000


class WhatsAppChannel:
    """The bot on WhatsApp, around pywa's async Cloud API client."""

    def __init__(self, services: Services, conversation: Conversation, *, token: str,
                 phone_number_id: str, app_secret: str, verify_token: str,
                 api_version: str = "21.0", base_url: str = "https://graph.facebook.com",
                 session: httpx.AsyncClient | None = None, max_per_second: int = 80,
                 template_notification: str = "chatshop_notification",
                 template_digest: str = "chatshop_digest", template_language: str = "fr",
                 digest_rate: int = 25, digest_send_empty: bool = False,
                 delivery: Delivery | None = None) -> None:
        """``delivery``: the process's delivery runtime (one of its own if None, paced
        at ``digest_rate``: tests and the ``digest send`` command)."""
        self.services = services
        self.conversation = conversation
        self.delivery = delivery or Delivery(
            services, conversation, digest_pace=lambda: SlidingWindow(digest_rate),
            digest_send_empty=digest_send_empty)
        self.delivery.register(self)
        self._phone_id = phone_number_id
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token
        self._session = session or httpx.AsyncClient(timeout=30)
        self.wa = WhatsApp(phone_id=phone_number_id, token=token, session=self._session,
                           api_version=api_version)
        # pywa points its session at graph.facebook.com; a proxy or a test server may
        # stand in its place.
        self._session.base_url = httpx.URL(f"{base_url.rstrip('/')}/v{api_version}")
        self._pace = SlidingWindow(max_per_second)
        self._max_per_second = max_per_second
        self._templates = (template_notification, template_digest, template_language)
        self._turns: Turns[str] = Turns(services.delivery.chat_locks, CHANNEL)
        self._tasks: set[asyncio.Task[None]] = set()
        self._media_ids: dict[str, str] = {}  # kept file -> media id uploaded for it
        self._early_failures: dict[str, WhatsAppStatus] = {}
        self._stopping = asyncio.Event()

    @property
    def name(self) -> Channel:
        return CHANNEL

    @property
    def keep_events(self) -> timedelta:
        return KEEP_EVENTS

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Handle what was received and not handled before the last stop."""
        await self.take_over()

    async def take_over(self) -> int:
        """Handle the events written down and not handled by a process that is gone:
        this one before its last stop (at start), or another one on the same database,
        killed after Meta had its 200 (every few seconds: ``Delivery.jobs``). In the
        background and in order per person, as if they had just arrived."""
        taken = await self.services.delivery.take_over(CHANNEL)
        for pending in taken:
            self._track(asyncio.create_task(
                self._handle_written(pending.event_id, pending.payload)))
        return len(taken)

    async def stop(self) -> None:
        """Finish the events being handled (the runtime stops first: nothing is being
        delivered through this channel any more)."""
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.aclose()

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the events received so far are handled (tests, shutdown)."""
        while busy := list(self._tasks):
            await asyncio.gather(*busy, return_exceptions=True)

    # -- the webhook ------------------------------------------------------------------

    def verification(self, mode: str | None, token: str | None,
                     challenge: str | None) -> str | None:
        """Meta's GET: the challenge back if the verify token is ours."""
        if mode == "subscribe" and token is not None and challenge is not None and \
                hmac.compare_digest(token.encode(), self._verify_token.encode()):
            return challenge
        return None

    def signed(self, body: bytes, header: str | None) -> bool:
        """Whether ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body with our
        app secret (compared in constant time)."""
        if not header or not header.startswith("sha256="):
            return False
        expected = hmac.new(self._app_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header.removeprefix("sha256=").encode(), expected.encode())

    async def receive(self, payload: dict[str, Any]) -> int:
        """Write the payload's events down (before Meta gets its 200), then handle the
        new ones in the background; returns how many were new. What is not in Meta's
        shape is left aside (``read`` never raises)."""
        messages, statuses = read(payload)
        events = [(m.event_id, m.payload()) for m in messages] + [
            (s.event_id, json.dumps(asdict(s))) for s in statuses]
        if not events:
            return 0
        new = await self.services.delivery.receive_many(CHANNEL, events)
        for event_id, written in events:
            if event_id in new:
                self._track(asyncio.create_task(self._handle_written(event_id, written)))
        return len(new)

    async def _handle_written(self, event_id: str, payload: str) -> None:
        try:
            if event_id.startswith("status:"):
                await self._status(WhatsAppStatus(**{
                    **json.loads(payload),
                    "error_codes": tuple(json.loads(payload)["error_codes"])}))
            else:
                message = WhatsAppMessage.from_payload(payload)
                if not is_wa_id(message.wa_id):  # written down by an older version
                    log.warning("WhatsApp event %s from %.40r, not a phone number: dropped",
                                event_id, message.wa_id)
                    return
                await self._in_order(message)
        except Exception:
            log.exception("WhatsApp event %s could not be handled", event_id)
        finally:
            await self.services.delivery.handled(CHANNEL, event_id)

    async def _in_order(self, message: WhatsAppMessage) -> None:
        """One person's messages one after the other, in the order they came."""
        async with self._turns.of(message.wa_id):
            await self._converse(message)

    async def _converse(self, message: WhatsAppMessage) -> None:
        if message.kind in ("reaction", "system", "unsupported_ignored"):
            return  # a 👍 on a message needs no answer
        event = event_of(message)
        if event is None:
            try:
                event = await self._with_file(message)
            except (httpx.HTTPError, WhatsAppError, _MediaUnusable) as problem:
                log.warning("WhatsApp media of %s not fetched: %s", message.id, problem)
                await self._show(message.wa_id, [self.conversation.file_lost()])
                return
            except InvalidInput as refusal:  # no picture we can read: said, nothing kept
                await self._show(message.wa_id, [self.conversation.refused(refusal)])
                return
        if isinstance(event, Text):
            event = await self._typed_choice(message.wa_id, event)
        replies = await self.conversation.handle(Inbound(
            channel=CHANNEL, user_id=message.wa_id, display_name=message.name[:64],
            event=event, keep_choices=True))
        await self.queue([r for r in replies if r.to is not None])
        await self._show(message.wa_id, [r for r in replies if r.to is None])

    async def _typed_choice(self, wa_id: str, typed: Text) -> Event:
        """The title of a button or row just shown, typed rather than tapped, is that
        choice (the conversation keeps what it showed, so a restart changes nothing)."""
        shown = await self.conversation.shown_choices(CHANNEL, wa_id)
        chosen = render.typed_choice(typed.text, shown)
        return typed if chosen is None else Press(payload=chosen.payload)

    async def _with_file(self, message: WhatsAppMessage) -> Event:
        """Download the photo or file (by its media id) and keep a photo, so that it
        can be shown again."""
        attached = attachment(message)
        if attached is None:  # event_of asks for a download only when there is one
            return Unsupported()
        session = await self.services.customers.session(CHANNEL, message.wa_id)
        if session is None or not session.memberships:
            # Only shopkeepers' photos and files are used: a customer's selfie is not
            # fetched, let alone kept.
            if message.kind == "document":
                return DocumentIn(file_name="fichier", data=b"")
            return PhotoIn(file_ref="-", caption=attached.caption)
        info = await self.wa.api.get_media_url(attached.media_id)
        url, size = info.get("url"), info.get("file_size")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise _MediaUnusable(f"no https URL for media {attached.media_id}")
        if message.kind == "document":
            name = attached.file_name
            if isinstance(size, int) and size > MAX_FILE_BYTES:
                return DocumentIn(file_name=name, data=b"", too_large=True)
            data = await self.wa.get_media_bytes(url)
            if len(data) > MAX_FILE_BYTES:
                return DocumentIn(file_name=name, data=b"", too_large=True)
            return DocumentIn(file_name=name, data=data)
        data = await self.wa.get_media_bytes(url)
        mime = info.get("mime_type")
        reference = await self.services.delivery.keep_media(
            data, mime if isinstance(mime, str) and mime.startswith("image/")
            and len(mime) <= 64 else "image/jpeg")
        return PhotoIn(file_ref=reference, caption=attached.caption)

    async def _status(self, status: WhatsAppStatus) -> None:
        """A message Meta took failed later: back to the outbox (as a template when the
        free message was refused for the 24-hour window)."""
        if status.status != "failed":
            return
        outcome = await self.services.delivery.failed_later(
            CHANNEL, status.message_id, f"{status.error_codes} {status.error_text}",
            as_template=RE_ENGAGEMENT in status.error_codes)
        if outcome is None:  # the status came before we recorded the message as sent
            self._early_failures[status.message_id] = status
            while len(self._early_failures) > EARLY_FAILURES_KEPT:
                del self._early_failures[next(iter(self._early_failures))]  # the oldest
            return
        log.info("WhatsApp message %s failed (%s): %s", status.message_id,
                 status.error_codes, "back in the outbox" if outcome == "again" else "given up")
        if UNDELIVERABLE in status.error_codes and status.recipient:
            await self.services.customers.blocked_the_bot(CHANNEL, status.recipient)
        if outcome == "again":
            self.delivery.outbox.kick(CHANNEL)

    # -- sending ----------------------------------------------------------------------

    async def _send(self, wa_id: str, parts: list[render.Part]) -> str:
        """Send the parts in order; returns the id Meta gave the last one."""
        platform_id = ""
        for part in parts:
            body = dict(part.body)
            if part.upload is not None:
                data, mime, name = part.upload
                body["id"] = (await self.wa.api.upload_media(
                    self._phone_id, media=data, mime_type=mime, filename=name))["id"]
            elif part.media is not None:
                body["id"] = await self._uploaded(part.media)
            await self._pace.acquire()
            # The number's rate is the bot's, across the processes on the database.
            await self.services.delivery.send_slot(CHANNEL, self._max_per_second)
            answer = await self.wa.api.send_message(
                sender=self._phone_id, to=wa_id, recipient=None, recipient_type="individual",
                typ=part.type, msg=body)
            platform_id = str(answer["messages"][0]["id"])
        return platform_id

    async def _uploaded(self, reference: str) -> str:
        """The media id of a kept file (uploaded once)."""
        if reference not in self._media_ids:
            kept = await self.services.delivery.media(reference)
            if kept is None:
                raise WhatsAppError.from_dict({"code": 100, "message": "file not kept"})
            mime, data = kept
            self._media_ids[reference] = (await self.wa.api.upload_media(
                self._phone_id, media=data, mime_type=mime,
                filename="photo." + mime.split("/")[-1]))["id"]
        return self._media_ids[reference]

    async def _show(self, wa_id: str, replies: list[Reply]) -> None:
        """Replies to the person who wrote (inside their window), one WhatsApp message
        at a time; what cannot go now waits in the outbox (only what was not sent)."""
        pieces = [piece for reply in replies for piece in render.split(reply)]
        for i, piece in enumerate(pieces):
            try:
                await self._send(wa_id, render.parts(piece))
            except (httpx.HTTPError, WhatsAppError) as problem:
                if isinstance(problem, WhatsAppError) and not _transient(problem):
                    log.error("WhatsApp refused a reply to %s: %s", wa_id, problem)
                    continue
                log.warning("WhatsApp reply to %s kept for later: %s", wa_id, problem)
                await self.queue([p.model_copy(update={"to": Recipient(
                    channel=CHANNEL, user_id=wa_id)}) for p in pieces[i:]])
                return

    async def queue(self, notifications: list[Reply]) -> None:
        """Notifications into the outbox (each for its own channel)."""
        await self.delivery.outbox.queue(notifications)

    async def _in_window(self, wa_id: str) -> bool:
        session = await self.services.customers.session(CHANNEL, wa_id)
        return session is not None and \
            self.services.clock() - session.user.last_seen_at < WINDOW

    # -- the Platform of the delivery runtime ------------------------------------------

    def pieces(self, reply: Reply) -> list[Reply]:
        """A notification stays one outbox row: sent as it is inside the person's
        window, as the notification template outside it."""
        return [reply]

    async def send(self, message: Message) -> Outcome:
        """One notification or digest: as it is inside the person's 24-hour window, else
        as the approved template (the notification's, or the digest's — the
        subscription is the opt-in — saying what is new in one line, with its two
        quick-reply buttons: « see the news » and the one-tap unsubscribe)."""
        wa_id = message.recipient
        notification, digest, language = self._templates
        try:
            if message.purpose is Purpose.DIGEST:
                template = render.template(digest, language,
                                           message.summary or message.reply.text,
                                           quick_replies=message.quick_replies)
            else:
                template = render.template(notification, language, message.reply.text)
            if message.template_only or not await self._in_window(wa_id):
                return Sent(await self._send(wa_id, [template]))
            try:
                return Sent(await self._send(wa_id, render.parts(message.reply)))
            except WhatsAppError as refusal:
                if message.purpose is not Purpose.DIGEST or refusal.code != RE_ENGAGEMENT:
                    raise
                # Our clock said « inside the window », Meta says outside: the template.
                return Sent(await self._send(wa_id, [template]))
        except ThrottlingError as busy:
            return Later(str(busy), wait=THROTTLED_WAIT)
        except httpx.HTTPError as problem:  # Meta unreachable: as long as it takes
            return Later(repr(problem))
        except WhatsAppError as refusal:
            if _transient(refusal):
                return Later(str(refusal))
            return Refused(str(refusal), outside_window=refusal.code == RE_ENGAGEMENT)

    async def taken(self, platform_id: str) -> None:
        """A failure reported before the message was recorded as sent: applied now."""
        early = self._early_failures.pop(platform_id, None)
        if early is not None:
            await self._status(early)

    # -- the runtime's work, for tests and the ``digest send`` command ----------------

    async def deliver_outbox(self) -> int:
        """Send the WhatsApp notifications that are due."""
        return await self.delivery.outbox.deliver(CHANNEL)

    async def deliver_digests(self, progress: Callable[[DigestReport], None] | None = None
                              ) -> list[DigestReport]:
        """Deliver the unfinished digest runs of WhatsApp subscribers."""
        return await self.delivery.broadcast.deliver(self, progress)


class _MediaUnusable(Exception):
    """The Graph API's answer about a media says nothing we can download."""


def _transient(error: WhatsAppError) -> bool:
    """Whether Meta's error says « try again later » (server trouble, throttling)."""
    status = error.status_code
    return (isinstance(error, ThrottlingError) or bool(error.is_transient)
            or error.code in TRANSIENT_CODES or (status is not None and status >= 500))
