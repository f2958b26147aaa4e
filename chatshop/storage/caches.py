"""What this process remembers of the database for a few seconds, and how a write
makes it forget: the recent sessions and shop teams, the recent shops and communes.

Repositories read through these caches but never clear them themselves: a write records
what it changed on the transaction it runs in (``touched``, ``touched_shops``,
``saved_state`` of ``Database`` or of a unit of work's ``Transaction``), and the
transaction applies those ``Changes`` here once it has committed, from the writer's
thread right after the commit (so even when the task that asked for it was cancelled
meanwhile), before the caller goes on. A rollback forgets nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from chatshop.domain.models import Channel, Commune, Session, Shop, StaffMember, User

_Kept = tuple[float, User, tuple[StaffMember, ...], str | None]


class RecentSessions:
    """The sessions of the people who wrote in the last few seconds, so that each of
    their messages does not read the same rows again; and the teams of the shops (who
    is told of a new reservation), for the same reason.

    Why: the session is read on every update, and under load each read finds SQLite's
    page cache emptied by the writes committed since the last one (WAL: a connection
    drops its cached pages whenever another connection has committed); measured in the
    Telegram stack, 65 µs a read instead of 7 µs.

    Kept right: the conversation's own state is written through (``kept_state`` after
    its save has committed); every other write in this process to a person's row or to
    shop teams forgets what it touches once committed (``forget``, ``forget_all``; every
    team, since a person's row is part of their shops' teams), before the writer's next
    step, so the next read is fresh. A read that raced the write is harmless: read
    before the commit, it is forgotten after it; read after, it is already fresh (a
    session is read and kept with no ``await`` in between). A write by another process
    (``chatshop digest send`` marking someone unreachable) is seen at most ``ttl``
    seconds late, and never matters for permissions: services check the shop team in
    the database on every action. The state is kept as its JSON text and read afresh
    each time, so a handler changing its copy changes nothing here.

    With ``keeping=False`` it remembers nothing (inside a unit of work, whose reads
    must see its own writes, not what was committed before).
    """

    def __init__(self, ttl: float = 5.0, now: Callable[[], float] = time.monotonic,
                 limit: int = 20_000, *, keeping: bool = True) -> None:
        self._ttl = ttl
        self._now = now
        self._limit = limit
        self._keeping = keeping
        self._kept: dict[tuple[Channel, str], _Kept] = {}
        self._keys: dict[int, tuple[Channel, str]] = {}  # user id -> key
        self._teams: dict[int, tuple[float, tuple[User, ...]]] = {}  # shop id ->

    def get(self, channel: Channel, external_id: str) -> Session | None:
        kept = self._kept.get((channel, external_id))
        if kept is None or self._now() - kept[0] > self._ttl:
            return None
        _at, user, memberships, state_json = kept
        return as_session(user, memberships, state_json)

    def keep(self, user: User, memberships: tuple[StaffMember, ...],
             state_json: str | None) -> None:
        if not self._keeping:
            return
        if len(self._kept) >= self._limit:
            self._drop_old()
        key = (user.channel, user.external_id)
        self._kept[key] = (self._now(), user, memberships, state_json)
        self._keys[user.id] = key

    def team(self, shop_id: int) -> list[User] | None:
        kept = self._teams.get(shop_id)
        if kept is None or self._now() - kept[0] > self._ttl:
            return None
        return list(kept[1])

    def keep_team(self, shop_id: int, people: list[User]) -> None:
        if not self._keeping:
            return
        if len(self._teams) >= self._limit:
            self._teams.clear()
        self._teams[shop_id] = (self._now(), tuple(people))

    def kept_state(self, user_id: int, state_json: str) -> None:
        """The conversation state of ``user_id`` was just saved as ``state_json``."""
        key = self._keys.get(user_id)
        kept = self._kept.get(key) if key is not None else None
        if key is not None and kept is not None:
            self._kept[key] = (kept[0], kept[1], kept[2], state_json)

    def forget(self, user_id: int) -> None:
        """``user_id``'s row or team changed: read them afresh next time."""
        key = self._keys.pop(user_id, None)
        if key is not None:
            self._kept.pop(key, None)
        self._teams.clear()

    def forget_all(self) -> None:
        self._kept.clear()
        self._keys.clear()
        self._teams.clear()

    def __len__(self) -> int:
        return len(self._kept)

    def _drop_old(self) -> None:
        now = self._now()
        for key, kept in list(self._kept.items()):
            if now - kept[0] > self._ttl:
                del self._kept[key]
                self._keys.pop(kept[1].id, None)
        if len(self._kept) >= self._limit:  # all recent: a burst of new people
            self.forget_all()


def as_session(user: User, memberships: tuple[StaffMember, ...],
               state_json: str | None) -> Session:
    """A fresh ``Session`` (the handler may change its copy) from what was read."""
    state = json.loads(state_json) if state_json else {}
    return Session(user=user, memberships=list(memberships),
                   state=state if isinstance(state, dict) else {},
                   talked=state_json is not None)


