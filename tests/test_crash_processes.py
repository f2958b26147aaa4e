"""Crash tests of several bot processes on one PostgreSQL database (issue #14, item 3):
three real ``chatshop run`` in webhook mode, each on its own port of 127.0.0.1, all on
one throw-away PostgreSQL database, behind a load balancer in this process, while
Telegram (the fake Bot API served over HTTP from this process, test_crash.py's
machinery) is used by many people.

The harness:

- :class:`WebhookBotAPI` is Telegram with a webhook: once a bot registered one
  (``setWebhook``), every update people make is pushed to it, with the secret the bot
  registered in ``X-Telegram-Bot-Api-Secret-Token``; one chat's updates in order, one
  at a time, different chats side by side.
- :class:`Balancer` stands at the webhook's address: each update goes to one of the
  processes (a seeded random one), and to another when that one is down (connection
  refused, reset before an answer) or answers 5xx, until one answers 200: Telegram
  retries an update until its webhook takes it, and a load balancer moves on to the
  next backend.
- :class:`TaggedBotAPIServer` tells the processes apart: each reaches the fake Bot API
  by its own address (``/bot-1/bot<token>/…``), so every call Telegram received is
  known by the process that made it (who registered the webhook, who sent a digest).

Telegram's global rate is 100 messages a second here, for the fake and for the
processes' setting (``RATE``): still one budget the three share, and 200 customers take
seconds rather than the 25 s 30/s would make them.

The tests (each gathers every failed check, then reports them all at once):

- A: 200 customers at once on 10 units, 3 processes: 0 oversold (and none left: 10
  held of 10), every customer answered, every confirmed reservation stored and told
  once to its customer and to its shop, no press handled twice, nothing sent after
  everything was drained, one process registered the webhook (once, with the secret of
  the settings), no push refused, Telegram's global rate kept by the three together (no
  429).
- B: the burst of test_crash.py (200 customers reserving, shopkeepers restocking and
  handing over) while one process, a random one each time, is SIGKILLed, 20 times, and
  started again (meanwhile: another one is up at each kill): at random moments, right
  after it answered 200 to a press on « Réserver » (written down, not handled: a live
  process must take it over within ``TAKEOVER`` seconds, before the dead one is started
  again, and handle it before the end; how long its answer took is reported, as it waits
  behind what that process already had), and right after Telegram took a notification to
  a shop from it (the one message in flight). test_crash.py's checks (no confirmed
  reservation lost, none half-written, ``reserved`` the live lines, the stock ledger
  explains ``on_hand``, every reservation confirmed to its customer and told to its
  shop), then: shops told twice at most once per kill (a process's outbox has one
  message in flight: sent, not yet written down as sent), no press handled twice unless
  the process that handled it first was killed in between (each handling answers the
  callback query: counted per query and process), nothing sent once everything is
  drained, the webhook's secret and rate as in A. Confirmations shown twice are
  reported, not bounded: every update being handled by a process at its kill (many at
  once) is handled again, and shows its answer again.
- C: a digest run to 200 subscribers, started by the processes' own schedule (« lun
  00:00 »: due at once), at 10 a second, while the process sending it is SIGKILLed (and
  started again) up to 10 times, at least 5: once it sent 1 to 5 more, half of the time
  at the worst moment (Telegram took one, the process never hears it). Another process
  goes on within ``DIGEST_TAKEOVER`` seconds (not the victim started again; a digest the
  victim sent just before its end reaches Telegram just after it: not a take-over
  either), one sender at a time (the sending process changes only at a kill), each
  subscriber reached, digests twice between the kills at the worst moment and the number
  of kills.

- D: the demo territory served by one ``chatshop run`` on its SQLite file, then copied
  to PostgreSQL (``db copy``) and served by two behind the balancer: a customer's visit
  (the menu, a search, a product, another search) reads the same, text and buttons,
  and both processes answered some of it.

``CHATSHOP_CRASH_SEED`` changes the seed; ``-s`` shows the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import itertools
import json
import os
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import test_crash as crash
from tests.fakes.bot_api import FakeBotAPI, FakeCall, FakeMessage, FakeUser
from tests.fakes.bot_api_http import BotAPIServer
from tests.test_crash import (
    _NEWS,
    OWNERS,
    SEED,
    STEP,
    BotProcess,
    Burst,
    Seeded,
    _check_reservations,
    _die_with_parent,
    seed,
    sent_texts,
)

pytestmark = pytest.mark.usefixtures("clean_environment")

PROCESSES = 3
KILLS = 20
DIGEST_KILLS = 10
CUSTOMERS = 200
SECRET = "shared-webhook-secret_for-all-processes"
WEBHOOK_URL = "https://boutiques.example.fr/telegram"
TAKEOVER = 5.0  # seconds a live process has to take over an update its dead one acked
SESSION_END = 0.5  # seconds, more than enough for the server to end a dead one's session
MOMENT = 5.0  # seconds a kill waits for its moment (a press, a notification) at most
DIGEST_TAKEOVER = 4.0  # seconds before a live process goes on with a dead one's digest run
# Telegram's global rate, the fake's and the processes' setting: above Telegram's 30/s so
# that 200 customers take seconds, not the 25 s 30/s would make them; still the one
# budget all processes share.
RATE = 100
QUIET = 2.5  # seconds of one more outbox round: nothing goes after everything is drained

_caller: contextvars.ContextVar[tuple[str, list[FakeCall]] | None] = \
    contextvars.ContextVar("caller", default=None)
_databases = itertools.count()


# -- Telegram pushing updates to a webhook, and the load balancer in front ----------------


class WebhookBotAPI(FakeBotAPI):
    """The fake Bot API, and every update it makes handed to ``pushed`` (the balancer),
    as Telegram pushes updates to the webhook a bot registered."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pushed: Callable[[dict[str, Any]], None] | None = None

    def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        kept = len(self._updates)
        update = super()._push(payload)
        if len(self._updates) > kept and self.pushed is not None:
            self.pushed(update)
        return update

    def delivered(self, update_id: int) -> None:
        """The webhook took it: no longer pending (``getWebhookInfo``)."""
        self._updates = [u for u in self._updates if u["update_id"] != update_id]


