"""Benchmark: peak memory of the bot with 10 000 products and 10 000 subscribers.

The database is built first, in this process, with ``bench/digest.py``'s territory
(200 shops over 13 communes, 10 000 products with a week of news, 10 000 Telegram
subscribers). Then a **fresh child process** (so that neither the builder nor this
process count) runs the bot as ``chatshop run`` does: settings, ``chatshop.app.start``
(database opened, services, conversation), the Telegram channel as the settings describe
it (``chatshop.app.telegram_channel``: its rate limiter, its runtime), long polling the
in-process fake Bot API (``tests/fakes/bot_api.py``). There it

1. handles a few hundred customer updates (``bench/load.py``'s customers: menu, search,
   a result, a product by its link, « Réserver 1 », sometimes cancelling);
2. composes this week's digest for every subscriber as a digest run's sender does:
   subscribers in keyset pages (``services.digest.compose_all``), one share per distinct
   (scope, since) group, and each subscriber's message rendered from its group
   (``delivery.broadcast.digest_message``), then dropped (the run sends it and keeps
   nothing);

and reports its peak resident set size (``VmHWM`` in ``/proc/self/status``, else
``ru_maxrss``), after each stage.

Baseline, in the same run: another fresh child that imports the same modules (chatshop,
python-telegram-bot, the fake, the benchmark code) and stops there: what any bot of
this code costs before it opens anything.

Goal (issues #7 and #13): <= 150 MB (10^6 bytes) of RSS, at 10 000 and at 100 000
products and subscribers.

    python bench/memory.py [--quick] [--products N] [--subscribers N] [--updates N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    print_table,
    settings_of,
)

GOAL_MB = 150.0
MB = 1_000_000
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TERRITORY = "Porte Océane du Limousin"
# The weekly digest job must not start a real run (to 10 000 chats the fake does not
# know) while the child runs: due only in the last minute of the week.
NEVER_DUE = "dim 23:59"


# -- the database ----------------------------------------------------------------------

def build_database(path: Path, *, products: int, subscribers: int, shops: int = 200,
                   seed: int = 87600) -> float:
    """``bench/digest.py``'s territory and subscribers in a new database at ``path``;
    returns the seconds it took."""
    from _common import open_territory
    from digest import build_territory, insert_subscribers, make_subscribers

    sizes = argparse.Namespace(shops=shops, products=products, new=300, restocked=150,
                               announcements=50, holidays=3, closed=2, stale_weeks=8)

    async def build() -> None:
        territory = await open_territory(path.parent)
        try:
            rng = random.Random(seed)
            now = datetime.now(UTC)
            world = await build_territory(territory, sizes, rng, now)
            world.subscribers = make_subscribers(world, subscribers, rng, 600_000)
            await insert_subscribers(territory.store, world.subscribers, now)
        finally:
            await territory.close()
        built = path.parent / "bench.db"
        if built != path:
            built.rename(path)

    started = time.perf_counter()
    asyncio.run(build())
    return time.perf_counter() - started


def clean_environment() -> dict[str, str]:
    """The caller's environment without its CHATSHOP_ settings (the child's are given)."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("CHATSHOP_")}


def child_settings(database: Path, **more: Any) -> Any:
    """Settings as ``chatshop run`` would read them, for the fake Bot API."""
    from chatshop.config import load_settings

    return load_settings(database=str(database), territory=TERRITORY, telegram_token=TOKEN,
                         digest_schedule=NEVER_DUE, **more)


# -- the child process -----------------------------------------------------------------

