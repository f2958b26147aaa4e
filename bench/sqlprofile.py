"""Where a benchmark's SQL time goes: runs another script of this folder in this process
with every statement sent through aiosqlite timed (in its worker thread, from start to
fetched rows), then prints the statements that took the most time in all.

    python bench/sqlprofile.py load.py --customers 5000 --think 10 --seconds 30 \\
        --products 100000 --shops 2000 --cache /tmp/chatshop-bench-cache
    python bench/sqlprofile.py --top 30 conversation.py --products 100000

Each line: total seconds, calls, mean ms and max ms of one statement (its text, spaces
folded, cut to 160 characters; what is not a single statement is named by its Python
function, e.g. ``Database.run_write.<locals>.in_thread`` for a transaction). Statements
that chatshop runs on the event loop's thread (``Database.lookup``) are not seen here.
"""

from __future__ import annotations

import argparse
import atexit
import re
import runpy
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite.core

BENCH = Path(__file__).resolve().parent


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.longest: dict[str, float] = defaultdict(float)

    def add(self, label: str, seconds: float) -> None:
        with self.lock:
            self.total[label] += seconds
            self.calls[label] += 1
            self.longest[label] = max(self.longest[label], seconds)

    def report(self, top: int) -> None:
        spent = sum(self.total.values())
        print(f"\nSQL through aiosqlite: {spent:.1f} s in {sum(self.calls.values()):,} calls; "
              f"the {top} costliest:", file=sys.stderr)
        for label in sorted(self.total, key=self.total.__getitem__, reverse=True)[:top]:
            total, calls = self.total[label], self.calls[label]
            print(f"{total:8.2f} s {total / spent:5.1%} {calls:8,} calls "
                  f"{total / calls * 1000:8.2f} ms mean {self.longest[label] * 1000:8.1f} ms max"
                  f"  {label}", file=sys.stderr)


def label_of(fn: Callable[..., Any], args: Sequence[Any]) -> str:
    name = getattr(fn, "__name__", "")
    if name.startswith("_execute") and args and isinstance(args[0], str):
        return re.sub(r"\s+", " ", args[0]).strip()[:160]
    return getattr(fn, "__qualname__", repr(fn))


def install(stats: Stats) -> None:
    original = aiosqlite.core.Connection._execute

    async def timed_execute(self: Any, fn: Callable[..., Any], *args: Any,
                            **kwargs: Any) -> Any:
        label = label_of(fn, args)

        def timed(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stats.add(label, time.perf_counter() - started)

        return await original(self, timed, *args, **kwargs)

    aiosqlite.core.Connection._execute = timed_execute  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time every SQL statement of a benchmark.")
    parser.add_argument("--top", type=int, default=20, help="statements shown (default 20)")
    parser.add_argument("script", help="a script of bench/, e.g. load.py")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="its options")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    stats = Stats()
    install(stats)
    atexit.register(stats.report, args.top)
    script = BENCH / args.script
    sys.argv = [str(script), *args.options]
    sys.path.insert(0, str(BENCH))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