class TaggedBotAPIServer(BotAPIServer):
    """The fake Bot API over HTTP, knowing which process made each call: a process's
    base URL starts with its tag (``/bot-1/bot<token>/sendMessage``). ``taken`` is told
    of each call with its process's tag once the fake has answered, before the answer is
    written (the worst moment to die: Telegram did it, the process never hears it)."""

    def __init__(self, api: FakeBotAPI) -> None:
        super().__init__(api)
        self.origin: dict[int, str] = {}  # id(call) -> tag (the calls live in api.calls)
        self.taken: Callable[[FakeCall, str], None] | None = None
        api.on_call = self._on_call

    def tagged_environment(self, tag: str) -> dict[str, str]:
        root = f"http://{self.host}:{self.port}/{tag}"
        return {"CHATSHOP_TELEGRAM_BASE_URL": f"{root}/bot",
                "CHATSHOP_TELEGRAM_BASE_FILE_URL": f"{root}/file/bot"}

    def tag_of(self, call: FakeCall) -> str | None:
        return self.origin.get(id(call))

    def _on_call(self, call: FakeCall) -> None:
        caller = _caller.get()
        if caller is not None:
            self.origin[id(call)] = caller[0]
            caller[1].append(call)

    async def _answer(self, request: Any) -> tuple[int, bytes, str] | None:
        calls: list[FakeCall] = []
        token = _caller.set((request.url.path.split("/")[1], calls))
        try:
            answer = await super()._answer(request)
        finally:
            _caller.reset(token)
        if answer is not None and self.taken is not None:
            for call in calls:
                self.taken(call, self.origin[id(call)])
        return answer


def _chat_of(update: dict[str, Any]) -> object:
    if "callback_query" in update:
        return update["callback_query"]["from"]["id"]
    for kind, body in update.items():
        if kind != "update_id" and isinstance(body, dict):
            chat = body.get("chat") or body.get("from") or {}
            return chat.get("id")
    return None


class Balancer:
    """Telegram's pushes to the webhook, through a load balancer to the processes.

    An update goes to a random process; to the next one when that one is down
    (connection refused, or reset before it answered) or answers 5xx; round and round,
    a short pause after each full round, until one answers 200. Any other answer (a 403:
    the process does not know the secret Telegram was given) is retried the same way, and
    counted: none is expected. The secret sent is the one Telegram was given by the last
    ``setWebhook``."""

    def __init__(self, api: WebhookBotAPI, ports: Sequence[int], rng: random.Random) -> None:
        self.api = api
        self.ports = list(ports)
        self.rng = rng
        self.outcomes: Counter[str] = Counter()
        self.acked_by: dict[int, int] = {}  # update_id -> the process index that said 200
        self.reached: Counter[str] = Counter()  # callback query id -> pushes a process read
        self.acked: Callable[[dict[str, Any], int], None] | None = None
        """Told at once of each update a process answered 200 (its index)."""
        self._chats: dict[object, asyncio.Lock] = {}
        self._connections = asyncio.Semaphore(40)  # Telegram's default max_connections
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=2.0),
                                         limits=httpx.Limits(max_keepalive_connections=0))
        api.pushed = self._push

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    def _push(self, update: dict[str, Any]) -> None:
        lock = self._chats.setdefault(_chat_of(update), asyncio.Lock())
        task = asyncio.get_running_loop().create_task(self._deliver(update, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: dict[str, Any], lock: asyncio.Lock) -> None:
        async with lock:  # (first thing the task does: the chat's updates keep their order)
            await self.api.wait_for(lambda: self.api.webhook.url, timeout=3600)
            body = json.dumps(update).encode()
            start = self.rng.randrange(len(self.ports))
            for attempt in itertools.count():
                index = (start + attempt) % len(self.ports)
                if attempt and attempt % len(self.ports) == 0:
                    await asyncio.sleep(0.2)
                async with self._connections:
                    outcome = await self._post(self.ports[index], body)
                self.outcomes[outcome] += 1
                if outcome != "refused" and "callback_query" in update:
                    self.reached[str(update["callback_query"]["id"])] += 1
                if outcome == "200":
                    self.acked_by[update["update_id"]] = index
                    self.api.delivered(update["update_id"])
                    if self.acked is not None:
                        self.acked(update, index)
                    return

    async def _post(self, port: int, body: bytes) -> str:
        headers = {"Content-Type": "application/json"}
        if self.api.webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.api.webhook.secret_token
        try:
            answer = await self._client.post(f"http://127.0.0.1:{port}/telegram",
                                             content=body, headers=headers)
        except httpx.ConnectError:
            return "refused"
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError:
            return "reset"
        return str(answer.status_code)

    @property
    def refusals(self) -> Counter[str]:
        """Answers that are neither a 200, nor a process down (5xx, refused, reset)."""
        return Counter({k: n for k, n in self.outcomes.items()
                        if k not in ("200", "refused", "reset", "timeout")
                        and not k.startswith("5")})


# -- the processes ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebhookProcess(BotProcess):
    """``chatshop run`` in webhook mode on the PostgreSQL database ``dsn``, on its own
    port, reaching the fake Bot API by its own tag."""

    def __init__(self, folder: Path, dsn: str, server: TaggedBotAPIServer, index: int,
                 extra: dict[str, str]) -> None:
        super().__init__(folder, dsn, server, name=f"bot-{index}")  # type: ignore[arg-type]
        self.index = index
        self.tag = f"bot-{index}"
        self.port = _free_port()
        self.tagged = server
        self.extra = extra
        self.up = False  # answered /health since its last start, not killed since
        self.kill_marks: list[int] = []  # len(api.calls) at each SIGKILL
        self.start_marks: list[int] = []  # len(api.calls) at each start

    def kill_now(self) -> None:
        if self.running and not self._signalled:
            self.kill_marks.append(len(self.api.calls))
        self.up = False
        super().kill_now()

    def killed_between(self, first: int, second: int) -> bool:
        """Whether the run of this process that made call ``first`` was killed before
        call ``second`` came. A call it sent just before its kill may reach Telegram
        just after it (recorded after the kill's mark): a run is known by its start."""
        began = max((mark for mark in self.start_marks if mark <= first), default=0)
        return any(began <= mark <= second for mark in self.kill_marks)

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(self.tagged.tagged_environment(self.tag))
        env.update({
            "CHATSHOP_TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
            "CHATSHOP_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "CHATSHOP_TELEGRAM_LISTEN": "127.0.0.1",
            "CHATSHOP_TELEGRAM_PORT": str(self.port),
            "CHATSHOP_TELEGRAM_MAX_PER_SECOND": str(RATE),
        })
        env.update(self.extra)
        return env

    async def start(self, *args: str) -> int:
        """``chatshop run``; returns once its webhook answers ``/health``."""
        assert self.process is None or self.process.returncode is not None
        self.start_marks.append(len(self.api.calls))
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts}: run\n".encode())
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "chatshop", *(args or ("run",)), cwd=self.folder,
                env=self.environment(), stdin=asyncio.subprocess.DEVNULL, stdout=log,
                stderr=log, preexec_fn=_die_with_parent)
        self.starts += 1
        self._signalled = False
        process = self.process
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1.0) as client:
            while process.returncode is None and time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{self.port}/health")
                            ).status_code == 200:
                        self.up = True
                        return 0
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.tag} did not come up ({process.returncode}):\n"
                             f"{self.tail()}")