def peak_kb() -> int:
    """The process's peak resident set size so far, in KiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child(mode: str, database: Path, customers: int, updates: int) -> dict[str, Any]:
    # The same imports in both modes: the bare child is the baseline.
    import load
    from telegram_stack import WatchedAPI

    from chatshop.app import start, telegram_channel
    from chatshop.delivery.broadcast import digest_message

    if mode == "bare":
        return {"peak_kb": peak_kb()}

    async def main() -> dict[str, Any]:
        errors = load.ErrorLog()
        logging.getLogger().addHandler(errors)
        stages: dict[str, int] = {"imports": peak_kb()}
        app = await start(child_settings(database, telegram_max_per_second=0))
        api = WatchedAPI(0.001)
        channel = telegram_channel(app, request=api.request(),
                                   get_updates_request=api.request())
        listed = [int(row[0]) for row in app.store.db.lookup_now(
            "SELECT id FROM products WHERE hidden = 0 AND deleted_at IS NULL AND on_hand > 0"
            " ORDER BY id")]
        crowd = load.Crowd(api, channel.application, products=listed,
                           scarce=listed[:: max(1, len(listed) // 8)][:8], think=0.0)
        await channel.start(polling=True)
        stages["started"] = peak_kb()
        try:
            await crowd.run(customers, updates=updates)
            stages["traffic"] = peak_kb()
            composed = 0
            async for page in app.services.digest.compose_all("telegram"):
                for subscriber, share in page:
                    digest_message(share.to(subscriber), TERRITORY)
                    composed += 1
            stages["digest"] = peak_kb()
        finally:
            await channel.stop()
            await app.close()
        refused = [c for c in api.calls if c.status not in (200, None)]
        return {"peak_kb": peak_kb(), "stages": stages, "digests": composed,
                "updates": crowd.tally.steps, "late": crowd.tally.late,
                "errors": [f"{r.name}: {r.getMessage()[:200]}" for r in errors.errors()],
                "refused": [f"{c.method}: {c.error}" for c in refused[:5]],
                "refused_count": len(refused)}

    return asyncio.run(main())


def run_child(mode: str, database: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``mode`` in a fresh interpreter; its answer is the last line it prints."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--database",
         str(database), "--customers", str(args.customers), "--updates", str(args.updates)],
        cwd=database.parent, env=clean_environment(), capture_output=True, text=True,
        timeout=600, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the {mode} child failed (status {done.returncode}): "
                           f"{done.stderr.strip()[-1_000:]}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


# -- the run ---------------------------------------------------------------------------

def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its table, and return its figures and failed checks."""
    failures: list[str] = []
    print("chatshop benchmark: peak memory of the bot (fresh child process)")
    for line in machine_description():
        print(line)
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        database = Path(folder) / "memory.db"
        built = build_database(database, products=args.products,
                               subscribers=args.subscribers, shops=args.shops)
        print(f"data    : {fmt_number(args.products)} products in {args.shops} shops, "
              f"{fmt_number(args.subscribers)} Telegram subscribers, built in {built:.1f} s "
              f"({database.stat().st_size / MB:.1f} MB on disk)")
        print(f"child   : start, {args.updates} updates from {args.customers} customers, "
              f"compose the digest for every subscriber", flush=True)
        bare = run_child("bare", database, args)
        measured = run_child("measure", database, args)

    stages = measured["stages"]
    peak = measured["peak_kb"] * 1024 / MB
    base = bare["peak_kb"] * 1024 / MB
    print()
    print_table(["process", "peak RSS MB"],
                [["baseline: imports only", f"{base:.1f}"],
                 *[[f"bot: after {stage}", f"{kb * 1024 / MB:.1f}"]
                   for stage, kb in stages.items()],
                 ["bot: at the end", f"{peak:.1f}"]])
    print()
    print(f"traffic: {measured['updates']} updates; digest composed for "
          f"{fmt_number(measured['digests'])} subscribers")
    print(f"Goal: peak RSS <= {GOAL_MB:g} MB: {peak:.1f} MB -> "
          f"{'MET' if peak <= GOAL_MB else 'NOT MET'} ({peak / base:.2f}x the imports alone)")
    if measured["errors"]:
        failures.append(f"{len(measured['errors'])} errors logged by the bot, e.g. "
                        f"{measured['errors'][0]}")
    if measured["refused_count"]:
        failures.append(f"{measured['refused_count']} calls refused by the fake Bot API, "
                        f"e.g. {measured['refused'][0]}")
    if measured["late"]:
        failures.append(f"{measured['late']} updates not handled within 30 s")
    if measured["digests"] != args.subscribers:
        failures.append(f"{measured['digests']} digests composed for {args.subscribers} "
                        f"subscribers")
    figures = [Figure(f"peak RSS, {fmt_number(args.products)} products + "
                      f"{fmt_number(args.subscribers)} subscribers", peak, "MB",
                      baseline=base, baseline_name="imports only", goal=GOAL_MB,
                      goal_op="<=",
                      note=f"{measured['updates']} updates handled, digest composed")]
    return Result("memory", figures, failures,
                  "No error in the child, every update answered, a digest for every "
                  "subscriber.", settings_of(args))


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a small run (1 000 products, 1 000 subscribers, 100 updates)")
    parser.add_argument("--products", type=int, default=10_000,
                        help="products in the database (default 10 000)")
    parser.add_argument("--subscribers", type=int, default=10_000,
                        help="digest subscribers (default 10 000)")
    parser.add_argument("--shops", type=int, default=200, help="shops (default 200)")
    parser.add_argument("--updates", type=int, default=400,
                        help="customer updates handled before composing (default 400)")
    parser.add_argument("--customers", type=int, default=100,
                        help="customers sending them (default 100)")
    parser.add_argument("--child", choices=("bare", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.subscribers, args.shops, args.updates = 1_000, 1_000, 20, 100
    if args.shops < 6 or args.products < args.shops or args.subscribers < 1:
        parser.error("need at least 6 shops, one product per shop and one subscriber")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.database, args.customers, args.updates)))
        return 0
    return finish(measure(args), args)


if __name__ == "__main__":
    sys.exit(main())
