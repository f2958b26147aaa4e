"""The weekly digest: who asked for it (with their consent) and for which shops, what is
new for each of them, when it goes out, and the runs that deliver it once to each.

Composing gathers the territory's news once (a few queries), then reads subscribers a
page at a time; subscribers who follow the same and were last served by the same pass
share one digest, composed once (``chatshop.domain.digest_news``): memory is the news
and a page, whatever the number of subscribers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatshop.clock import Clock
from chatshop.domain.digest_news import News, Share, Subscriber
from chatshop.domain.models import (
    Actor,
    Channel,
    Digest,
    DigestReport,
    Subscription,
    SubscriptionScope,
    User,
)
from chatshop.domain.parsing import check_id
from chatshop.domain.schedule import scheduled_in_week, week_of
from chatshop.errors import InvalidInput, NotFound
from chatshop.i18n import _
from chatshop.services.access import Access
from chatshop.storage.interface import Store

NEWS_WINDOW = timedelta(days=7)  # what a first digest covers
OLDEST_NEWS = timedelta(days=14)  # a digest never reaches further back
MAX_CHOSEN = 50  # communes or shops in one subscription

DEFAULT_SCHEDULE = (4, time(17, 0))  # Friday 17:00, local time


class DigestService:
    def __init__(self, store: Store, access: Access, clock: Clock, tz: ZoneInfo,
                 schedule: tuple[int, time] = DEFAULT_SCHEDULE) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._tz = tz
        self.schedule = schedule  # weekday (Monday = 0) and local time of the sending

    def require_operator(self, actor: Actor) -> None:
        self._access.require_operator(actor)

    # -- subscribing ------------------------------------------------------------------

    async def subscription(self, user_id: int) -> Subscription | None:
        return await self._store.digest.subscription(user_id)

    async def subscribe(self, user_id: int, scope: SubscriptionScope,
                        commune_ids: Sequence[int] = (),
                        shop_ids: Sequence[int] = ()) -> Subscription:
        """Subscribe (this is the consent, recorded now) or change what is followed."""
        communes = sorted({check_id(c, "commune") for c in commune_ids})
        shops = sorted({check_id(s, "shop") for s in shop_ids})
        if (scope is SubscriptionScope.COMMUNES and not communes) \
                or (scope is SubscriptionScope.SHOPS and not shops):
            raise InvalidInput(_("Choose at least one, please."))
        if len(communes) > MAX_CHOSEN or len(shops) > MAX_CHOSEN:
            raise InvalidInput(_("That is a lot: {n} at most, please.").format(n=MAX_CHOSEN))
        before = await self._store.digest.subscription(user_id)
        known = {c.id for c in await self._store.shops.communes()}
        # What was followed and has gone since (a shop closed for good) is dropped
        # quietly; what is newly chosen must exist.
        communes = [c for c in communes if c in known or before is None
                    or c not in before.commune_ids]
        for commune in communes:
            if commune not in known:
                raise NotFound("commune", commune)
        kept = []
        for shop_id in shops:
            shop = await self._store.shops.get(shop_id)
            if shop is not None and shop.active:
                kept.append(shop_id)
            elif before is None or shop_id not in before.shop_ids:
                raise NotFound("shop", shop_id)
        shops = kept
        if (scope is SubscriptionScope.COMMUNES and not communes) \
                or (scope is SubscriptionScope.SHOPS and not shops):
            raise InvalidInput(_("Choose at least one, please."))
        return await self._store.digest.subscribe(
            user_id, scope,
            communes if scope is SubscriptionScope.COMMUNES else [],
            shops if scope is SubscriptionScope.SHOPS else [], self._clock())

    async def toggle(self, user_id: int, scope: SubscriptionScope, item_id: int
                     ) -> Subscription | None:
        """Follow one more commune or shop (``scope``), or stop following it; following
        nothing any more ends the subscription (None). What was followed and has gone
        since (a shop closed for good) is dropped on the way."""
        found = await self._store.digest.subscription(user_id)
        chosen = set(followed(found, scope)) ^ {check_id(item_id, scope.value)}
        chosen = {c for c in chosen if c == item_id or await self._exists(scope, c)}
        if not chosen:
            await self.unsubscribe(user_id)
            return None
        if scope is SubscriptionScope.COMMUNES:
            return await self.subscribe(user_id, scope, commune_ids=sorted(chosen))
        return await self.subscribe(user_id, scope, shop_ids=sorted(chosen))

    async def _exists(self, scope: SubscriptionScope, item_id: int) -> bool:
        if scope is SubscriptionScope.COMMUNES:
            return await self._store.shops.commune(item_id) is not None
        shop = await self._store.shops.get(item_id)
        return shop is not None and shop.active

    async def unsubscribe(self, user_id: int) -> bool:
        """Stop the digest (and forget the consent); False if there was none."""
        return await self._store.digest.unsubscribe(user_id)

    # -- composing --------------------------------------------------------------------

    async def gather(self) -> News:
        """The territory's news now, as far back as any digest reaches: what a pass of
        a run composes every digest from (a few queries, whatever the number of
        subscribers)."""
        now = self._clock()
        oldest = now - OLDEST_NEWS
        return News(now, oldest, *await self._store.digest.news(oldest))

    async def compose(self, user_ids: Sequence[int], news: News | None = None
                      ) -> list[Digest]:
        """The digests of ``user_ids`` who are subscribed (from ``news``, else from news
        gathered now), each covering what is new since their last digest's news were
        gathered (a week, for a first one)."""
        if not user_ids:
            return []
        news = news if news is not None else await self.gather()
        return [news.share_of(s, _since(news, s)).to(s)
                for s in await self._store.digest.subscribers(user_ids=user_ids)]

    async def compose_all(self, channel: Channel | None = None, page: int = 1_000
                          ) -> AsyncIterator[list[tuple[Subscriber, Share]]]:
        """This week's digest of every subscriber (on ``channel``), a page of
        subscribers at a time in user id order, each with their group's digest (its
        ``to`` addresses it): news gathered once, each group's digest composed once,
        nothing kept from one page to the next. The next page is read while this one
        is composed."""
        news = await self.gather()

        def read(after: int) -> asyncio.Future[list[Subscriber]]:
            return asyncio.ensure_future(
                self._store.digest.subscribers(channel, after=after, limit=page))
        reading = read(0)
        try:
            while found := await reading:
                reading = read(found[-1].user_id)
                yield [(s, news.share_of(s, _since(news, s))) for s in found]
        finally:
            reading.cancel()

    async def this_week(self, user: User) -> Digest:
        """What is new for ``user`` now: in what they follow since their last digest, or
        in the whole territory over the last week if they follow nothing."""
        since = self._clock() - NEWS_WINDOW
        followed = await self._store.digest.subscription(user.id)
        if followed is None:
            followed = Subscription(user_id=user.id, scope=SubscriptionScope.TERRITORY,
                                    consented_at=since)
        # The whole week, even just after a digest: « See everything » means it.
        return await self._week_for(followed, user, since)

    async def preview(self, actor: Actor) -> Digest:
        """The digest as a subscriber to the whole territory would get it this week (for
        the operator, before it goes out)."""
        self._access.require_operator(actor)
        user = await self._store.users.get(actor.user_id)
        if user is None:
            raise NotFound("user", actor.user_id)
        return await self.territory_news(user)

    async def territory_news(self, reader: User) -> Digest:
        """Everything new in the territory over the last week, addressed to ``reader``
        (the command line's preview, the operator's)."""
        since = self._clock() - NEWS_WINDOW
        everything = Subscription(user_id=reader.id, scope=SubscriptionScope.TERRITORY,
                                  consented_at=since)
        return await self._week_for(everything, reader, since)

    async def _week_for(self, followed: Subscription, user: User, since: datetime
                        ) -> Digest:
        news = News(self._clock(), since, *await self._store.digest.news(since))
        reader = Subscriber(
            user_id=user.id, channel=user.channel, external_id=user.external_id,
            unreachable=user.unreachable_at is not None, scope=followed.scope,
            commune_ids=followed.commune_ids, shop_ids=followed.shop_ids,
            last_news_at=None)
        return news.share_of(reader, since).to(reader)

    # -- runs -------------------------------------------------------------------------

    def week(self) -> str:
        return week_of(self._clock(), self._tz)

    async def start_week(self, channel: Channel, *, forced: bool = False,
                         actor: Actor | None = None) -> int | None:
        """Start this week's run on ``channel`` (the operator's "send now" passes who
        asks); None if it was already started and not ``forced``."""
        if actor is not None:
            self._access.require_operator(actor)
        return await self._store.digest.start_run(channel, self.week(), self._clock(),
                                                  forced=forced)

    async def start_if_due(self, channel: Channel) -> int | None:
        """This week's run, once its time has come (the channels' scheduled job calls
        this every few seconds; a bot down at that time still sends it later that
        week); None if not due yet or already started."""
        now = self._clock()
        if now < scheduled_in_week(now, *self.schedule, self._tz):
            return None
        return await self.start_week(channel)

    async def unfinished_runs(self, channel: Channel) -> list[tuple[int, str]]:
        return await self._store.digest.unfinished_runs(channel)

    def lease(self) -> AbstractAsyncContextManager[str]:
        """A sender's lease (its token) for the time of the block: what it claims is
        its own while it lives, and another sender's to take at once once its block
        ends or its process dies (killed, crashed): never after a timeout."""
        return self._store.digest.lease()

    async def claim(self, run_id: int, owner: str, limit: int = 50) -> list[int]:
        """Subscribers of the run to send to now for the lease ``owner``: the waiting
        ones and those a dead sender had taken (no other live sender gets them)."""
        return await self._store.digest.claim(run_id, limit, self._clock(), owner)

    async def left(self, run_id: int) -> int:
        return await self._store.digest.left(run_id)

    async def mark(self, run_id: int, user_ids: Sequence[int], status: str,
                   error: str | None = None, news: News | None = None) -> None:
        """How the delivery to ``user_ids`` went; for a digest sent, the ``news`` it was
        composed from (the next one starts where they were gathered)."""
        await self._store.digest.mark(run_id, user_ids, status, self._clock(), error,
                                      None if news is None else news.gathered_at)

    async def finish(self, run_id: int) -> DigestReport:
        await self._store.digest.finish(run_id, self._clock())
        return await self._store.digest.report(run_id)

    async def report(self, run_id: int) -> DigestReport:
        return await self._store.digest.report(run_id)

    async def subscriber_count(self) -> int:
        return await self._store.digest.count()


def followed(subscription: Subscription | None, scope: SubscriptionScope) -> frozenset[int]:
    """The communes or shops (``scope``) a subscription follows; none if it follows
    something else (the whole territory, the other kind)."""
    if subscription is None or subscription.scope is not scope:
        return frozenset()
    if scope is SubscriptionScope.COMMUNES:
        return subscription.commune_ids
    return subscription.shop_ids



def _since(news: News, subscriber: Subscriber) -> datetime:
    """Where ``subscriber``'s digest starts: where the news of their last one were
    gathered (a week back for a first one), never more than two weeks back: someone who
    had no news for months does not pull the whole catalogue."""
    now = news.gathered_at
    return max(subscriber.last_news_at or now - NEWS_WINDOW, now - OLDEST_NEWS)
