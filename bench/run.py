"""Every benchmark, one table: ``python bench/run.py [--quick] [--json FILE]``.

Runs each benchmark of this folder as its own process, one after the other (so that
their timings and memory do not mix), collects the figures each one writes with
``--json``, and prints one table: figure | value | baseline (measured in the same run)
| ratio | goal (the issues') | met, after the machine it ran on. ``--json FILE`` writes
the same as JSON (machine, date, every figure, every failed check, each benchmark's own
output).

The full run keeps the issues' sizes (10 000 products, 10 000 subscribers, 100 concurrent
WhatsApp deliveries, 1 000 digests at 25/s, 500 customers for 60 s, ...) with fewer
rounds than the scripts' own defaults, to stay under 5 minutes on a 2-core machine;
``--quick`` runs each script's ``--quick`` (under a minute, smaller sizes: a smoke test
for CI, whose figures mean little).

The exit status is 1 if a correctness check failed (overselling, a lost delivery, an
error logged, a benchmark that crashed), never because of a figure: goals not met show
in the table's last column.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    FIGURE_HEADERS,
    Figure,
    machine_description,
    machine_info,
    now_iso,
    print_table,
    write_json,
)

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    full: tuple[str, ...]  # options of the full run (the sizes, fewer rounds)
    seconds: int  # about how long the full run takes here, for the plan


BENCHMARKS = [
    Benchmark("reservations", ("--rounds", "3"), 10),
    Benchmark("search", ("--repeat", "30", "--concurrent-searches", "800"), 10),
    Benchmark("conversation", ("--rounds", "3"), 8),
    Benchmark("telegram_stack", ("--rounds", "3"), 30),
    Benchmark("digest", ("--repeat", "3", "--sample", "100", "--stale", "0"), 55),
    Benchmark("whatsapp_webhook", ("--deliveries", "1000", "--rounds", "3"), 25),
    Benchmark("memory", (), 12),
    Benchmark("startup", ("--runs", "5"), 12),
    Benchmark("load", (), 65),
    Benchmark("web", ("--rounds", "3", "--seconds", "1"), 60),
]


@dataclass
class Outcome:
    """One benchmark's run: its figures and failed checks, as its JSON says."""

    benchmark: Benchmark
    command: list[str]
    exit_status: int | None = None
    seconds: float = 0.0
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark.name, "command": self.command,
                "exit_status": self.exit_status, "seconds": round(self.seconds, 1),
                "settings": self.settings, "figures": [f.to_json() for f in self.figures],
                "failures": self.failures, "output": self.output}


def figure_of(data: dict[str, Any]) -> Figure:
    def number(value: Any) -> float:
        return float("nan") if value is None else float(value)

    return Figure(name=data["name"], value=number(data["value"]), unit=data["unit"],
                  baseline=data["baseline"], baseline_name=data["baseline_name"],
                  ratio=data["ratio"], goal=data["goal"], goal_op=data["goal_op"],
                  note=data["note"])


def run_one(benchmark: Benchmark, quick: bool, folder: Path, verbose: bool,
            timeout: float) -> Outcome:
    results = folder / f"{benchmark.name}.json"
    options = ("--quick",) if quick else benchmark.full
    command = [sys.executable, str(BENCH / f"{benchmark.name}.py"), *options,
               "--json", str(results)]
    outcome = Outcome(benchmark, [Path(command[1]).relative_to(BENCH.parent).as_posix(),
                                  *options])
    started = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=BENCH.parent, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        assert process.stdout is not None
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:
                lines.append(line)
                if verbose:
                    print(f"    {line}", end="", flush=True)
            outcome.exit_status = process.wait()
        except BaseException:
            process.kill()
            raise
        finally:
            watchdog.cancel()
    if time.perf_counter() - started >= timeout:
        outcome.failures.append(f"{benchmark.name}: killed after {timeout:g} s")
    outcome.seconds = time.perf_counter() - started
    outcome.output = "".join(lines)
    if results.exists():
        data = json.loads(results.read_text(encoding="utf-8"))
        outcome.figures = [figure_of(f) for f in data["figures"]]
        outcome.failures += [f"{benchmark.name}: {text}" for text in data["failures"]]
        outcome.settings = data.get("settings", {})
    elif outcome.exit_status == 0:  # its figures would silently be missing from the table
        outcome.failures.append(f"{benchmark.name}: ended without writing its results")
    if outcome.exit_status != 0 and not outcome.failures:
        tail = "".join(lines[-15:]).rstrip()
        outcome.failures.append(f"{benchmark.name}: exited with status "
                                f"{outcome.exit_status} without results:\n{tail}")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run every benchmark and print one table (see bench/README.md).")
    parser.add_argument("--quick", action="store_true",
                        help="each benchmark's --quick: under a minute, small sizes, for CI")
    parser.add_argument("--json", metavar="FILE", type=Path,
                        help="also write the results (machine, figures, failed checks, "
                             "each benchmark's output) to FILE")
    parser.add_argument("--only", metavar="NAME", action="append",
                        choices=[b.name for b in BENCHMARKS],
                        help="run only this benchmark (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show each benchmark's own output as it runs")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    plan = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    timeout = 180.0 if args.quick else 600.0

    started = time.perf_counter()
    print(f"chatshop benchmarks{' (--quick)' if args.quick else ''}: "
          f"{', '.join(b.name for b in plan)}")
    description = machine_description()
    for line in description:
        print(line)
    if not args.quick:
        print(f"expected: about {sum(b.seconds for b in plan) // 60 + 1} minutes")
    print(flush=True)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-run-") as folder:
        for n, benchmark in enumerate(plan, 1):
            print(f"[{n}/{len(plan)}] {benchmark.name} ...", end="\n" if args.verbose else " ",
                  flush=True)
            outcome = run_one(benchmark, args.quick, Path(folder), args.verbose, timeout)
            outcomes.append(outcome)
            verdict = "ok" if not outcome.failures else \
                f"FAILED ({len(outcome.failures)} check{'s' * (len(outcome.failures) > 1)})"
            print(f"{'' if not args.verbose else f'{benchmark.name}: '}"
                  f"{outcome.seconds:.0f} s, {verdict}", flush=True)
    wall = time.perf_counter() - started

    print()
    print(f"date    : {now_iso()}")
    for line in description:
        print(line)
    if args.quick:
        print("quick   : smaller sizes than the issues' (each script's --quick): the goals "
              "are the issues', 'met' is indicative only")
    print()
    print_table(FIGURE_HEADERS, [f.cells() for o in outcomes for f in o.figures])
    failures = [text for o in outcomes for text in o.failures]
    missed = [f.name for o in outcomes for f in o.figures if f.met is False]
    print()
    print(f"goals not met: {', '.join(missed) if missed else 'none'}")
    print(f"wall time: {wall:.0f} s")
    if args.json is not None:
        write_json(args.json, {
            "machine": {**machine_info(), "description": description},
            "date": now_iso(), "quick": args.quick, "wall_seconds": round(wall, 1),
            "figures": [{"benchmark": o.benchmark.name, **f.to_json()}
                        for o in outcomes for f in o.figures],
            "failures": failures,
            "benchmarks": [o.to_json() for o in outcomes]})
        print(f"written : {args.json}")
    print()
    if failures:
        print("FAILED checks:")
        for text in failures:
            print(f"  - {text}")
        return 1
    print("All correctness checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