class RecentShops:
    """Shops and communes read in the last few seconds, so that a shop card or a
    reservation does not read the same rarely-changing rows again and again.

    Every write to a shop or commune in this process forgets them all once it
    has committed; a write by another process (``chatshop seed-demo`` beside a running
    bot) is seen at most ``ttl`` seconds late. A read that started before a write
    finished is not remembered (the generation check), so the cache never brings an
    old version back after a change. Reservations re-check the shop inside their own
    transaction, so a stale card can never let one through. ``keeping=False``: as for
    ``RecentSessions``.
    """

    def __init__(self, ttl: float = 5.0, now: Callable[[], float] = time.monotonic, *,
                 keeping: bool = True) -> None:
        self._ttl = ttl
        self._now = now
        self._keeping = keeping
        self._shops: dict[int, tuple[float, Shop]] = {}
        self._communes: tuple[float, dict[int, Commune]] | None = None
        self._served: tuple[float, frozenset[int]] | None = None
        self.generation = 0

    def shop(self, shop_id: int) -> Shop | None:
        kept = self._shops.get(shop_id)
        if kept is None or self._now() - kept[0] > self._ttl:
            return None
        return kept[1]

    def keep_shop(self, shop: Shop, generation: int) -> None:
        if self._keeping and generation == self.generation:
            self._shops[shop.id] = (self._now(), shop)

    def communes(self) -> dict[int, Commune] | None:
        if self._communes is None or self._now() - self._communes[0] > self._ttl:
            return None
        return self._communes[1]

    def keep_communes(self, communes: dict[int, Commune], generation: int) -> None:
        if self._keeping and generation == self.generation:
            self._communes = (self._now(), communes)

    def served_communes(self) -> frozenset[int] | None:
        """The ids of the communes that have an active shop, if read lately."""
        if self._served is None or self._now() - self._served[0] > self._ttl:
            return None
        return self._served[1]

    def keep_served_communes(self, ids: frozenset[int], generation: int) -> None:
        if self._keeping and generation == self.generation:
            self._served = (self._now(), ids)

    def forget(self) -> None:
        """Something changed: read everything afresh."""
        self.generation += 1
        self._shops.clear()
        self._communes = None
        self._served = None


class Caches:
    """Everything this process remembers of one database."""

    def __init__(self, sessions: RecentSessions | None = None,
                 shops: RecentShops | None = None) -> None:
        self.sessions = sessions if sessions is not None else RecentSessions()
        self.shops = shops if shops is not None else RecentShops()

    @classmethod
    def none(cls) -> Caches:
        """Caches that remember nothing (a unit of work reads its own writes)."""
        return cls(RecentSessions(keeping=False), RecentShops(keeping=False))


class Changes:
    """What one transaction changed of what the caches hold, to apply once committed."""

    __slots__ = ("_everyone", "_people", "_shops", "_states")

    def __init__(self) -> None:
        self._people: set[int] = set()
        self._everyone = False
        self._states: dict[int, str] = {}  # user id -> conversation state saved
        self._shops = False

    def __bool__(self) -> bool:
        return bool(self._people or self._everyone or self._states or self._shops)

    def person(self, user_id: int | None) -> None:
        """This person's row or team changed (None: someone not known here)."""
        if user_id is None:
            self._everyone = True
        else:
            self._people.add(user_id)

    def state(self, user_id: int, state_json: str) -> None:
        """This person's conversation state is now ``state_json``."""
        self._states[user_id] = state_json

    def shops(self) -> None:
        """A shop or a commune changed."""
        self._shops = True

    def apply(self, caches: Caches, *, committed: bool = True) -> None:
        """Bring the caches up to date with a transaction that committed; if whether
        it did is not known (its ``COMMIT`` failed), forget all it may have changed."""
        sessions = caches.sessions
        if self._everyone:
            sessions.forget_all()
        for user_id in self._people:
            sessions.forget(user_id)
        for user_id, state_json in self._states.items():
            if committed:
                sessions.kept_state(user_id, state_json)
            else:
                sessions.forget(user_id)
        if self._shops:
            caches.shops.forget()


class RecordsChanges:
    """How a write records what it changes, for the caches to forget once committed
    (``Database`` and ``PostgresDatabase``: the changes of the transaction the call is
    made from, ``_changes``)."""

    def _changes(self) -> Changes:
        raise NotImplementedError

    def touched(self, *user_ids: int | None) -> None:
        """Inside a write: these people's rows or teams change (None: someone)."""
        changes = self._changes()
        for user_id in user_ids:
            changes.person(user_id)

    def touched_shops(self) -> None:
        """Inside a write: a shop or a commune changes."""
        self._changes().shops()

    def saved_state(self, user_id: int, state_json: str) -> None:
        """Inside a write: this person's conversation state becomes ``state_json``."""
        self._changes().state(user_id, state_json)


class UnitRecordsChanges(RecordsChanges):
    """``RecordsChanges`` of a unit of work: everything it changes, forgotten once it
    has committed; a saved state is forgotten too, not written through (the part that
    saved it may still be undone)."""

    changes: Changes

    def _changes(self) -> Changes:
        return self.changes

    def saved_state(self, user_id: int, state_json: str) -> None:
        self.changes.person(user_id)
