"""Benchmark: the whole Telegram stack against a bare python-telegram-bot echo bot.

Both run as python-telegram-bot ``Application``s with long polling over the same
in-process fake Bot API (``tests/fakes/bot_api.py``, its rate limit lifted: this measures
us, not Telegram's limits), in the same run, rounds interleaved:

* **chatshop**: the Telegram adapter, the conversation core and SQLite on disk, on the
  demo territory. python-telegram-bot polls, dispatches and sends, on its public API
  only: each update is an ``Update``, each reply goes through ``Bot.send_message`` and
  its siblings with python-telegram-bot's keyboards (built once per set of buttons,
  ``render.keyboard``), and every batch is written down by the getUpdates request before
  Telegram is told, and the messages Telegram answers to sends are read down to their
  ids (``transport.py``). Each simulated customer makes
  visits: the menu, a typed search, a product opened by its shared link
  (``/start p_<id>``), « Réserver 1 » pressed on it
  (each reservation notifies the shop's staff through the outbox). They are regulars
  who gave their phone number once, before the clock starts, so every answer is one
  message.
* **echo** (baseline): a handler that answers every text with the same text and every
  button press with an answer and a message, written the usual python-telegram-bot way
  (``Update`` objects, ``reply_text``).

The customers are closed loops (send, wait for the bot's answer in their chat, send the
next), so throughput is updates handled per second; the latency of one update runs from
the moment it is available to ``getUpdates`` to the moment the bot's answer reaches the
fake. A paced run then offers a fixed rate (default 1 000 updates/s) for the p99 at that
load: open loop, from 1 000 customers the bot already knows (the menu, a search, a
product card), each update from one who is not waiting for an answer.

    python bench/telegram_stack.py [--quick] [--customers N] [--rounds N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    median,
    percentile,
    print_table,
    settings_of,
)
from engines import add_engine_options, database, engines_of, label_result, merge, server
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from chatshop.app import settle_garbage_collector
from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_TERRITORY, seed_demo
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store
from tests.fakes.bot_api import FakeBotAPI, FakeCall

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TARGET_RATE = 1_000
TARGET_RATIO = 0.5
TARGET_P99_MS = 20.0
SEARCHES = ["miel", "creme", "savon", "bracelet", "confiture", "shampoing", "bougie"]


class WatchedAPI(FakeBotAPI):
    """The fake Bot API, telling whoever waits on a chat when the bot answers there, and
    checking every call as it ends (refused? an incident apology?). It keeps only the
    last two calls and messages of each chat (``keep_history``), as a real Bot API keeps
    nothing in the bot's process: the records of hundreds of thousands of calls made
    the garbage collector pause both bots for up to 60 ms, and clearing them in one go
    every 2 000 calls paused them for 17-25 ms."""

    def __init__(self, latency: float) -> None:
        super().__init__(global_per_second=None, latency=latency, keep_history=2)
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.refused: list[str] = []  # "method: error" of every call not answered 200
        self.incidents = 0  # replies apologising for an incident
        self.on_call = self._call_ended

    def _call_ended(self, call: FakeCall) -> None:
        if call.status not in (200, None) or call.outcome in ("timeout", "network"):
            self.refused.append(f"{call.method}: {call.error or call.outcome}")
        elif call.status == 200 and call.method.startswith(("send", "edit")):
            if "incident" in str(call.params).lower():
                self.incidents += 1
            waiter = self.waiting.pop(call.chat_id, None) if isinstance(call.chat_id, int) \
                else None
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())


Send = Callable[[int, str], Awaitable[float]]


async def demo_territory(db: str | Path) -> tuple[Store, Services, list[int]]:
    """The demo territory in ``db`` (a SQLite file or a PostgreSQL DSN), and the ids of
    its listed products."""
    store = await open_store(db)
    services = build_services(store, operators=frozenset({DEMO_OPERATOR}))
    operator = services.customers.actor(await services.customers.seen(*DEMO_OPERATOR, "Office"))
    await seed_demo(services, operator=operator)
    products: list[int] = []
    for shop in (await services.shops.browse(limit=50)).items:
        listed = await services.catalogue.shop_catalogue(shop.id, limit=50)
        products += [item.product.id for item in listed.items]
    return store, services, products


def settle() -> None:
    """Before a measured series: the garbage collector as ``chatshop run`` sets it once
    started (``settle_garbage_collector``): what is alive so far (the territory, the
    fake's last records, python-telegram-bot) set aside, the young generations collected
    less often. Both bots share the process, so the echo bot runs with it too."""
    settle_garbage_collector()


async def wait_for_answer(api: WatchedAPI, chat: int, push: Callable[[], object],
                          patience: float = 30.0) -> float:
    """Push an update from ``chat``; the seconds until the bot's answer reaches the fake."""
    waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    api.waiting[chat] = waiter
    started = time.perf_counter()
    push()
    return await asyncio.wait_for(waiter, patience) - started


def sender(api: WatchedAPI, timeout: float = 30.0
           ) -> tuple[Send, Callable[[int, str], Awaitable[float]]]:
    """(send a text, press a button by label prefix): each returns the latency in s."""

    async def wait(chat: int, push: Callable[[], object]) -> float:
        return await wait_for_answer(api, chat, push, timeout)

    async def send(chat: int, text: str) -> float:
        return await wait(chat, lambda: api.send_text(chat, text))

    async def press(chat: int, label_start: str) -> float:
        last = api.last(chat)
        label = next((x for x in last.labels if x.startswith(label_start)), None)
        if label is None:
            return await send(chat, "/menu")
        return await wait(chat, lambda: api.press_label(chat, label, last.message_id))

    return send, press


async def visits(api: WatchedAPI, customers: int, seconds: float, products: list[int],
                 latencies: list[float]) -> float:
    """Closed-loop customers for ``seconds``; returns updates handled per second."""
    send, press = sender(api)
    count = [0]

    async def regular(n: int) -> None:
        # Regulars who gave their number once: a reservation is then answered with one
        # message (a customer without a number also gets the « share your number »
        # keyboard, a second message this closed loop would take for the next answer).
        chat = 50_000 + n
        api.user(chat, f"Client {n}", started=True)
        if not api.messages(chat):
            await wait_for_answer(api, chat, lambda: api.send_contact(chat, f"+3361{chat:07d}"))

    await asyncio.gather(*(regular(n) for n in range(customers)))
    stop_at = time.perf_counter() + seconds

    async def customer(n: int) -> None:
        chat = 50_000 + n
        step = 0
        while time.perf_counter() < stop_at:
            match step % 4:
                case 0:
                    latencies.append(await send(chat, "/menu"))
                case 1:
                    latencies.append(await send(chat, SEARCHES[(n + step) % len(SEARCHES)]))
                case 2:
                    product = products[(n + step) % len(products)]
                    latencies.append(await send(chat, f"/start p_{product}"))
                case _:
                    latencies.append(await press(chat, "✅"))
            count[0] += 1
            step += 1

    settle()
    started = time.perf_counter()
    await asyncio.gather(*(customer(n) for n in range(customers)))
    return count[0] / (time.perf_counter() - started)


async def echo_visits(api: WatchedAPI, customers: int, seconds: float,
                      latencies: list[float]) -> float:
    send, press = sender(api)
    stop_at = time.perf_counter() + seconds
    count = [0]

    async def customer(n: int) -> None:
        chat = 90_000 + n
        api.user(chat, f"Client {n}", started=True)
        step = 0
        while time.perf_counter() < stop_at:
            if step % 4 == 3:
                latencies.append(await press(chat, "Écho"))
            else:
                latencies.append(await send(chat, SEARCHES[(n + step) % len(SEARCHES)]))
            count[0] += 1
            step += 1

    settle()
    started = time.perf_counter()
    await asyncio.gather(*(customer(n) for n in range(customers)))
    return count[0] / (time.perf_counter() - started)


def echo_bot(api: WatchedAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    """The baseline: python-telegram-bot alone, answering with what it got."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Écho", callback_data="e")]])

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "?",
                                                  reply_markup=markup)

    async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        assert update.effective_chat is not None
        await update.callback_query.answer()
        await update.get_bot().send_message(update.effective_chat.id, "Écho",
                                            reply_markup=markup)

    app = (ApplicationBuilder().token(TOKEN).request(api.request())
           .get_updates_request(api.request()).concurrent_updates(256).job_queue(None)
           .build())  # type: ignore[arg-type]
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def paced(api: WatchedAPI, rate: float, seconds: float, products: list[int],
                latencies: list[float], first_chat: int, pool: int = 1_000) -> float:
    """Open loop: one update every 1/rate s, from ``pool`` customers the bot already
    knows (each has said « /start » before), each time from the next one who is not
    waiting for an answer (when all of them are, that update is not offered, and said);
    returns the rate achieved. An update offered beyond what the
    bot handles waits its turn: each is given 30 s, plus the time the whole offer takes
    at 50 updates/s (a bot slower than the rate offered, as on PostgreSQL here, answers
    the last ones late, not never)."""
    send, _press = sender(api, 30.0 + rate * seconds / 50)
    chats = [first_chat + n for n in range(pool)]

    async def known(chat: int) -> None:
        api.user(chat, f"Habitué {chat - first_chat}", started=True)
        await send(chat, "/start")

    for batch in range(0, pool, 100):  # not all at once: the bot is not measured here
        await asyncio.gather(*(known(chat) for chat in chats[batch:batch + 100]))
    waiting: set[int] = set()

    async def one(chat: int, text: str) -> None:
        try:
            latencies.append(await send(chat, text))
        finally:
            waiting.discard(chat)

    total = int(rate * seconds)
    # Only the updates still in flight are kept (thousands of finished tasks kept to the
    # end made every full garbage collection walk them).
    in_flight: set[asyncio.Task[None]] = set()
    turn = skipped = 0
    settle()
    started = time.perf_counter()
    for n in range(total):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(pool):  # the next customer who is not waiting
            turn += 1
            if chats[turn % pool] not in waiting:
                break
        else:  # all of them are: a second update from one would orphan its first wait
            skipped += 1
            continue
        chat = chats[turn % pool]
        text = ("/menu", SEARCHES[n % len(SEARCHES)],
                f"/start p_{products[n % len(products)]}")[n % 3]
        # Waiting from now, not from when its task starts: behind schedule, this loop
        # does not yield, and would pick the same customer again before it started.
        waiting.add(chat)
        task = asyncio.create_task(one(chat, text))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    if skipped:
        print(f"  paced at {rate:,.0f}/s: {skipped:,} of {total:,} updates not offered, every"
              f" one of the {pool:,} customers waiting for an answer at their turn")
    return (total - skipped) / (time.perf_counter() - started)


async def measure_engine(args: argparse.Namespace, engine: str,
                         server_dsn: str | None) -> Result:
    """The benchmark with the store on one engine: its tables printed, its figures and
    failed checks."""
    failures: list[str] = []
    print("chatshop benchmark: the Telegram stack against a bare python-telegram-bot echo bot"
          f" (store on {engine})")
    for line in machine_description():
        print(line)
    print(f"load    : {args.customers} closed-loop customers, {args.seconds:g} s per round, "
          f"{args.rounds} rounds each, interleaved; then {args.rate:,.0f} updates/s offered "
          f"for {args.paced_seconds:g} s")
    print()
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder, \
            database(engine, Path(folder), server_dsn) as db:
        store, services, products = await demo_territory(db)
        operator = services.customers.actor(
            await services.customers.seen(*DEMO_OPERATOR, "Office"))
        for product_id in products:  # never sold out: this measures speed
            await services.catalogue.set_stock(operator, product_id, 100_000)

        chatshop_api, echo_api = WatchedAPI(args.latency), WatchedAPI(args.latency)
        conversation = Conversation(services, territory=DEMO_TERRITORY,
                                    tz=ZoneInfo("Europe/Paris"))
        channel = TelegramChannel(services, conversation, token=TOKEN,
                                  request=chatshop_api.request(),
                                  get_updates_request=chatshop_api.request())
        echo = echo_bot(echo_api)
        await channel.start(polling=True)
        await echo.initialize()
        await echo.start()
        assert echo.updater is not None
        await echo.updater.start_polling()
        ours: list[float] = []
        theirs: list[float] = []
        our_latency: list[float] = []
        their_latency: list[float] = []
        try:
            for round_ in range(args.rounds):
                rate = await visits(chatshop_api, args.customers, args.seconds, products,
                                    our_latency)
                base = await echo_visits(echo_api, args.customers, args.seconds,
                                         their_latency)
                ours.append(rate)
                theirs.append(base)
                print(f"  round {round_ + 1}/{args.rounds}: chatshop {rate:,.0f} updates/s, "
                      f"echo {base:,.0f} updates/s")
            paced_latency: list[float] = []
            achieved = await paced(chatshop_api, args.rate, args.paced_seconds, products,
                                   paced_latency, 200_000)
            # The echo bot offered the same rate: the least that rate costs here.
            echo_paced_latency: list[float] = []
            echo_achieved = await paced(echo_api, args.rate, args.paced_seconds,
                                        products, echo_paced_latency, 600_000)
            # And at half the throughput measured above: the latency of a bot that is
            # busy but not overloaded.
            half = max(median(ours) / 2, 1.0)
            half_latency: list[float] = []
            half_achieved = await paced(chatshop_api, half, args.paced_seconds, products,
                                        half_latency, 400_000)
            await channel.deliver_outbox()
            reservations = store.db.lookup_now("SELECT count(*) FROM reservations")[0][0]
        finally:
            await channel.stop()
            assert echo.updater is not None
            await echo.updater.stop()
            await echo.stop()
            await echo.shutdown()
            await store.close()
        # A quarter of the closed-loop steps press « Réserver 1 »: if none made a
        # reservation, the customers were not doing what this benchmark says.
        print(f"reservations made: {reservations:,}")
        if reservations == 0:
            failures.append("no reservation was made: the « Réserver » step never ran")
        if chatshop_api.incidents:
            failures.append(f"{chatshop_api.incidents} replies were incident apologies")
        if chatshop_api.refused:
            failures.append(f"{len(chatshop_api.refused)} calls refused by the fake, e.g. "
                            f"{chatshop_api.refused[0]}")

    def ms(values: Sequence[float], pct: float) -> str:
        return f"{percentile(values, pct) * 1000:.1f}"

    print()
    print_table(
        ["series", "median updates/s", "min", "max", "p50 ms", "p99 ms"],
        [["chatshop (full stack)", f"{median(ours):,.0f}", f"{min(ours):,.0f}",
          f"{max(ours):,.0f}", ms(our_latency, 50), ms(our_latency, 99)],
         ["echo bot (baseline)", f"{median(theirs):,.0f}", f"{min(theirs):,.0f}",
          f"{max(theirs):,.0f}", ms(their_latency, 50), ms(their_latency, 99)],
         [f"chatshop paced at {args.rate:,.0f}/s", f"{achieved:,.0f}", "", "",
          ms(paced_latency, 50), ms(paced_latency, 99)],
         [f"echo bot paced at {args.rate:,.0f}/s", f"{echo_achieved:,.0f}", "", "",
          ms(echo_paced_latency, 50), ms(echo_paced_latency, 99)],
         [f"chatshop paced at {half:,.0f}/s (half)", f"{half_achieved:,.0f}", "", "",
          ms(half_latency, 50), ms(half_latency, 99)]])
    ratio = median(ours) / median(theirs)
    print(f"\nratio chatshop / echo: {ratio:.2f} (goal >= {TARGET_RATIO:.2f}) -> "
          f"{'MET' if ratio >= TARGET_RATIO else 'NOT MET'}")
    print(f"chatshop throughput: {median(ours):,.0f} updates/s (goal >= {TARGET_RATE:,}) -> "
          f"{'MET' if median(ours) >= TARGET_RATE else 'NOT MET'}")
    p99 = percentile(paced_latency, 99) * 1000
    print(f"p99 at {args.rate:,.0f} updates/s offered: {p99:.1f} ms "
          f"(goal <= {TARGET_P99_MS:g} ms) -> {'MET' if p99 <= TARGET_P99_MS else 'NOT MET'}")
    figures = [
        Figure(f"Telegram stack updates/s, {args.customers} customers", median(ours), "/s",
               baseline=median(theirs), baseline_name="PTB echo bot", goal=TARGET_RATE,
               goal_op=">=", note=f"min {min(ours):,.0f}, max {max(ours):,.0f}; "
                                  f"{args.rounds} rounds of {args.seconds:g} s"),
        Figure("Telegram stack / echo bot throughput", ratio, "×", goal=TARGET_RATIO,
               goal_op=">="),
        Figure(f"Telegram p99, {args.customers} closed-loop customers",
               percentile(our_latency, 99) * 1000, "ms",
               baseline=percentile(their_latency, 99) * 1000, baseline_name="echo bot",
               note=f"p50 {percentile(our_latency, 50) * 1000:.1f} ms"),
        Figure(f"Telegram p99 at {fmt_number(args.rate)}/s offered", p99, "ms",
               baseline=percentile(echo_paced_latency, 99) * 1000,
               baseline_name="echo bot, same rate", goal=TARGET_P99_MS, goal_op="<=",
               note=f"achieved {achieved:,.0f}/s; p50 "
                    f"{percentile(paced_latency, 50) * 1000:.1f} ms"),
        Figure(f"Telegram p99 at {fmt_number(round(half))}/s offered (half)",
               percentile(half_latency, 99) * 1000, "ms",
               note=f"achieved {half_achieved:,.0f}/s"),
    ]
    return Result("telegram_stack", figures, failures,
                  "No incident, no call refused by the fake Bot API.", settings_of(args))


async def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark with the store on each engine asked for, print its tables, and
    return its figures and failed checks."""
    results = []
    with server(args) as server_dsn:
        for engine in engines_of(args):
            results.append(label_result(await measure_engine(args, engine, server_dsn),
                                        engine))
            print()
    return merge(results)


async def run(args: argparse.Namespace) -> int:
    return finish(await measure(args), args)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small fast run")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--paced-seconds", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.001,
                        help="seconds each Bot API call takes in the fake (default 1 ms: a "
                             "Bot API server next to the bot; 0: an answer before the call "
                             "even yields)")
    add_engine_options(parser)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.seconds, args.rounds, args.paced_seconds = 20, 1.0, 2, 1.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