@dataclass
class Fleet:
    """The processes, the balancer in front of them, the database behind."""

    bots: list[WebhookProcess]
    balancer: Balancer
    dsn: str
    server: TaggedBotAPIServer
    missed: int = 0  # kills whose moment did not come within MOMENT s (killed then)
    stalls: list[float] = field(default_factory=list)  # this loop's, > 50 ms

    async def watch_stalls(self) -> None:
        """Note when this process's own event loop (Telegram, the balancer, the people)
        was held up: Telegram counts its rate by when calls reach it, here."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            late = time.monotonic() - before - 0.01
            if late > 0.05:
                self.stalls.append(late)

    @property
    def stalled(self) -> str:
        worst = max(self.stalls, default=0.0)
        return f"this loop held up {len(self.stalls)} times over 50 ms (worst {worst:.2f} s)"

    async def start(self) -> None:
        await asyncio.gather(*(bot.start() for bot in self.bots))

    async def stop(self) -> list[int]:
        return list(await asyncio.gather(*(bot.stop() for bot in self.bots)))

    @property
    def kills(self) -> int:
        return sum(bot.kills for bot in self.bots)

    def tails(self) -> str:
        return "\n".join(f"--- {bot.tag}\n{bot.tail(15)}" for bot in self.bots)


@pytest.fixture
def database(postgres_dsn: str) -> Iterator[str]:
    """A database of its own on the throw-away server (migrated by the first store)."""
    import psycopg

    name = f"crash_processes_{os.getpid()}_{next(_databases)}"
    with psycopg.Connection.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.Connection.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def server() -> AsyncIterator[TaggedBotAPIServer]:
    async with TaggedBotAPIServer(WebhookBotAPI(global_per_second=RATE)) as running:
        yield running


@pytest.fixture
def settings() -> dict[str, str]:
    """More ``CHATSHOP_`` settings of the processes (a test changes them first)."""
    return {}


@pytest.fixture
async def fleet(tmp_path: Path, database: str, server: TaggedBotAPIServer,
                settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
                ) -> AsyncIterator[Fleet]:
    # test_crash's Burst reads the stock with read_database: here, from PostgreSQL.
    monkeypatch.setattr(crash, "read_database", _read_database)
    api = server.api
    assert isinstance(api, WebhookBotAPI)
    bots = [WebhookProcess(tmp_path, database, server, n, settings)
            for n in range(1, PROCESSES + 1)]
    balancer = Balancer(api, [bot.port for bot in bots], random.Random(SEED + 7))
    # The suite's earlier tests leave a large heap: frozen, the collector's passes over
    # it do not hold this loop up (and with it Telegram's clock and the balancer).
    gc.collect()
    gc.freeze()
    fleet = Fleet(bots, balancer, database, server)
    watching = asyncio.create_task(fleet.watch_stalls())
    try:
        yield fleet
    finally:
        watching.cancel()
        gc.unfreeze()
        for bot in bots:
            if bot.running:
                await bot.kill()
        await balancer.close()
        assert server.failures == []


# -- reading the database from the test -------------------------------------------------


class _Row(dict[str, Any]):
    """A row read by name (``row["id"]``) or by position (``row[0]``), as sqlite3.Row."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return iter(list(self.values()))  # (``(on_hand,) = row``, as with sqlite3.Row)


def _rows(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    names = [column.name for column in cursor.description or ()]
    return lambda values: _Row(zip(names, values, strict=True))


class Reader:
    """A PostgreSQL connection read like test_crash reads SQLite (``?`` placeholders,
    rows by name or position): ``_check_reservations`` runs on it unchanged."""

    def __init__(self, dsn: str) -> None:
        import psycopg

        self._conn = psycopg.Connection.connect(dsn, autocommit=True,
                                                row_factory=_rows)  # type: ignore[arg-type]

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), tuple(parameters))

    def close(self) -> None:
        self._conn.close()


def _read_database(database: Any) -> Any:
    return Reader(database)


def _left(dsn: str) -> int:
    """Updates not handled and notifications neither sent nor given up."""
    with contextlib.closing(Reader(dsn)) as db:
        return int(db.execute(
            "SELECT (SELECT count(*) FROM inbound_events WHERE handled_at IS NULL)"
            " + (SELECT count(*) FROM outbox WHERE sent_at IS NULL"
            "    AND given_up_at IS NULL)").fetchone()[0])


