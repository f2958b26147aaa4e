"""The weekly digest's delivery: a run, each subscriber once, through a ``Platform``, at
the digest's pace (a broadcast must not take the rate the conversations need).

Each message is marked ``sending`` (under this sender's lease) before it leaves and
``sent`` (or why not) after, so that a run stopped anywhere goes on where it was. What a
sender that died had taken is taken over at once (its lease died with it); at most the
one message in flight at its death goes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from chatshop.conversation.digest import TEMPLATE_REPLIES, digest_reply, digest_summary
from chatshop.conversation.messages import Recipient
from chatshop.delivery.outcome import (
    Gone,
    Later,
    Message,
    Outcome,
    Platform,
    Purpose,
    Refused,
    Sent,
)
from chatshop.domain.digest_news import News
from chatshop.domain.models import Channel, Digest, DigestReport
from chatshop.services import Services

log = logging.getLogger(__name__)

# A subscriber's digest is tried this many times while the platform says « later »
# (LATER_WAIT seconds apart unless it says how long), then the pass ends: it goes on at
# the digest job's next look, without holding the process or other platforms up.
LATER_TRIES = 6
LATER_WAIT = 5.0
# A pass composes from news gathered at most this long ago (a run of 100 000 subscribers
# at 25/s lasts an hour): what changed meanwhile is seen, each digest says when its news
# were gathered, and the next one starts there.
NEWS_FRESH = timedelta(minutes=5)

Progress = Callable[[DigestReport], None]
Send = Callable[[Message], Awaitable[Outcome]]  # a platform's ``send``


class Pace(Protocol):
    async def acquire(self) -> None: ...


class Broadcast:
    """The digest runs of every platform served by this process; one run at a time per
    platform."""

    def __init__(self, services: Services, territory: str, *, pace: Callable[[], Pace],
                 send_empty: bool = False) -> None:
        self._services = services
        self._territory = territory
        self._pace = pace
        self._send_empty = send_empty
        self._paces: dict[Channel, Pace] = {}
        self._locks: dict[Channel, asyncio.Lock] = {}
        self.stopping = asyncio.Event()

    async def deliver(self, platform: Platform, progress: Progress | None = None
                      ) -> list[DigestReport]:
        """Deliver the runs of ``platform`` not finished yet (this week's, or one
        interrupted)."""
        channel = platform.name
        lock = self._locks.setdefault(channel, asyncio.Lock())
        pace = self._paces.setdefault(channel, self._pace())
        reports = []
        async with lock:
            for run_id, _week in await self._services.digest.unfinished_runs(channel):
                reports.append(await deliver_run(
                    self._services, self._territory, run_id, platform.send, pace=pace,
                    send_empty=self._send_empty, progress=progress, stop=self.stopping))
        return reports


async def deliver_run(services: Services, territory: str, run_id: int, send: Send, *,
                      pace: Pace | None = None, send_empty: bool = False,
                      progress: Progress | None = None,
                      stop: asyncio.Event | None = None) -> DigestReport:
    """Deliver a digest run, each subscriber once (see the module's docstring). A
    subscriber who unsubscribed since the run began, or who blocked the bot, is skipped
    and counted."""
    async with services.digest.lease() as owner:
        return await _deliver(services, territory, run_id, send, owner, pace=pace,
                              send_empty=send_empty, progress=progress, stop=stop)


async def _deliver(services: Services, territory: str, run_id: int, send: Send,
                   owner: str, *, pace: Pace | None, send_empty: bool,
                   progress: Progress | None, stop: asyncio.Event | None) -> DigestReport:
    """:func:`deliver_run` while holding the lease ``owner``."""
    digests = services.digest

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    news: News | None = None
    skipped: dict[str, list[int]] = {}  # marked a batch at a time: deciding is idempotent

    async def mark_skipped() -> None:
        for status, user_ids in skipped.items():
            await digests.mark(run_id, user_ids, status)
        skipped.clear()

    while not stopping():
        batch = await digests.claim(run_id, owner)
        if not batch:
            break
        if news is None or services.clock() - news.gathered_at > NEWS_FRESH:
            news = await digests.gather()
        composed = {d.user_id: d for d in await digests.compose(batch, news)}
        for user_id in batch:
            if stopping():
                break  # the ones taken and not sent are free once the lease ends
            digest = composed.get(user_id)
            status = _not_to_send(digest, send_empty)
            if digest is None or status is not None:
                skipped.setdefault(status or "unsubscribed", []).append(user_id)
                continue
            outcome = await _send_paced(send, digest, territory, pace, stop)
            if isinstance(outcome, Later):
                # The platform is still busy or out of reach: this pass ends here,
                # and the run goes on at the digest job's next look (or next start).
                log.warning("digest run %s paused: %s", run_id, outcome.reason)
                await mark_skipped()
                return await digests.report(run_id)
            match outcome:
                case Sent():
                    await digests.mark(run_id, [user_id], "sent", news=news)
                case Gone(reason=reason):
                    await services.customers.blocked_the_bot(digest.channel,
                                                             digest.external_id)
                    await digests.mark(run_id, [user_id], "blocked", reason)
                case Refused(reason=reason, outside_window=outside):
                    await digests.mark(run_id, [user_id], "outside_window"
                                       if outside else "failed", reason)
        await mark_skipped()
        if progress is not None:
            progress(await digests.report(run_id))
    if stopping() or await digests.left(run_id):
        return await digests.report(run_id)  # another live sender holds the rest
    return await digests.finish(run_id)


def _not_to_send(digest: Digest | None, send_empty: bool) -> str | None:
    """Why this subscriber's digest is not sent (their delivery's status), if it is not:
    unsubscribed since the run began, blocked the bot, or nothing new for them."""
    if digest is None:
        return "unsubscribed"
    if digest.unreachable:
        return "blocked"
    return "no_news" if digest.empty and not send_empty else None


async def _send_paced(send: Send, digest: Digest, territory: str, pace: Pace | None,
                      stop: asyncio.Event | None) -> Outcome:
    """One digest at the pace, tried again while the platform says « later » (up to
    LATER_TRIES times, waiting as long as it says); the last outcome."""
    outcome: Outcome = Later("not tried")
    for _attempt in range(LATER_TRIES):
        if pace is not None:
            await pace.acquire()
        outcome = await _send_one(send, digest, territory)
        if not isinstance(outcome, Later) or (stop is not None and stop.is_set()):
            break
        if stop is None:
            await asyncio.sleep(_seconds(outcome))
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _seconds(outcome))
    return outcome


def _seconds(later: Later) -> float:
    return later.wait if later.wait is not None else LATER_WAIT


def digest_message(digest: Digest, territory: str) -> Message:
    """One subscriber's digest as a message for their platform."""
    reply = digest_reply(digest, territory).model_copy(update={"to": Recipient(
        channel=digest.channel, user_id=digest.external_id)})
    return Message(recipient=digest.external_id, reply=reply, purpose=Purpose.DIGEST,
                   summary=digest_summary(digest), quick_replies=TEMPLATE_REPLIES)


async def _send_one(send: Send, digest: Digest, territory: str) -> Outcome:
    """One subscriber's digest; an error no platform expected (a bug in rendering, an
    unknown platform error) fails this delivery only, instead of stopping the run for
    everyone after this subscriber, run after run."""
    try:
        return await send(digest_message(digest, territory))
    except Exception as problem:  # logged with its traceback, counted as failed
        incident = secrets.token_hex(3).upper()
        log.exception("incident %s while sending the digest to user %s", incident,
                      digest.user_id)
        return Refused(f"incident {incident}: {type(problem).__name__}")
