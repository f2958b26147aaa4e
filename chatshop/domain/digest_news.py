"""The territory's news, gathered once, and each subscriber's share of it.

A digest depends on what its subscriber follows (the whole territory, some communes,
some shops) and on the time of their last one: subscribers who follow the same and were
last served by the same pass share one digest, a *group*. ``News`` holds what is new in
the whole territory since a time (each item with its shop's commune), indexed by shop
and by commune, and composes a group's content once (``News.share``), from the items of
what it follows only; a subscriber's ``Digest`` is then that content with their address
(``Share.to``). Memory is the news and the groups seen lately, whatever the
number of subscribers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Generic, TypeVar

from chatshop.domain.models import (
    Channel,
    Digest,
    DigestProduct,
    DigestShopNews,
    SubscriptionScope,
)

GROUPS_KEPT = 4_096  # groups composed lately, kept for the next subscriber who shares one


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone the digest goes to: their address, what they follow, and when the news
    of their last digest were gathered (None: no digest yet)."""

    user_id: int
    channel: Channel
    external_id: str
    unreachable: bool
    scope: SubscriptionScope
    commune_ids: frozenset[int]
    shop_ids: frozenset[int]
    last_news_at: datetime | None


@dataclass(frozen=True, slots=True)
class Share:
    """One group's digest, before it is addressed to anyone."""

    new: tuple[DigestProduct, ...]
    back_in_stock: tuple[DigestProduct, ...]
    announcements: tuple[DigestShopNews, ...]
    closures: tuple[DigestShopNews, ...]

    @property
    def empty(self) -> bool:
        """Nothing new: a shop on holiday alone is not news, week after week."""
        return not (self.new or self.back_in_stock or self.announcements)

    def to(self, subscriber: Subscriber) -> Digest:
        """This digest addressed to ``subscriber``."""
        # Validated already, item by item: only the address is new.
        return Digest.model_construct(
            user_id=subscriber.user_id, channel=subscriber.channel,
            external_id=subscriber.external_id, unreachable=subscriber.unreachable,
            new=self.new, back_in_stock=self.back_in_stock,
            announcements=self.announcements, closures=self.closures)


T = TypeVar("T")
GroupKey = tuple[SubscriptionScope, frozenset[int], datetime]


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    order: int  # its place in the territory's list (newest first)
    value: T
    shop_id: int
    commune_id: int


class _Kind(Generic[T]):
    """One kind of news (added, back, announcements, closures) with its indexes."""

    def __init__(self, items: Sequence[tuple[T, int]], shop_of: Sequence[int]) -> None:
        self.all = [_Item(n, value, shop_of[n], commune)
                    for n, (value, commune) in enumerate(items)]
        self.by_shop: dict[int, list[_Item[T]]] = {}
        self.by_commune: dict[int, list[_Item[T]]] = {}
        for item in self.all:
            self.by_shop.setdefault(item.shop_id, []).append(item)
            self.by_commune.setdefault(item.commune_id, []).append(item)

    def followed(self, scope: SubscriptionScope, chosen: frozenset[int]) -> list[T]:
        """The items of what is followed, in the territory's order."""
        if scope is SubscriptionScope.TERRITORY:
            return [item.value for item in self.all]
        index = self.by_commune if scope is SubscriptionScope.COMMUNES else self.by_shop
        found = [item for key in chosen for item in index.get(key, ())]
        if len(chosen) > 1:
            found.sort(key=attrgetter("order"))
        return [item.value for item in found]



@dataclass
class News:
    """What is new in the territory since ``since``, gathered at ``gathered_at``: products
    added and back in stock (newest first), announcements (newest first) and holiday
    closures, each with the commune of its shop."""

    gathered_at: datetime
    since: datetime
    added: Sequence[tuple[DigestProduct, int]]
    back: Sequence[tuple[DigestProduct, int]]
    said: Sequence[tuple[DigestShopNews, int]]
    closed: Sequence[tuple[DigestShopNews, int]]
    _kinds: tuple[_Kind[DigestProduct], _Kind[DigestProduct], _Kind[DigestShopNews],
                  _Kind[DigestShopNews]] = field(init=False, repr=False)
    _groups: OrderedDict[GroupKey, Share] = field(init=False, repr=False,
                                                  default_factory=OrderedDict)
    groups_composed: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._kinds = (_Kind(self.added, [p.shop_id for p, _c in self.added]),
                       _Kind(self.back, [p.shop_id for p, _c in self.back]),
                       _Kind(self.said, [n.shop_id for n, _c in self.said]),
                       _Kind(self.closed, [n.shop_id for n, _c in self.closed]))

    def share(self, scope: SubscriptionScope, chosen: frozenset[int], since: datetime
              ) -> Share:
        """The digest of those who follow ``chosen`` (communes or shops, by ``scope``;
        nothing for the whole territory) and whose news start at ``since``: composed
        once, then kept while it is among the groups seen lately."""
        if since < self.since:
            raise ValueError(f"news gathered since {self.since}, asked since {since}")
        key = (scope, chosen if scope is not SubscriptionScope.TERRITORY else frozenset(),
               since)
        found = self._groups.get(key)
        if found is not None:
            self._groups.move_to_end(key)
            return found
        added, back, said, closed = self._kinds
        scope_, chosen_ = key[0], key[1]
        # Up to the time the news were gathered, no later: the next digest starts there,
        # so what was written while they were read is in that one, not in both.
        until = self.gathered_at
        shops_said: dict[int, DigestShopNews] = {}
        for news in said.followed(scope_, chosen_):
            if news.at is not None and since < news.at <= until:
                shops_said.setdefault(news.shop_id, news)
        found = Share(
            new=tuple(p for p in added.followed(scope_, chosen_) if since < p.at <= until),
            # back in stock: only what this subscriber could already have seen
            back_in_stock=tuple(p for p in back.followed(scope_, chosen_)
                                if since < p.at <= until and p.created_at <= since),
            announcements=tuple(shops_said.values()),
            closures=tuple(closed.followed(scope_, chosen_)))
        self.groups_composed += 1
        self._groups[key] = found
        if len(self._groups) > GROUPS_KEPT:
            self._groups.popitem(last=False)
        return found

    def share_of(self, subscriber: Subscriber, since: datetime) -> Share:
        """The digest of ``subscriber``'s group, their news starting at ``since``."""
        chosen = (subscriber.commune_ids if subscriber.scope is SubscriptionScope.COMMUNES
                  else subscriber.shop_ids)
        return self.share(subscriber.scope, chosen, since)