async def drained(fleet: Fleet, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Every update handled and every notification delivered (or given up)."""
    deadline = time.monotonic() + timeout
    while (left := await asyncio.to_thread(_left, fleet.dsn)) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} updates or notifications left\n{fleet.tails()}")
        await asyncio.sleep(0.1)


class Handled:
    """Waits until an update is handled (marked in ``inbound_events``), or held by a live
    process (taken over: ``received_by`` names a lease someone holds, an advisory lock
    of the database); one reader polls PostgreSQL for every waiter at once; several may
    wait for the same update."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        # event id -> (future, whether being held by a live process is enough)
        self._waiting: dict[str, list[tuple[asyncio.Future[None], bool]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Handled:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait(self, update: dict[str, Any], timeout: float = STEP,  # noqa: ASYNC109
                   *, held: bool = False) -> None:
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(str(update["update_id"]), []).append((future, held))
        await asyncio.wait_for(future, timeout)

    async def _poll(self) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            while True:
                await asyncio.sleep(0.05)
                for key in [k for k, fs in self._waiting.items()
                            if all(f.done() for f, _held in fs)]:
                    del self._waiting[key]
                if not self._waiting:
                    continue
                cursor = await conn.execute(
                    "SELECT event_id, handled_at IS NOT NULL, received_by FROM inbound_events"
                    " WHERE channel = 'telegram' AND event_id = ANY(%s)",
                    (list(self._waiting),))
                for event_id, done, holder in await cursor.fetchall():
                    alive = not done and holder is not None and await _lease_held(conn, holder)
                    for future, held in self._waiting.get(event_id, []):
                        if not future.done() and (done or (held and alive)):
                            future.set_result(None)


async def _lease_held(conn: Any, token: str) -> bool:
    """Whether a process holds the lease ``token``: its advisory lock (one bigint key:
    its high half ``classid``, its low half ``objid``) is granted, as ``pg_locks``
    shows, without taking it even for a moment (a process asking then would find the
    lease alive)."""
    cursor = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = %s::bigint)",
        (token,))
    (held,) = await cursor.fetchone()
    return bool(held)


# -- what every test checks --------------------------------------------------------------


class Problems:
    """Failed checks, gathered rather than stopping at the first, then all told."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, ok: object, what: str) -> None:
        if not ok:
            self.found.append(what)

    @contextlib.contextmanager
    def block(self, what: str) -> Iterator[None]:
        try:
            yield
        except AssertionError as problem:
            self.found.append(f"{what}: {str(problem).splitlines()[0][:400]}")

    def verify(self, tails: str = "") -> None:
        for problem in self.found:  # (shown with -s even when the test is expected to fail)
            print(f"  problem: {problem}")
        assert not self.found, "\n".join(["", *self.found, tails])


def _webhook_and_rates(problems: Problems, fleet: Fleet, *, registrations: int | None) -> str:
    """One secret for all, registered by one process; Telegram's global rate kept by all
    the processes together; no push refused."""
    api, server = fleet.server.api, fleet.server
    registered = [c for c in api.calls if c.method == "setWebhook" and c.ok]
    who = Counter(server.tag_of(c) for c in registered)
    problems.check(all(c.params.get("secret_token") == SECRET for c in registered),
                   f"a webhook registered with another secret than the settings' one:"
                   f" {[str(c.params.get('secret_token'))[:12] for c in registered]}")
    problems.check(all(c.params.get("url") == WEBHOOK_URL for c in registered),
                   "a webhook registered at another address")
    problems.check(not any(c.method == "deleteWebhook" for c in api.calls),
                   "a process deleted the webhook")
    if registrations is not None:
        problems.check(len(registered) == registrations,
                       f"the webhook registered {len(registered)} times ({dict(who)}),"
                       f" by one process once expected")
    problems.check(not fleet.balancer.refusals,
                   f"pushes refused by a process: {dict(fleet.balancer.refusals)}")
    sends = [c for c in api.calls if c.method.startswith(("send", "edit"))]
    problems.check(api.rejections == [],
                   f"Telegram's global rate ({api.global_per_second}/s) exceeded by the"
                   f" processes together: {len(api.rejections)} calls of {len(sends)} refused"
                   f" with 429 (by {dict(Counter(server.tag_of(c) for c in api.rejections))})")
    return (f"setWebhook {len(registered)} times ({dict(who)});"
            f" pushes {dict(fleet.balancer.outcomes)}; 429s {len(api.rejections)};"
            f" {fleet.stalled}")


def _handled_twice(fleet: Fleet) -> tuple[list[str], int]:
    """Presses handled twice though the process that handled them first lived on (two
    processes on one update), and how many were handled again after their first
    handler's SIGKILL. Each handling of a press answers its callback query, once; so
    does a process given a press already written down (it ignores the update): presses
    pushed more than once (their process was killed before it answered the push) are
    left out."""
    api, tag_of = fleet.server.api, fleet.server.tag_of
    bots = {bot.tag: bot for bot in fleet.bots}
    handlings: dict[str, list[tuple[int, str | None]]] = {}
    for i, call in enumerate(api.calls):
        if call.method == "answerCallbackQuery":
            handlings.setdefault(str(call.params.get("callback_query_id")), []).append(
                (i, tag_of(call)))
    live, again = [], 0
    for query, seen in handlings.items():
        if fleet.balancer.reached[query] > 1:
            continue
        for (first, by), (second, other) in itertools.pairwise(seen):
            if by in bots and bots[by].killed_between(first, second):
                again += 1
            else:
                live.append(f"{query[-6:]} by {by} then {other}")
    return live, again


def _news(api: FakeBotAPI) -> Counter[tuple[int, str]]:
    """(owner, reservation code) -> how many times the shop was told of it."""
    told: Counter[tuple[int, str]] = Counter()
    for owner in OWNERS:
        for text in sent_texts(api, owner):
            if match := _NEWS.search(text):
                told[(owner, match.group(1))] += 1
    return told


def _proofs(api: FakeBotAPI, customers: Sequence[FakeUser]) -> Counter[tuple[int, str]]:
    """(customer, code) -> how many times the customer was shown the confirmation."""
    shown: Counter[tuple[int, str]] = Counter()
    for person in customers:
        for text in sent_texts(api, person):
            if text.startswith("✅ Réservation confirmée") and (match := crash._CODE.search(text)):
                shown[(person.id, match.group(1))] += 1
    return shown


async def _quiet(api: FakeBotAPI) -> list[FakeCall]:
    """Once everything is drained: one more outbox round sends nothing."""
    mark = len(api.calls)
    await asyncio.sleep(QUIET)
    return [c for c in api.calls[mark:] if c.method.startswith(("send", "edit")) and c.ok]


# -- A: 200 customers at once on 10 units --------------------------------------------------


@dataclass
class Attempt:
    person: FakeUser
    pressed_at: int | None = None  # index in api.calls when the press was made
    stuck: str | None = None


async def _attempt(api: FakeBotAPI, handled: Handled, seeded: Seeded, rng: random.Random,
                   attempt: Attempt) -> None:
    """Open a product from its link; press « Réserver 1 » if the card offers it."""
    person = attempt.person
    product = rng.choice(seeded.products)
    name = seeded.names[product.id]
    update = api.send_text(person, f"/start p_{product.id}")
    try:
        await handled.wait(update, 2 * STEP)
        card: FakeMessage = await api.wait_for(
            lambda: next((m for m in reversed(api.messages(person))
                          if m.text and name in m.text), None), timeout=STEP)
    except (TimeoutError, AssertionError):
        attempt.stuck = f"{person.id}: no card of {name} (update {update['update_id']})"
        return
    reserve = [label for label in card.labels if label.startswith("✅ Réserver")]
    if not reserve:
        return
    attempt.pressed_at = len(api.calls)
    update = api.press(person, card.message_id, card.button_data(reserve[0]))
    try:
        await handled.wait(update, 2 * STEP)
    except TimeoutError:
        attempt.stuck = f"{person.id}: press {update['update_id']} never handled"


# Not strict: it passes in some runs and fails in others (a few 429s come and go); take
# the mark off once it passes every time.
async def test_three_processes_200_customers_on_10_units_none_oversold(
        fleet: Fleet) -> None:
    api = fleet.server.api
    seeded = await seed(fleet.dsn, {OWNERS[0]: [("Confiture de cerises", 6)],
                                    OWNERS[1]: [("Miel de montagne", 4)]})
    for owner in seeded.owner_of_shop.values():
        api.user(owner, f"Owner {owner}", started=True)
    customers = [api.user(3000 + n, f"Client {n}") for n in range(CUSTOMERS)]
    began = time.monotonic()
    await fleet.start()
    rng = random.Random(SEED + 3)
    attempts = [Attempt(person) for person in customers]
    async with Handled(fleet.dsn) as handled:
        await asyncio.wait_for(asyncio.gather(*(
            _attempt(api, handled, seeded, random.Random(rng.random()), a)
            for a in attempts)), 4 * STEP)
    problems = Problems()
    with problems.block("drained"):
        await drained(fleet)
    late = await _quiet(api)
    codes = await fleet.stop()
    elapsed = time.monotonic() - began

    problems.check(codes == [0] * PROCESSES, f"exit statuses {codes}")
    stuck = [a.stuck for a in attempts if a.stuck]
    problems.check(not stuck, f"{len(stuck)} customers without an answer: {stuck[:5]}")
    # Every customer who pressed « Réserver » was answered (confirmed, or told it is gone).
    unanswered = [a.person.id for a in attempts if a.pressed_at is not None and not any(
        c.ok for c in api.calls[a.pressed_at:]
        if c.chat_id == a.person.id and c.method.startswith(("send", "edit")))]
    problems.check(not unanswered, f"presses never answered: {unanswered[:10]}")
    figures = ""
    with contextlib.closing(Reader(fleet.dsn)) as db, problems.block("reservations"):
        figures = _check_reservations(db, api, seeded, customers)  # type: ignore[arg-type]
        (held,) = db.execute("SELECT sum(reserved) FROM products").fetchone().values()
        (on_hand,) = db.execute("SELECT sum(on_hand) FROM products").fetchone().values()
        problems.check(held == on_hand == 10, f"units held {held} of {on_hand}: 10 of 10"
                                              " expected (none oversold, none left)")
    # Three live processes: nothing goes twice.
    twice = {k: n for k, n in _news(api).items() if n > 1}
    problems.check(not twice, f"shops told twice of a reservation: {twice}")
    shown = {k: n for k, n in _proofs(api, customers).items() if n > 1}
    problems.check(not shown, f"confirmations shown twice: {shown}")
    problems.check(not late, f"{len(late)} messages sent after everything was drained")
    live, _again = _handled_twice(fleet)
    problems.check(not live, f"{len(live)} presses handled twice: {live[:5]}")
    webhook = _webhook_and_rates(problems, fleet, registrations=1)
    pressed = sum(a.pressed_at is not None for a in attempts)
    print(f"\n3 processes, {CUSTOMERS} customers on 10 units: {elapsed:.0f} s; {pressed}"
          f" presses on « Réserver »; {figures}; {webhook}")
    problems.verify(fleet.tails())


# -- B: the burst, one process SIGKILLed and restarted 20 times ----------------------------


async def _wait_event(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    return event.is_set()


async def test_the_burst_on_three_processes_survives_20_kills_of_one(fleet: Fleet) -> None:
    api = fleet.server.api
    rng = random.Random(SEED + 11)
    # 40 units (10 a shop), restocked as they go: presses on « Réserver » and shop
    # notifications come every moment, for the kills that wait for them.
    seeded = await seed(fleet.dsn, {
        OWNERS[0]: [("Confiture de cerises", 10)],
        OWNERS[1]: [("Miel de montagne", 10)],
        OWNERS[2]: [("Savon lavande", 10)],
        OWNERS[3]: [("Bougie cire", 10)],
    })
    owners = {shop_id: api.user(owner, f"Owner {owner}", started=True)
              for shop_id, owner in seeded.owner_of_shop.items()}
    customers = [api.user(3000 + n, f"Client {n}") for n in range(CUSTOMERS)]
    problems = Problems()
    moments: Counter[str] = Counter()
    timeline: list[str] = []  # each kill: the victim, and seconds to the moment
    began = time.monotonic()
    await fleet.start()
    async with Handled(fleet.dsn) as handled:
        burst = Burst(api, handled, seeded, fleet.dsn, random.Random(SEED + 12))  # type: ignore[arg-type]
        people = [asyncio.create_task(burst.customer(c)) for c in customers]
        people += [asyncio.create_task(burst.shopkeeper(owner, shop_id))
                   for shop_id, owner in owners.items()]
        try:
            overdue: list[str] = []  # the first update not taken over in time
            taken: list[float] = []  # seconds from a kill to its update's take-over
            answered: list[asyncio.Task[float]] = []  # ... and to its handling

            async def restart(victim: WebhookProcess, kill: int,
                              update: dict[str, Any] | None) -> None:
                """Start the victim again once it is gone; after a kill right after it
                acknowledged a press, only once a live process has handled that update
                (waited for until the first time it is not: each would wait as long)."""
                await victim.wait()
                if update is not None and not overdue:
                    killed = time.monotonic()
                    # Its server session ends a few ms after it (its lease with it): from
                    # then on, the update held by a live lease is held by another process.
                    await asyncio.sleep(SESSION_END)
                    try:
                        await handled.wait(update, TAKEOVER, held=True)
                        taken.append(time.monotonic() - killed)
                        answered.append(asyncio.create_task(handled_after(update, killed)))
                    except TimeoutError:
                        overdue.append(
                            f"kill {kill}: update {update['update_id']} acknowledged by"
                            f" {victim.tag}, SIGKILLed right after, was not taken over by a"
                            f" live process within {TAKEOVER:.0f} s (not waited for at the"
                            f" later kills)")
                await victim.start()

            async def handled_after(update: dict[str, Any], killed: float) -> float:
                await handled.wait(update, 2 * STEP)
                return time.monotonic() - killed

            restarts: list[asyncio.Task[None]] = []
            for kill in range(1, KILLS + 1):
                moment = ("random", "acked a press", "notification taken")[kill % 3]
                moments[moment] += 1
                # Another process is up at each kill: the victims are started again
                # meanwhile, one or two at a time.
                await api.wait_for(lambda: sum(bot.up for bot in fleet.bots) >= 2,
                                   timeout=2 * STEP)
                waited = time.monotonic()
                update = None
                if moment == "random":
                    await asyncio.sleep(rng.uniform(0.1, 1.0))
                    victim = rng.choice([bot for bot in fleet.bots if bot.up])
                    victim.kill_now()
                elif moment == "acked a press":
                    victim, update = await _kill_after_a_press(fleet)
                else:
                    victim = await _kill_after_a_notification(fleet)
                timeline.append(f"{victim.tag}: {time.monotonic() - waited:.1f}")
                restarts.append(asyncio.create_task(restart(victim, kill, update)))
            phases = f"kills {time.monotonic() - began:.0f} s"
            await asyncio.gather(*restarts)
            problems.found += overdue
            phases += f", restarted {time.monotonic() - began:.0f} s"
            burst.stop.set()
            await asyncio.wait_for(asyncio.gather(*people), 4 * STEP)
            phases += f", people done {time.monotonic() - began:.0f} s"
            with problems.block("drained"):
                await drained(fleet)
            phases += f", drained {time.monotonic() - began:.0f} s"
            waits = await asyncio.gather(*answered, return_exceptions=True)
            lost = [w for w in waits if not isinstance(w, float)]
            problems.check(not lost, f"{len(lost)} presses acknowledged by a killed process"
                                     f" and taken over never handled")
            seconds = sorted(w for w in waits if isinstance(w, float))
            if seconds:
                phases += (f"; presses acknowledged by a victim taken over after at most"
                           f" {max(taken):.1f} s, handled after {seconds[len(seconds) // 2]:.1f}"
                           f" s (median), {seconds[-1]:.1f} s at most")
        finally:
            burst.stop.set()
            for task in people:
                task.cancel()
            await asyncio.gather(*people, return_exceptions=True)
    late = await _quiet(api)
    codes = await fleet.stop()
    elapsed = time.monotonic() - began

    problems.check(codes == [0] * PROCESSES, f"exit statuses {codes}")
    problems.check(fleet.kills == KILLS, f"{fleet.kills} kills of {KILLS}")
    problems.check(burst.stuck == [], f"people stuck: {burst.stuck[:5]}")
    figures = ""
    with contextlib.closing(Reader(fleet.dsn)) as db, problems.block("reservations"):
        figures = _check_reservations(db, api, seeded, customers)  # type: ignore[arg-type]
    # The outbox of a process sends one message at a time: a kill leaves at most that
    # one sent and not written down as sent, which a live process sends again.
    news = _news(api)
    twice = sum(n - 1 for n in news.values())
    problems.check(twice <= fleet.kills,
                   f"shops told {twice} times more than once, for {fleet.kills} kills:"
                   f" {dict(Counter(n for n in news.values()))} (times told: reservations)")
    problems.check(not late, f"{len(late)} messages sent after everything was drained")
    # An update is handled by one process at a time: again only after its process died.
    live, again = _handled_twice(fleet)
    problems.check(not live, f"{len(live)} presses handled twice though the process that"
                             f" handled them first lived on: {live[:5]}")
    webhook = _webhook_and_rates(problems, fleet, registrations=None)
    print(f"\nburst on 3 processes (seed {SEED}): {fleet.kills} kills ({dict(moments)},"
          f" {fleet.missed} of them at once for want of their moment)"
          f" in {elapsed:.0f} s; {burst.presses} presses on « Réserver »,"
          f" {burst.sold_out_cards} sold-out cards, {burst.restocks} restocks,"
          f" {burst.handovers} hand-overs; {figures}; presses handled again after a kill:"
          f" {again}; {webhook}; kills {timeline}; phases {phases}")
    problems.verify(fleet.tails())


async def _kill_after_a_press(fleet: Fleet
                              ) -> tuple[WebhookProcess, dict[str, Any] | None]:
    """SIGKILL the next process that answers 200 to a press on « Réserver », right then
    (written down, not handled yet): the victim, and that update."""
    pressed: list[tuple[WebhookProcess, dict[str, Any]]] = []

    def acked(update: dict[str, Any], index: int) -> None:
        data = str(update.get("callback_query", {}).get("data", ""))
        if data.startswith("r:") and not pressed and fleet.bots[index].up:
            fleet.bots[index].kill_now()
            pressed.append((fleet.bots[index], update))

    fleet.balancer.acked = acked
    try:
        await fleet.server.api.wait_for(lambda: pressed, timeout=MOMENT)
    except AssertionError:
        victim = next(bot for bot in fleet.bots if bot.up)  # (no press came in time)
        victim.kill_now()
        fleet.missed += 1
        return victim, None
    finally:
        fleet.balancer.acked = None
    return pressed[0]


async def _kill_after_a_notification(fleet: Fleet) -> WebhookProcess:
    """SIGKILL the next process Telegram takes a notification to a shop from, right
    then, before it hears so (the one message in flight at the kill): the victim."""
    taken: list[WebhookProcess] = []
    owners = set(OWNERS)

    def sent(call: FakeCall, tag: str) -> None:
        victim = next(bot for bot in fleet.bots if bot.tag == tag)
        if call.ok and call.method == "sendMessage" and call.chat_id in owners \
                and not taken and victim.up:
            victim.kill_now()
            taken.append(victim)

    fleet.server.taken = sent
    try:
        await fleet.server.api.wait_for(lambda: taken, timeout=MOMENT)
    except AssertionError:
        taken.append(next(bot for bot in fleet.bots if bot.up))  # (none came in time)
        taken[0].kill_now()
        fleet.missed += 1
    finally:
        fleet.server.taken = None
    return taken[0]


# -- C: a digest run, its sender SIGKILLed 10 times ----------------------------------------


# The digest is due at once (« lun 00:00 »: since Monday), and goes at 10 a second (25 by
# default): the run lasts long enough for 10 kills.
@pytest.mark.parametrize("settings", [{"CHATSHOP_DIGEST_SCHEDULE": "lun 00:00",
                                       "CHATSHOP_DIGEST_RATE": "10"}])
async def test_a_digest_run_goes_on_at_once_when_its_sender_is_killed(
        fleet: Fleet) -> None:
    api = fleet.server.api
    rng = random.Random(SEED + 21)
    subscribers = list(range(5000, 5200))
    await seed(fleet.dsn, {OWNERS[0]: [("Savon lavande", 6), ("Miel de montagne", 4)]},
               subscribers)
    for external_id in subscribers:
        api.user(external_id, f"Abonné {external_id}", started=True)
    everyone = set(subscribers)
    # (when, which process, whether that process was up then) of each digest Telegram
    # took: a digest a process sent just before its SIGKILL may reach Telegram just after.
    sent: list[tuple[float, str, bool]] = []
    problems = Problems()
    in_flight = 0
    gaps: list[float] = []

    def digest_taken(call: FakeCall, tag: str) -> None:
        if call.ok and call.method == "sendMessage" and call.chat_id in everyone \
                and str(call.params.get("text", "")).startswith("📰"):
            bot = fleet.bots[int(tag.rsplit("-", 1)[1]) - 1]
            sent.append((time.monotonic(), tag, bot.up))
            if target is not None and target[0] == tag and len(sent) >= target[1]:
                if target[2]:
                    bot.kill_now()
                reached.set()

    target: tuple[str, int, bool] | None = None
    reached = asyncio.Event()
    fleet.server.taken = digest_taken
    began = time.monotonic()
    await fleet.start()  # their schedule: the digest is due (« lun 00:00 »)
    try:
        await api.wait_for(lambda: sent, timeout=STEP)
        restarts: list[asyncio.Task[int]] = []
        while fleet.kills < DIGEST_KILLS and len(sent) < len(subscribers) - 30:
            # Another process is up at each kill (at most one being started again).
            await api.wait_for(lambda: sum(bot.up for bot in fleet.bots) >= PROCESSES - 1,
                               timeout=STEP)
            # Killed once it sent 1 to 5 more: half of the time at the worst moment
            # (Telegram took one, the process never hears it), else a little later.
            sender = next(tag for _when, tag, up in reversed(sent) if up)
            victim = next(bot for bot in fleet.bots if bot.tag == sender)
            if not victim.up:
                await asyncio.sleep(0.02)
                continue
            worst = rng.random() < 0.5
            reached.clear()
            target = (sender, len(sent) + rng.randint(1, 5), worst)
            if not await _wait_event(reached, STEP):
                break  # (the run ended meanwhile)
            target = None
            if not worst:
                await asyncio.sleep(rng.uniform(0.0, 0.04))
            victim.kill_now()
            in_flight += worst
            killed_at, before = time.monotonic(), len(sent)
            await victim.wait()
            restarts.append(asyncio.create_task(victim.start()))
            # Another process goes on with the run at once (not the victim started again,
            # nor what the victim had sent before its end and Telegram took after it).
            def going_on(entry: tuple[float, str, bool], victim: str = victim.tag) -> bool:
                return entry[2] and entry[1] != victim
            try:
                await api.wait_for(lambda b=before: any(map(going_on, sent[b:])),
                                   timeout=DIGEST_TAKEOVER)
                gaps.append(next(e[0] for e in sent[before:] if going_on(e)) - killed_at)
            except AssertionError:
                problems.found.append(
                    f"kill {fleet.kills}: the digest run was not taken over by a live"
                    f" process within {DIGEST_TAKEOVER:.0f} s of its sender's SIGKILL"
                    f" ({len(sent)} of {len(subscribers)} sent): no more kills")
                break
        await asyncio.gather(*restarts)

        def finished() -> bool:
            return _digest_state(fleet.dsn) == ({"sent": len(subscribers)}, 0)
        with problems.block("the run finished"):
            await api.wait_for(finished, timeout=2 * STEP)
    finally:
        fleet.server.taken = None
    late = await _quiet(api)
    codes = await fleet.stop()
    elapsed = time.monotonic() - began

    problems.check(codes == [0] * PROCESSES, f"exit statuses {codes}")
    state = _digest_state(fleet.dsn)
    problems.check(state == ({"sent": len(subscribers)}, 0),
                   f"deliveries and unfinished runs: {state}")
    received = Counter({s: sum(1 for t in sent_texts(api, s) if t.startswith("📰"))
                        for s in subscribers})
    missed = [s for s, n in received.items() if n == 0]
    problems.check(not missed, f"{len(missed)} subscribers never reached: {missed[:10]}")
    duplicates = sum(max(n - 1, 0) for n in received.values())
    # Exactly once is impossible for the digest in flight at a kill (Telegram took it,
    # the process died before writing it down): at most one per kill; a kill at the
    # worst moment always makes one.
    problems.check(in_flight <= duplicates <= fleet.kills,
                   f"{duplicates} digests twice, for {fleet.kills} kills ({in_flight} at"
                   f" the worst moment): {dict(Counter(received.values()))}")
    # One sender at a time: the sending process changes only when its sender was killed.
    senders = [tag for _when, tag, _up in sent]
    changes = sum(1 for a, b in itertools.pairwise(senders) if a != b)
    problems.check(changes <= fleet.kills,
                   f"the digest sent by {dict(Counter(senders))}, changing hands {changes}"
                   f" times for {fleet.kills} kills: several senders at once")
    problems.check(not late, f"{len(late)} messages sent after the run finished")
    problems.check(fleet.kills >= 5, f"only {fleet.kills} kills during the run")
    webhook = _webhook_and_rates(problems, fleet, registrations=None)
    print(f"\ndigest on 3 processes (seed {SEED}): {fleet.kills} kills ({in_flight} at the"
          f" worst moment) in {elapsed:.0f} s; taken over after"
          f" {', '.join(f'{g:.1f}' for g in gaps)} s; {len(subscribers)} subscribers,"
          f" {duplicates} duplicates; senders {dict(Counter(senders))}; {webhook}")
    problems.verify(fleet.tails())


def _digest_state(dsn: str) -> tuple[dict[str, int], int]:
    with contextlib.closing(Reader(dsn)) as db:
        statuses = Counter(row[0] for row in db.execute(
            "SELECT status FROM digest_deliveries"))
        unfinished = db.execute(
            "SELECT count(*) FROM digest_runs WHERE finished_at IS NULL").fetchone()[0]
    return dict(statuses), int(unfinished)



# -- D: the demo, copied to PostgreSQL, served by two processes -------------------------


async def _visit(api: WebhookBotAPI, person: FakeUser) -> list[str]:
    """A customer's visit on Telegram (the menu, a search, its first product, another
    search): what the bot sent or changed in their chat at each step, text and buttons."""
    steps: list[Callable[[], object]] = [
        lambda: api.send_text(person, "/start"),
        lambda: api.send_text(person, "miel"),
        lambda: api.press(person, api.last(person).message_id,
                          str(api.last(person).reply_markup["inline_keyboard"][0][0]
                              ["callback_data"])),
        lambda: api.send_text(person, "creme"),
    ]
    seen: list[str] = []
    for step in steps:
        before = len(api.sent_to(person))
        step()
        await api.wait_for(lambda b=before: len(api.sent_to(person)) > b, timeout=STEP)
        while True:  # the step's answer is whole once the chat has been quiet a moment
            count = len(api.sent_to(person))
            await asyncio.sleep(0.8)
            if len(api.sent_to(person)) == count:
                break
        for call in api.sent_to(person)[before:]:
            result = call.result if isinstance(call.result, dict) else {}
            labels = [str(b.get("text")) for row in
                      (result.get("reply_markup") or {}).get("inline_keyboard", [])
                      for b in row]
            seen.append("\n".join([call.method, str(result.get("text")
                                                     or result.get("caption") or ""),
                                   *labels]))
    return seen


async def test_the_demo_copied_to_postgresql_and_served_by_two_processes_answers_the_same(
        tmp_path: Path, database: str, server: TaggedBotAPIServer) -> None:
    """The demo territory served by one ``chatshop run`` on its SQLite file, then copied
    to PostgreSQL (``chatshop db copy``) and served by two ``chatshop run`` behind the
    balancer: a customer's visit reads the same, step by step, and both processes
    answered some of it."""
    from chatshop.db_copy import copy_database
    from tests.test_db_copy import _make_demo

    api = server.api
    assert isinstance(api, WebhookBotAPI)
    demo = tmp_path / "demo.db"
    await _make_demo(demo)
    alone = WebhookProcess(tmp_path, str(demo), server, 1, {})
    pair = [WebhookProcess(tmp_path, database, server, n, {}) for n in (2, 3)]
    balancer = Balancer(api, [alone.port], random.Random(SEED + 21))
    try:
        await alone.start()
        on_sqlite = await _visit(api, api.user(880_001, "Jeanne", started=True))
        assert await alone.stop() == 0
        await copy_database(str(demo), database)
        balancer.ports = [bot.port for bot in pair]
        await asyncio.gather(*(bot.start() for bot in pair))
        marks = len(balancer.acked_by)
        on_postgresql = await _visit(api, api.user(880_002, "Jeanne", started=True))
        answered_by = set(list(balancer.acked_by.values())[marks:])
        assert await asyncio.gather(*(bot.stop() for bot in pair)) == [0, 0]
    finally:
        for bot in [alone, *pair]:
            if bot.running:
                await bot.kill()
        await balancer.close()
    assert len(on_sqlite) >= 4
    assert any("miel" in step.lower() for step in on_sqlite[1:])
    assert on_postgresql == on_sqlite
    assert answered_by == {0, 1}, f"one process answered every step: {answered_by}"
