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
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import httpx
from pywa_async.client import WhatsApp
from pywa_async.errors import ThrottlingError, WhatsAppError

from chatshop.channels.ratelimit import SlidingWindow
from chatshop.channels.whatsapp import render
from chatshop.channels.whatsapp.inbound import (
    WhatsAppMessage,
    WhatsAppStatus,
    attachment,
    event_of,
    is_wa_id,
    read,
)
from chatshop.conversation.digest import Outcome, deliver_run, digest_summary
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
from chatshop.domain.models import Channel, Digest, DigestReport, OutgoingMessage
from chatshop.services import Services

log = logging.getLogger(__name__)

CHANNEL: Channel = "whatsapp"
WINDOW = timedelta(hours=24) - timedelta(minutes=15)  # last-seen is kept to 10 minutes
KEEP_EVENTS = timedelta(days=7)  # Meta retries a webhook for days
RE_ENGAGEMENT = 131047  # « outside the 24-hour window »
UNDELIVERABLE = 131026  # not on WhatsApp, old app...: they cannot be reached
# Meta's errors worth trying again later: server trouble and throttling.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
THROTTLED_WAIT = timedelta(seconds=5)
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
                 jobs: bool = True) -> None:
        self.services = services
        self.conversation = conversation
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
        self._digest_pace = SlidingWindow(digest_rate)
        self._digest_send_empty = digest_send_empty
        self._templates = (template_notification, template_digest, template_language)
        self._turns: Turns[str] = Turns()
        self._tasks: set[asyncio.Task[None]] = set()
        self._media_ids: dict[str, str] = {}  # kept file -> media id uploaded for it
        self._early_failures: dict[str, WhatsAppStatus] = {}
        self._outbox_lock = asyncio.Lock()
        self._digest_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._jobs = jobs

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Handle what was received and not handled before the last stop; start the
        scheduled work (outbox, reservations sweep, digest, clean-up)."""
        # In the background and in order per person, as if they had just arrived.
        for pending in await self.services.delivery.waiting(CHANNEL):
            self._track(asyncio.create_task(
                self._handle_written(pending.event_id, pending.payload)))
        if self._jobs:
            self._every(2.0, self.deliver_outbox)
            self._every(60.0, self._tick)
            self._every(30.0, self._digest_job)
            self._every(3_600.0, self._clean_up)

    async def stop(self) -> None:
        """Finish the events being handled, stop the scheduled work."""
        self._stopping.set()
        for task in list(self._tasks):
            if task.get_name().startswith("job:"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.aclose()

    def _every(self, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
        async def loop() -> None:
            while not self._stopping.is_set():
                try:
                    await work()
                except Exception:
                    log.exception("WhatsApp scheduled work failed")
                await asyncio.sleep(seconds)
        self._track(asyncio.create_task(loop(), name=f"job:{work.__name__}"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the events received so far are handled (tests, shutdown)."""
        while busy := [t for t in self._tasks if not t.get_name().startswith("job:")]:
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
            self._kick()

    # -- sending ----------------------------------------------------------------------

    async def _send(self, wa_id: str, parts: list[render.Part],
                    pace: SlidingWindow | None = None) -> str:
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
            await (pace or self._pace).acquire()
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
        rows: list[tuple[Channel, str, str, int | None]] = [
            (n.to.channel, n.to.user_id, n.model_dump_json(), n.regarding)
            for n in notifications if n.to is not None]
        if rows:
            await self.services.delivery.queue(rows)
            self._kick()

    def _kick(self) -> None:
        if not self._stopping.is_set():
            self._track(asyncio.create_task(self._deliver_quietly()))

    async def _deliver_quietly(self) -> None:
        try:
            await self.deliver_outbox()
        except Exception:
            log.exception("WhatsApp outbox delivery failed")

    async def _in_window(self, wa_id: str) -> bool:
        session = await self.services.customers.session(CHANNEL, wa_id)
        return session is not None and \
            self.services.clock() - session.user.last_seen_at < WINDOW

    async def deliver_outbox(self) -> int:
        """Send the WhatsApp notifications that are due (one delivery at a time)."""
        delivery = self.services.delivery
        sent = 0
        async with self._outbox_lock:
            while messages := await delivery.due(CHANNEL):
                progressed = False
                for message in messages:
                    outcome = await self._deliver(message)
                    progressed = progressed or outcome != "later"
                    sent += outcome == "sent"
                if not progressed:
                    break
        return sent

    async def _deliver(self, message: OutgoingMessage) -> str:
        delivery = self.services.delivery
        try:
            reply = Reply.model_validate_json(message.message)
            if message.template_only or not await self._in_window(message.recipient):
                notification, _digest, language = self._templates
                parts = [render.template(notification, language, reply.text)]
            else:
                parts = render.parts(reply)
            platform_id = await self._send(message.recipient, parts)
        except ThrottlingError as busy:
            await delivery.retry_later(message, str(busy), wait=THROTTLED_WAIT)
            return "later"
        except httpx.HTTPError as problem:  # Meta unreachable: as long as it takes
            await delivery.retry_later(message, repr(problem))
            return "later"
        except WhatsAppError as refusal:
            if _transient(refusal):
                await delivery.retry_later(message, str(refusal))
                return "later"
            log.error("WhatsApp refused outbox message %s: %s", message.id, refusal)
            await delivery.refused(message, str(refusal))
            return "refused"
        except Exception as problem:  # an unreadable row
            log.exception("outbox message %s cannot be sent", message.id)
            await delivery.refused(message, repr(problem))
            return "refused"
        await delivery.delivered(message, platform_id)
        early = self._early_failures.pop(platform_id, None)
        if early is not None:  # its failure came before this line: apply it now
            await self._status(early)
        return "sent"

    # -- scheduled work ---------------------------------------------------------------

    async def _tick(self) -> None:
        await self.queue(await self.conversation.tick())

    async def _clean_up(self) -> None:
        await self.services.delivery.clean_up(CHANNEL, KEEP_EVENTS)

    async def _digest_job(self) -> None:
        await self.services.digest.start_if_due(CHANNEL)
        await self.deliver_digests()

    async def deliver_digests(self, progress: Callable[[DigestReport], None] | None = None
                              ) -> list[DigestReport]:
        """Deliver the unfinished digest runs of WhatsApp subscribers."""
        reports = []
        async with self._digest_lock:
            for run_id, _week in await self.services.digest.unfinished_runs(CHANNEL):
                reports.append(await deliver_run(
                    self.services, self.conversation.territory, run_id, self._send_digest,
                    send_empty=self._digest_send_empty, progress=progress,
                    stop=self._stopping))
        return reports

    async def _send_digest(self, reply: Reply, digest: Digest) -> Outcome:
        """One digest: as it is inside the 24-hour window, else as the marketing
        template (the subscription is the opt-in) saying what is new in one line, with
        its two quick-reply buttons: « see the news » and the one-tap unsubscribe."""
        assert reply.to is not None
        wa_id = reply.to.user_id
        _notification, name, language = self._templates
        template = render.template(name, language, digest_summary(digest),
                                   quick_replies=("na", "un"))
        try:
            if not await self._in_window(wa_id):
                await self._send(wa_id, [template], pace=self._digest_pace)
                return Outcome("sent")
            try:
                await self._send(wa_id, render.parts(reply), pace=self._digest_pace)
            except WhatsAppError as refusal:
                if refusal.code != RE_ENGAGEMENT:
                    raise
                # Our clock said « inside the window », Meta says outside: the template.
                await self._send(wa_id, [template], pace=self._digest_pace)
        except httpx.HTTPError as problem:
            return Outcome("later", wait=5.0, error=repr(problem))
        except WhatsAppError as refusal:
            if _transient(refusal):
                return Outcome("later", wait=THROTTLED_WAIT.total_seconds(), error=str(refusal))
            if refusal.code == RE_ENGAGEMENT:
                return Outcome("outside_window", error=str(refusal))
            return Outcome("failed", error=str(refusal))
        return Outcome("sent")


class _MediaUnusable(Exception):
    """The Graph API's answer about a media says nothing we can download."""


def _transient(error: WhatsAppError) -> bool:
    """Whether Meta's error says « try again later » (server trouble, throttling)."""
    status = error.status_code
    return (isinstance(error, ThrottlingError) or bool(error.is_transient)
            or error.code in TRANSIENT_CODES or (status is not None and status >= 500))
