"""The territory's channel, the use case: which shops have news to post now, grouped —
at most one post per shop an hour, once the shop has been quiet a few minutes (a
shopkeeper adding a dozen products gets one post listing them) — and the record of it,
written in one unit of work with the post's outbox rows.

The wording is the caller's (``compose``); this module decides when, and what is covered:
a restart, a crash or an outage after the commit loses nothing (the outbox keeps the
post) and doubles nothing (the watermark has moved past what it covered).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatshop.clock import Clock
from chatshop.domain.models import ListedProduct, Shop
from chatshop.services.delivery import Outgoing
from chatshop.storage.channel_protocol import ChannelChange, ChannelMark
from chatshop.storage.interface import Store

SPACING = timedelta(hours=1)  # between two posts of a shop
QUIET = timedelta(minutes=10)  # a shop's news waits until it has been quiet so long...
LONGEST_WAIT = timedelta(hours=1)  # ...but no longer than this
# Changes this recent are left to the next post: a write stamped a moment before its
# commit may still be on its way.
SETTLED = timedelta(minutes=1)
_INSTANT = timedelta(microseconds=1)  # times are kept to the microsecond
POSTS_PER_ROUND = 5  # Telegram allows about 20 messages a minute in a channel or group



@dataclass(frozen=True)
class ChannelNews:
    """What one post tells of one shop: products new on the shelves, products back in
    stock (each as customers see it, in the order they came) and its announcement."""

    shop: Shop
    commune_name: str
    new: list[ListedProduct] = field(default_factory=list)
    back: list[ListedProduct] = field(default_factory=list)
    announcement: str = ""

    @property
    def products(self) -> list[ListedProduct]:
        return self.new + self.back


class ChannelPostService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def post_due(self, chat: str, compose: Callable[[ChannelNews], Sequence[Outgoing]],
                       limit: int = POSTS_PER_ROUND) -> list[ChannelNews]:
        """Post the news that is due in ``chat``: for each shop due (oldest news first,
        ``limit`` at most), ``compose`` writes its post as outbox rows, which are queued
        in the same unit of work as the shop's new watermark. Nothing is composed while
        earlier posts wait in the outbox (Telegram down, the bot without rights): the
        news gathers meanwhile, into fewer posts. The first call starts the feed: what
        came before is not news. Returns what was posted."""
        now = self._clock()
        cutoff = now - SETTLED
        async with self._store.unit_of_work() as uow:
            posts = uow.channel_posts
            floor, new = await posts.start(chat, now)
            if new or await posts.waiting(chat):
                await uow.commit()
                return []
            marks = await posts.marks(chat)
            by_shop: dict[int, list[ChannelChange]] = {}
            for change in await posts.changes(chat, floor):
                by_shop.setdefault(change.shop_id, []).append(change)
            due = []
            for shop_id, changes in by_shop.items():
                if _due(changes, marks.get(shop_id), now):
                    due.append((changes[0].at, shop_id, changes))
            taken = sorted(due)[:limit]
            posted, covered = [], {shop_id for _first, shop_id, _changes in taken}
            for _first, shop_id, changes in taken:
                shop = await uow.shops.get(shop_id)
                news = None if shop is None else _news(
                    shop, [change for change in changes if change.at <= cutoff])
                queued = [] if news is None else list(compose(news))
                ids = await uow.outbox.add(queued, now) if queued else []
                await posts.covered(chat, shop_id, cutoff, now if queued else None,
                                    ids[0] if ids else None)
                if news is not None and queued:
                    posted.append(news)
            # What is still to post bounds the next look's read; the rest is covered.
            left = [change.at for shop_id, changes in by_shop.items() for change in changes
                    if shop_id not in covered or change.at > cutoff]
            await posts.advance(chat, min([cutoff, *(at - _INSTANT for at in left)]))
            await uow.commit()
        return posted

    async def trouble(self, chat: str, reason: str) -> bool:
        """The bot cannot post in ``chat`` (Telegram's ``reason``): True the first time,
        until a post goes through again."""
        return await self._store.channel_posts.trouble(chat, reason, self._clock())

    async def reached(self, chat: str) -> bool:
        """A post went to ``chat``: True if the bot could not post there until now."""
        return await self._store.channel_posts.reached(chat)


def _due(changes: list[ChannelChange], mark: ChannelMark | None, now: datetime) -> bool:
    """Whether a shop's news is to be posted now: its last post is an hour old, nothing
    came for a while (or the oldest news waited long enough), and it is settled."""
    if any(change.waits for change in changes):
        return False
    if mark is not None and mark.posted_at is not None and now - mark.posted_at < SPACING:
        return False
    if changes[-1].at > now - QUIET and changes[0].at > now - LONGEST_WAIT:
        return False
    return changes[0].at <= now - SETTLED


def _news(shop: Shop, changes: list[ChannelChange]) -> ChannelNews:
    new: dict[int, ListedProduct] = {}
    back: dict[int, ListedProduct] = {}
    said = ""
    for change in changes:
        if change.product is not None:
            (new if change.kind == "new" else back)[change.product.product.id] = change.product
        elif change.kind == "said":
            said = change.text
    return ChannelNews(shop=shop, commune_name=changes[0].commune_name,
                       new=list(new.values()), back=list(back.values()), announcement=said)
