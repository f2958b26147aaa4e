"""Benchmark: start-up time, from a new process to the answer to the first /start.

The database is built first (``bench/memory.py``'s: ``bench/digest.py``'s territory with
10 000 products and 10 000 subscribers). Then, several times, a **fresh interpreter**
starts the bot as ``chatshop run`` does (settings, ``chatshop.app.start``: the database
opened and checked, overdue reservations expired; the Telegram channel as the settings
describe it, its runtime, long polling) over the in-process fake Bot API, where a customer's
``/start`` is already waiting; it prints one line when the answer reaches the fake. The
time runs from just before the process is spawned to that line: interpreter start,
imports, opening, the first ``getUpdates`` and the first update handled.

Baselines, spawned the same way in the same run, interleaved: ``python -c "import
telegram"`` (the interpreter and python-telegram-bot's import alone), and the bare
interpreter (``python -c pass``).

The issue sets no goal for this figure; it is there to be compared between runs.

    python bench/startup.py [--quick] [--runs N] [--products N] [--subscribers N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from _common import (
    Figure,
    Result,
    add_json_option,
    finish,
    fmt_number,
    machine_description,
    median,
    print_table,
    settings_of,
)

CUSTOMER = 4242
READY = "ready"


def child(database: Path) -> None:
    """The bot, started as ``chatshop run`` starts it; prints READY once the first
    /start is answered, then stops."""
    from memory import TOKEN, child_settings

    from chatshop.app import start, telegram_channel
    from tests.fakes.bot_api import FakeBotAPI

    async def main() -> None:
        api = FakeBotAPI(token=TOKEN, global_per_second=None)
        api.user(CUSTOMER, "Marie")
        api.send_text(CUSTOMER, "/start")  # waiting for the first getUpdates
        app = await start(child_settings(database))
        try:
            channel = telegram_channel(app, request=api.request(),
                                       get_updates_request=api.request())
            await channel.start(polling=True)
            try:
                await api.wait_for(lambda: api.messages(CUSTOMER), timeout=30)
                print(READY, flush=True)
            finally:
                await channel.stop()
        finally:
            await app.close()

    asyncio.run(main())


def time_to_ready(command: Sequence[str], cwd: Path) -> float:
    """Seconds from spawning ``command`` to its READY line (then it is left to finish)."""
    from memory import clean_environment

    started = time.perf_counter()
    process = subprocess.Popen(list(command), cwd=cwd, env=clean_environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    took: float | None = None
    for line in process.stdout:
        if line.strip() == READY:
            took = time.perf_counter() - started
            break
    _out, err = process.communicate(timeout=120)
    if process.returncode != 0 or took is None:
        raise RuntimeError(f"{' '.join(command)[-80:]!r} failed (status {process.returncode}): "
                           f"{err.strip()[-1_000:]}")
    return took


def measure(args: argparse.Namespace) -> Result:
    """Run the benchmark, print its table, and return its figures and failed checks."""
    from memory import build_database

    failures: list[str] = []
    print("chatshop benchmark: start-up time, a new process to the first /start answered")
    for line in machine_description():
        print(line)
    python = sys.executable
    commands = {
        "bot": [python, str(Path(__file__).resolve()), "--child"],
        "import telegram": [python, "-c", f"import telegram; print({READY!r}, flush=True)"],
        "bare interpreter": [python, "-c", f"print({READY!r}, flush=True)"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-") as folder:
        database = Path(folder) / "startup.db"
        built = build_database(database, products=args.products,
                               subscribers=args.subscribers, shops=args.shops)
        fresh = Path(folder) / "run.db"  # each start on a copy: the same data every time
        commands["bot"] += ["--database", str(fresh)]
        print(f"data    : {fmt_number(args.products)} products, "
              f"{fmt_number(args.subscribers)} subscribers, built in {built:.1f} s; "
              f"{args.runs} runs of each, interleaved", flush=True)
        names = list(commands)

        def one(name: str) -> float:
            if name == "bot":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{fresh}{suffix}").unlink(missing_ok=True)
                    if Path(f"{database}{suffix}").exists():
                        shutil.copyfile(f"{database}{suffix}", f"{fresh}{suffix}")
            return time_to_ready(commands[name], Path(folder))

        try:
            one("bot")  # warm-up: the files in the page cache
            for run in range(args.runs):
                for name in names[run % len(names):] + names[:run % len(names)]:
                    times[name].append(one(name))
        except (RuntimeError, subprocess.TimeoutExpired) as problem:
            failures.append(str(problem))
    print()

    def ms(values: list[float], pick: Callable[[list[float]], float]) -> str:
        return f"{pick(values) * 1000:.0f}" if values else "n/a"

    bot = median(times["bot"]) * 1000 if times["bot"] else float("nan")
    base = median(times["import telegram"]) * 1000 if times["import telegram"] else float("nan")
    print_table(["process", "runs", "median ms", "min", "max", "x import telegram"],
                [[name, str(len(values)), ms(values, median), ms(values, min),
                  ms(values, max),
                  f"{median(values) * 1000 / base:.2f}" if values else ""]
                 for name, values in times.items()])
    print()
    print(f"start-up to the first /start answered: median {bot:.0f} ms, "
          f"{bot / base:.1f}x `python -c \"import telegram\"` (no goal set)")
    figures = [Figure(f"start-up to first /start answered, {fmt_number(args.products)} "
                      "products", bot, "ms", baseline=base,
                      baseline_name="python -c 'import telegram'",
                      note=f"median of {len(times['bot'])} fresh processes")]
    return Result("startup", figures, failures, "Every start answered its first /start.",
                  settings_of(args))


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="a small run (1 000 products and subscribers, 3 runs)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7)")
    parser.add_argument("--products", type=int, default=10_000,
                        help="products in the database (default 10 000)")
    parser.add_argument("--subscribers", type=int, default=10_000,
                        help="digest subscribers (default 10 000)")
    parser.add_argument("--shops", type=int, default=200, help="shops (default 200)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.products, args.subscribers, args.shops, args.runs = 1_000, 1_000, 20, 3
    if args.runs < 1 or args.shops < 6 or args.products < args.shops:
        parser.error("need runs, at least 6 shops and one product per shop")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.child:
        child(args.database)
        return 0
    return finish(measure(args), args)


if __name__ == "__main__":
    sys.exit(main())
