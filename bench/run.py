"""Every benchmark, one table: ``python bench/run.py [--quick] [--scale] [--json FILE]``.

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

``--scale`` (issue #13) runs instead the benchmarks whose cost must not grow faster than
the territory at two sizes, 10 000 (10 000 products, 10 000 subscribers, 200 shops) and
100 000 (100 000 products, 100 000 subscribers, 2 000 shops), and prints each figure at
both with their ratio and the issue's goal for it: search p95 ×≤ 1.5, digest compose
×≤ 10, peak RSS ×≤ 1.3, conversation core events/s ≥ 0.8 of its 10 000 figure; then the
load test, 5 000 customers thinking 10 s (about 500 updates/s offered) for 60 s through
the Telegram stack on the 100 000 territory (0 errors, 0 oversold, p99 reported). The
territory that conversation.py and load.py use is built once per size (bench/territory.py,
``--cache DIR`` to keep it for the next run). About 5 minutes on 2 cores; ``--scale
--quick`` runs 1 000 and 5 000 with a short load test, as a smoke test.

``--engine postgresql`` (issue #14) runs the benchmarks that take ``--engine``
(reservations with its curve of 1, 2, 3 client processes, search at 10 000 and 100 000
products, telegram_stack) with the store on PostgreSQL, on one throw-away cluster started
here (or ``--dsn``); ``--engine both`` runs each on SQLite and on PostgreSQL and prints
them side by side, then the curve.

The exit status is 1 if a correctness check failed (overselling, a lost delivery, an
error logged, a benchmark that crashed), never because of a figure: goals not met show
in the table's last column.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
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
    GoalOp,
    fmt_number,
    machine_description,
    machine_info,
    now_iso,
    print_table,
    with_unit,
    write_json,
)
from engines import ENGINES, engine_of, server_version

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    full: tuple[str, ...]  # options of the full run (the sizes, fewer rounds)
    seconds: int  # about how long the full run takes here, for the plan
    engines: bool = False  # takes --engine (bench/engines.py): runs on PostgreSQL too


BENCHMARKS = [
    Benchmark("reservations", ("--rounds", "3"), 10, engines=True),
    Benchmark("search", ("--repeat", "30", "--concurrent-searches", "800"), 10, engines=True),
    Benchmark("conversation", ("--rounds", "3"), 8),
    Benchmark("telegram_stack", ("--rounds", "3"), 30, engines=True),
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
    engine: str = "sqlite"
    size: str = ""  # a size other than the benchmark's usual one (« 100 000 products »)

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark.name, "engine": self.engine, "size": self.size,
                "command": self.command,
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
            timeout: float, tag: str = "", extra: Sequence[str] = (),
            shown: Sequence[str] | None = None) -> Outcome:
    """``extra``: more options (``shown``: as the command is recorded, without a DSN)."""
    results = folder / f"{benchmark.name}{tag}.json"
    options = (*(("--quick",) if quick else benchmark.full), *extra)
    command = [sys.executable, str(BENCH / f"{benchmark.name}.py"), *options,
               "--json", str(results)]
    recorded = options if shown is None else \
        (*(("--quick",) if quick else benchmark.full), *shown)
    outcome = Outcome(benchmark, [Path(command[1]).relative_to(BENCH.parent).as_posix(),
                                  *recorded])
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


# -- --scale: the same figures at two sizes ---------------------------------------------

@dataclass(frozen=True)
class Size:
    label: str
    products: int
    subscribers: int
    shops: int


SIZES = (Size("10 000", 10_000, 10_000, 200), Size("100 000", 100_000, 100_000, 2_000))
QUICK_SIZES = (Size("1 000", 1_000, 1_000, 20), Size("5 000", 5_000, 5_000, 100))


@dataclass(frozen=True)
class Growth:
    """A figure measured at both sizes, found by its name's start in the benchmark's
    JSON, and the goal the issue sets for its ratio (larger / smaller)."""

    benchmark: str
    prefix: str
    goal_op: GoalOp
    goal: float
    seconds: tuple[int, int]  # about how long each size takes here, for the plan
    paired: bool = False  # both sizes in one run (the larger, its rounds interleaved)

    def options(self, size: Size, cache: Path, other: Size | None = None
                ) -> tuple[str, ...]:
        """Its options at ``size`` (and, paired, with the ``other`` size too)."""
        p, u, s = str(size.products), str(size.subscribers), str(size.shops)
        if self.benchmark == "search":
            return ("--products", p, "--shops", s, "--repeat", "30", "--cache", str(cache))
        if self.benchmark == "digest":
            return ("--part", "compose", "--products", p, "--subscribers", u, "--shops", s,
                    "--repeat", "3", "--sample", "100", "--stale", "0")
        if self.benchmark == "memory":
            return ("--products", p, "--subscribers", u, "--shops", s)
        assert self.benchmark == "conversation"
        return ("--products", p, "--subscribers", u, "--shops", s, "--cache", str(cache),
                "--rounds", "10", *(("--compare", str(other.products)) if other else ()))


GROWTH = [
    Growth("search", "search p95", "<=", 1.5, (15, 30)),
    Growth("digest", "digest compose", "<=", 10.0, (5, 45)),
    Growth("memory", "peak RSS", "<=", 1.3, (10, 50)),
    Growth("conversation", "conversation core events/s", ">=", 0.8, (0, 60), paired=True),
]


def load_options(size: Size, cache: Path, quick: bool) -> tuple[str, ...]:
    """The issue's load test (5 000 customers thinking 10 s, for 60 s) on the larger
    territory; with --quick 500 customers thinking 1 s for 10 s."""
    crowd = ("--customers", "500", "--think", "1", "--seconds", "10") if quick else \
        ("--customers", "5000", "--think", "10", "--seconds", "60")
    return (*crowd, "--products", str(size.products), "--subscribers", str(size.subscribers),
            "--shops", str(size.shops), "--cache", str(cache))


@dataclass
class Grown:
    growth: Growth
    small: Figure | None
    large: Figure | None

    @property
    def ratio(self) -> float:
        if self.small is None or self.large is None or not self.small.value:
            return float("nan")
        return self.large.value / self.small.value

    @property
    def met(self) -> bool:
        ratio = self.ratio
        if math.isnan(ratio):
            return False
        return ratio <= self.growth.goal if self.growth.goal_op == "<=" else \
            ratio >= self.growth.goal

    def goal_text(self) -> str:
        return f"ratio {self.growth.goal_op} {self.growth.goal:g}"

    def cells(self) -> list[str]:
        def value(figure: Figure | None) -> str:
            return "n/a" if figure is None else \
                f"{fmt_number(figure.value)} {figure.unit}".rstrip()

        ratio = self.ratio
        return [self.growth.prefix, value(self.small), value(self.large),
                "n/a" if math.isnan(ratio) else f"{ratio:.2f}", self.goal_text(),
                "yes" if self.met else "NO"]

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.growth.benchmark, "figure": self.growth.prefix,
                "small": None if self.small is None else self.small.to_json(),
                "large": None if self.large is None else self.large.to_json(),
                "ratio": None if math.isnan(self.ratio) else self.ratio,
                "goal": self.growth.goal, "goal_op": self.growth.goal_op,
                "goal_text": self.goal_text(), "met": self.met}


def figure_named(outcome: Outcome | None, prefix: str, size: Size) -> Figure | None:
    """The figure whose name starts with ``prefix`` and names the size (« search p95,
    10 000 products », not « search p95, open loop at 200/s offered »)."""
    if outcome is None:
        return None
    sized = {f", {fmt_number(size.products)} ", f", {fmt_number(size.subscribers)} "}
    return next((f for f in outcome.figures if f.name.startswith(prefix)
                 and any(label in f"{f.name} " for label in sized)), None)


def build_territory(size: Size, cache: Path, timeout: float) -> tuple[float, str | None]:
    """bench/territory.py at ``size`` into ``cache``: (seconds, None or what failed)."""
    command = [sys.executable, str(BENCH / "territory.py"), "--products", str(size.products),
               "--subscribers", str(size.subscribers), "--shops", str(size.shops),
               "--cache", str(cache)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=BENCH.parent, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, f"territory {size.label}: killed after " \
            f"{timeout:g} s"
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return seconds, (f"territory {size.label}: exited with status {done.returncode}:\n"
                         + done.stderr.strip()[-1_500:])
    return seconds, None


def main_scale(args: argparse.Namespace) -> int:
    sizes = QUICK_SIZES if args.quick else SIZES
    small, large = sizes
    both = f"{small.label} + {large.label}"
    timeout = 180.0 if args.quick else 600.0
    started = time.perf_counter()
    print(f"chatshop benchmarks at two sizes{' (--quick)' if args.quick else ''}: "
          f"{small.label} and {large.label} (products and subscribers; {small.shops} and "
          f"{large.shops} shops): {', '.join(g.benchmark for g in GROWTH)}, then load")
    description = machine_description()
    for line in description:
        print(line)
    if not args.quick:
        planned = sum(sum(g.seconds) for g in GROWTH) + 20 + 90
        print(f"expected: about {planned // 60 + 1} minutes")
    print(flush=True)
    outcomes: dict[tuple[str, str], Outcome] = {}
    parts: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatshop-bench-scale-") as folder:
        cache = args.cache or Path(folder) / "territories"
        steps = [(g.benchmark, size.label, g.options(size, cache), g.seconds[i])
                 for g in GROWTH if not g.paired for i, size in enumerate(sizes)]
        steps += [(g.benchmark, both, g.options(large, cache, small), sum(g.seconds))
                  for g in GROWTH if g.paired]
        steps.append(("load", large.label, load_options(large, cache, args.quick), 90))
        total = len(steps) + len(sizes)
        # conversation.py's and load.py's territories, built once
        for n, size in enumerate(sizes, 1):
            print(f"[{n}/{total}] territory {size.label} ...", end=" ", flush=True)
            seconds, failed = build_territory(size, cache, timeout)
            parts.append({"benchmark": "territory", "size": size.label,
                          "seconds": round(seconds, 1),
                          "command": ["bench/territory.py", "--products", str(size.products),
                                      "--subscribers", str(size.subscribers), "--shops",
                                      str(size.shops), "--cache", "DIR"]})
            if failed:
                failures.append(failed)
            print(f"{seconds:.0f} s, {'ok' if not failed else 'FAILED'}", flush=True)
        for n, (name, label, options, estimate) in enumerate(steps, len(sizes) + 1):
            benchmark = Benchmark(name, options, estimate)
            print(f"[{n}/{total}] {name} {label} ...",
                  end="\n" if args.verbose else " ", flush=True)
            outcome = run_one(benchmark, False, Path(folder), args.verbose, timeout,
                              tag=f"-{n}")
            outcomes[name, label] = outcome
            parts.append({"benchmark": name, "size": label,
                          "seconds": round(outcome.seconds, 1), "command": outcome.command})
            failures += outcome.failures
            verdict = "ok" if not outcome.failures else \
                f"FAILED ({len(outcome.failures)} check{'s' * (len(outcome.failures) > 1)})"
            print(f"{'' if not args.verbose else f'{name} {label}: '}"
                  f"{outcome.seconds:.0f} s, {verdict}", flush=True)
    wall = time.perf_counter() - started

    grown = []
    for growth in GROWTH:
        found = [figure_named(outcomes.get((growth.benchmark,
                                            both if growth.paired else size.label)),
                              growth.prefix, size) for size in sizes]
        for size, figure in zip(sizes, found, strict=True):
            if figure is None:
                failures.append(f"{growth.benchmark} {size.label}: no figure named "
                                f"« {growth.prefix} … » in its results")
        grown.append(Grown(growth, *found))

    print()
    print(f"date    : {now_iso()}")
    for line in description:
        print(line)
    if args.quick:
        print(f"quick   : {small.label} and {large.label}, not the issue's 10 000 and "
              "100 000: 'met' is indicative only")
    print()
    print(f"Growth from {small.label} to {large.label} (ratio = at {large.label} / at "
          f"{small.label}):")
    print_table(["figure", f"at {small.label}", f"at {large.label}", "ratio", "goal", "met"],
                [g.cells() for g in grown])
    print()
    print("Every figure of these runs:")
    every = [f for o in outcomes.values() for f in o.figures]
    print_table([FIGURE_HEADERS[0], "size", *FIGURE_HEADERS[1:]],
                [[cells[0], size, *cells[1:]] for (_, size), o in outcomes.items()
                 for cells in (f.cells() for f in o.figures)])
    print()
    print("Time of each part:")
    print_table(["part", "size", "seconds"],
                [[p["benchmark"], p["size"], f"{p['seconds']:.0f}"] for p in parts])
    missed = [g.growth.prefix for g in grown if not g.met] + \
        [f.name for f in every if f.met is False]
    print()
    print(f"goals not met: {', '.join(missed) if missed else 'none'}")
    print(f"wall time: {wall:.0f} s")
    if args.json is not None:
        write_json(args.json, {
            "machine": {**machine_info(), "description": description},
            "date": now_iso(), "quick": args.quick, "scale": True,
            "sizes": [vars(size) for size in sizes], "wall_seconds": round(wall, 1),
            "growth": [g.to_json() for g in grown],
            "figures": [{"benchmark": o.benchmark.name, "size": size, **f.to_json()}
                        for (_, size), o in outcomes.items() for f in o.figures],
            "parts": parts, "failures": failures,
            "benchmarks": [{"size": size, **o.to_json()}
                           for (_, size), o in outcomes.items()]})
        print(f"written : {args.json}")
    return conclude(failures)


# -- --engine postgresql|both: the engine-aware benchmarks on PostgreSQL (issue #14) -----

CURVE = re.compile(r"^reservations/s, (\d+) process(?:es)?, (.+)$")
LARGE_SEARCH = ("--products", "100000", "--shops", "2000")


@dataclass(frozen=True)
class Step:
    benchmark: Benchmark
    engine: str
    size: str  # "" for the benchmark's usual size
    options: tuple[str, ...]


def engine_steps(plan: Sequence[Benchmark], engines: Sequence[str], quick: bool
                 ) -> list[Step]:
    """Each engine-aware benchmark on each engine, engines side by side; search also at
    100 000 products (but with --quick)."""
    steps = []
    for benchmark in plan:
        sizes: list[tuple[str, tuple[str, ...]]] = [("", ())]
        if benchmark.name == "search" and not quick:
            sizes.append(("100 000 products", LARGE_SEARCH))
        for size, options in sizes:
            steps += [Step(benchmark, engine, size, (*options, "--engine", engine))
                      for engine in engines]
    return steps


def sized_name(name: str, size: str) -> str:
    """A figure's name with the run's size when it does not say it already."""
    if not size or size.rsplit(" ", 1)[0] in name:
        return name
    return f"{name} ({size})"


def paired_name(name: str) -> str:
    """A figure's name as both engines' figures share it: « Telegram p99 at 179/s offered
    (half) » names the rate that engine measured."""
    return re.sub(r"at [\d ]+/s offered \(half\)", "at half the throughput offered", name)


def side_by_side(outcomes: Sequence[Outcome]) -> list[list[str]]:
    """figure | SQLite | ratio | PostgreSQL | ratio | PostgreSQL / SQLite | goal | met."""
    paired: dict[tuple[str, str], dict[str, Figure]] = {}
    for outcome in outcomes:
        for figure in outcome.figures:
            engine, name = engine_of(figure.name)
            if CURVE.match(name) or "/ 1 SQLite process" in name \
                    or name.startswith("reservations across processes"):
                continue  # the curve's own table
            paired.setdefault((outcome.benchmark.name,
                               paired_name(sized_name(name, outcome.size))),
                              {})[engine] = figure
    table = []
    for (_benchmark, name), found in paired.items():
        cells = [name]
        for engine in ENGINES:
            figure = found.get(engine)
            cells += ["", ""] if figure is None else \
                [with_unit(fmt_number(figure.value), figure.unit),
                 "" if figure.ratio is None else f"{figure.ratio:.2f}"]
        lite, pg = found.get("sqlite"), found.get("postgresql")
        versus = ""
        if lite is not None and pg is not None and lite.value and \
                not math.isnan(lite.value) and not math.isnan(pg.value):
            versus = f"{pg.value / lite.value:.2f}"
        any_figure = lite or pg
        assert any_figure is not None
        met = " / ".join("" if f is None else {None: "", True: "yes", False: "NO"}[f.met]
                         for f in (lite, pg)).strip(" /")
        cells += [versus, any_figure.goal_text(), met]
        table.append(cells)
    return table


def curve_table(outcomes: Sequence[Outcome]) -> list[list[str]]:
    """The 1, 2, 3 processes curve of reservations.py, one row per configuration."""
    rows: dict[tuple[str, int], dict[str, Figure]] = {}
    workloads: list[str] = []
    for outcome in outcomes:
        for figure in outcome.figures:
            engine, name = engine_of(figure.name)
            match = CURVE.match(name)
            if match:
                rows.setdefault((engine, int(match[1])), {})[match[2]] = figure
                if match[2] not in workloads:
                    workloads.append(match[2])
    table = []
    for (engine, n), found in sorted(rows.items(), key=lambda item: (item[0][0] != "sqlite",
                                                                       item[0][1])):
        cells = [f"{engine}, {n} process{'es' if n > 1 else ''}"]
        for workload in workloads:
            figure = found.get(workload)
            cells += ["", ""] if figure is None else \
                [with_unit(fmt_number(figure.value), "/s"),
                 "1.00" if figure.ratio is None else f"{figure.ratio:.2f}"]
        table.append(cells)
    return [[c for w in workloads for c in (f"{w}", "x SQLite 1 process")], *table]


def main_engines(args: argparse.Namespace, plan: Sequence[Benchmark]) -> int:
    engines = list(ENGINES) if args.engine == "both" else [args.engine]
    aware = [b for b in plan if b.engines]
    left = [b.name for b in plan if not b.engines]
    steps = engine_steps(aware, engines, args.quick)
    # search's 100 000 products on PostgreSQL: the build alone takes minutes here
    timeout = 180.0 if args.quick else 900.0
    started = time.perf_counter()
    print(f"chatshop benchmarks on {' and '.join(engines)}{' (--quick)' if args.quick else ''}"
          f": {', '.join(b.name for b in aware)}")
    if left:
        print(f"on SQLite only, not run here: {', '.join(left)}")
    description = machine_description()
    with contextlib.ExitStack() as stack:
        dsn = args.dsn
        if "postgresql" in engines and dsn is None:
            from tests.postgres_cluster import cluster

            dsn = stack.enter_context(cluster())
            print(f"server  : a throw-away cluster (tests/postgres_cluster.py) at {dsn}")
        if "postgresql" in engines:
            description.append(f"server  : {server_version(dsn)} on 127.0.0.1, the same "
                               "machine (fsync off)" if args.dsn is None else
                               f"server  : {server_version(dsn)} (--dsn)")
        for line in description:
            print(line)
        print(flush=True)
        outcomes: list[Outcome] = []
        with tempfile.TemporaryDirectory(prefix="chatshop-bench-run-") as folder:
            for n, step in enumerate(steps, 1):
                label = f"{step.benchmark.name} {step.engine}" + \
                    (f" {step.size}" if step.size else "")
                print(f"[{n}/{len(steps)}] {label} ...", end="\n" if args.verbose else " ",
                      flush=True)
                extra = (*step.options, *(("--dsn", dsn) if step.engine == "postgresql"
                                          and dsn else ()))
                outcome = run_one(step.benchmark, args.quick, Path(folder), args.verbose,
                                  timeout, tag=f"-{n}", extra=extra, shown=step.options)
                outcome.engine, outcome.size = step.engine, step.size
                outcomes.append(outcome)
                verdict = "ok" if not outcome.failures else \
                    f"FAILED ({len(outcome.failures)} check" \
                    f"{'s' * (len(outcome.failures) > 1)})"
                print(f"{'' if not args.verbose else f'{label}: '}"
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
    print_table(["engine", *FIGURE_HEADERS],
                [[o.engine, sized_name(engine_of(f.name)[1], o.size), *f.cells()[1:]]
                 for o in outcomes for f in o.figures])
    print()
    print("Side by side (ratio: to the baseline measured on the same engine in the same "
          "run; PostgreSQL / SQLite: of the values):")
    print_table(["figure", "SQLite", "ratio", "PostgreSQL", "ratio", "PostgreSQL / SQLite",
                 "goal", "met"], side_by_side(outcomes))
    curve = curve_table(outcomes)
    if len(curve) > 1:
        print()
        print("Reservations/s from N client processes on one database, each with its own "
              "store, the customers shared between them (reservations.py --processes):")
        print_table(["configuration", *curve[0]], curve[1:])
    failures = [text for o in outcomes for text in o.failures]
    missed = [f"{f.name} ({o.engine})" if o.engine == "sqlite" else f.name
              for o in outcomes for f in o.figures if f.met is False]
    print()
    print(f"goals not met: {', '.join(missed) if missed else 'none'}")
    print(f"wall time: {wall:.0f} s")
    if args.json is not None:
        write_json(args.json, {
            "machine": {**machine_info(), "description": description},
            "date": now_iso(), "quick": args.quick, "engines": engines,
            "wall_seconds": round(wall, 1),
            "figures": [{"benchmark": o.benchmark.name, "engine": o.engine, "size": o.size,
                         **f.to_json()} for o in outcomes for f in o.figures],
            "failures": failures,
            "benchmarks": [o.to_json() for o in outcomes]})
        print(f"written : {args.json}")
    return conclude(failures)


def conclude(failures: Sequence[str]) -> int:
    """The run's last words and exit status: 1 when a correctness check failed."""
    print()
    if failures:
        print("FAILED checks:")
        for text in failures:
            print(f"  - {text}")
        return 1
    print("All correctness checks passed.")
    return 0


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
    parser.add_argument("--scale", action="store_true",
                        help="search, digest compose, memory and the conversation core at "
                             "10 000 and at 100 000 with their ratios, then the load test "
                             "at 5 000 customers (issue #13; about 5 minutes)")
    parser.add_argument("--cache", metavar="DIR", type=Path,
                        help="with --scale: keep the built territories in DIR and reuse "
                             "them next time (default: a temporary folder)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"),
                        default="sqlite",
                        help="postgresql: the benchmarks that take --engine (reservations "
                             "with its 1, 2, 3 processes curve, search at 10 000 and 100 000 "
                             "products, telegram_stack) with the store on PostgreSQL, on a "
                             "throw-away cluster started here; both: each on SQLite and on "
                             "PostgreSQL, side by side (default: sqlite, every benchmark)")
    parser.add_argument("--dsn", metavar="DSN",
                        help="with --engine: a PostgreSQL server to create the benchmarks' "
                             "databases on, instead of starting a cluster")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.scale:
        if args.only:
            parser.error("--only does not apply to --scale")
        if args.engine != "sqlite":
            parser.error("--engine does not apply to --scale")
        return main_scale(args)
    if args.cache is not None:
        parser.error("--cache applies to --scale only")
    if args.dsn is not None and args.engine == "sqlite":
        parser.error("--dsn applies to --engine postgresql or both")
    plan = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    if args.engine != "sqlite":
        return main_engines(args, plan)
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
    return conclude(failures)


if __name__ == "__main__":
    sys.exit(main())
