"""Shared helpers for the hand-run benchmarks: a territory built the way the product
builds it (operator, communes, shops by invite), statistics, the machine description,
and the figures every benchmark returns (``Figure``, ``Result``) with their table and
JSON forms, for ``bench/run.py``.

Not a test module: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from chatshop.domain.models import Actor, Channel, Commune, Role, Shop
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

OPERATOR: tuple[Channel, str] = ("telegram", "1000")


@dataclass
class Territory:
    """An opened store, its services and the operator acting on them."""

    store: Store
    services: Services
    operator: Actor

    async def close(self) -> None:
        await self.store.close()

    async def commune(self, name: str, postcode: str) -> Commune:
        return await self.services.shops.add_commune(self.operator, name, postcode)

    async def open_shop(self, name: str, commune: Commune, owner_external_id: str,
                        owner_name: str = "") -> tuple[Shop, Actor]:
        """A shop and its owner, made by invite as in the product (and tests/conftest.py)."""
        shop = await self.services.shops.create_shop(self.operator, name, commune.id)
        invite = await self.services.shops.invite(self.operator, shop.id, Role.OWNER)
        owner = await self.services.customers.seen("telegram", owner_external_id,
                                                   owner_name or owner_external_id)
        await self.services.shops.accept_invite(owner.id, invite.code)
        return shop, self.services.customers.actor(owner)


async def open_territory(folder: Path, database: str | Path | None = None) -> Territory:
    """A fresh migrated database in ``folder`` (or ``database``: a file's path or a
    PostgreSQL DSN, see ``engines.py``) and services with one operator."""
    store = await open_store(folder / "bench.db" if database is None else database)
    services = build_services(store, operators=frozenset({OPERATOR}))
    operator_user = await services.customers.seen(*OPERATOR, "Office de tourisme")
    return Territory(store, services, services.customers.actor(operator_user))


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cpu_model() -> str:
    name = platform.processor()
    if name and name not in {"x86_64", "aarch64", "arm64", "i386"}:
        return name
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return name or platform.machine() or "unknown CPU"


def machine_info() -> dict[str, Any]:
    """Where the figures were measured, as data (the JSON's ``machine``)."""
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": aiosqlite.__version__,
    }


def machine_description() -> list[str]:
    """Lines saying where the figures were measured."""
    info = machine_info()
    return [
        f"machine : {info['cpu']} ({info['arch']}), os.cpu_count()={info['cores']},"
        f" {info['os']}",
        f"python  : {info['python']} ({info['implementation']}),"
        f" sqlite {info['sqlite']}, aiosqlite {info['aiosqlite']}",
    ]


def print_table(headers: Sequence[str], table: Sequence[Sequence[str]]) -> None:
    """A plain text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *table]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print(line(row))


def report_checks(failures: Sequence[str], all_passed: str) -> int:
    """Print the failed checks (exit status 1) or the all-clear line (exit status 0)."""
    print()
    if failures:
        print("FAILED checks:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print(all_passed)
    return 0


# -- figures, as bench/run.py collects them ---------------------------------------------

GoalOp = Literal[">=", "<=", "=="]


def with_unit(text: str, unit: str) -> str:
    """« 1 650/s », « 2.10 ms », « 0 »."""
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith(("/", "%", "×")) else f"{text} {unit}"


def fmt_number(value: float | None) -> str:
    """A figure for the table: spaces between thousands, fewer decimals as it grows."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    if value == int(value):
        return f"{value:,.0f}".replace(",", " ")
    size = abs(value)
    if size >= 100:
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:,.1f}"
    elif size >= 0.1 or size == 0:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return text.replace(",", " ")


@dataclass
class Figure:
    """One measured figure: its value, the baseline measured in the same run (if any) and
    their ratio (``value / baseline`` unless given), and the goal the issue sets (if
    any)."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    goal: float | None = None
    goal_op: GoalOp | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline is not None and self.baseline:
            self.ratio = self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """None without a goal; False for a value that could not be measured."""
        if self.goal is None or self.goal_op is None:
            return None
        if math.isnan(self.value):
            return False
        if self.goal_op == ">=":
            return self.value >= self.goal
        if self.goal_op == "<=":
            return self.value <= self.goal
        return self.value == self.goal

    def goal_text(self) -> str:
        if self.goal is None or self.goal_op is None:
            return ""
        goal = f"{self.goal:,g}".replace(",", " ")
        return f"{self.goal_op} {with_unit(goal, self.unit)}"

    def cells(self) -> list[str]:
        """figure | value | baseline | ratio | goal | met."""
        baseline = ""
        if self.baseline is not None:
            baseline = with_unit(fmt_number(self.baseline), self.unit)
            if self.baseline_name:
                baseline += f" ({self.baseline_name})"
        met = {None: "", True: "yes", False: "NO"}[self.met]
        return [self.name, with_unit(fmt_number(self.value), self.unit), baseline,
                "" if self.ratio is None else f"{self.ratio:.2f}", self.goal_text(), met]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": _finite(self.value), "unit": self.unit,
                "baseline": _finite(self.baseline), "baseline_name": self.baseline_name,
                "ratio": _finite(self.ratio), "goal": self.goal, "goal_op": self.goal_op,
                "goal_text": self.goal_text(), "met": self.met, "note": self.note}


FIGURE_HEADERS = ["figure", "value", "baseline", "ratio", "goal", "met"]


def _finite(value: float | None) -> float | None:
    """JSON has no NaN nor infinity: null instead."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value


@dataclass
class Result:
    """What one benchmark measured (its figures) and the correctness checks that failed."""

    benchmark: str
    figures: list[Figure]
    failures: list[str]
    all_passed: str = "All checks passed."
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "settings": self.settings,
                "figures": [f.to_json() for f in self.figures], "failures": self.failures}


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The options a benchmark ran with, for the JSON (``--json`` itself left out)."""
    return {k: v for k, v in vars(args).items() if k != "json"
            and isinstance(v, str | int | float | bool | None)}


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE",
                        help="also write the figures and failed checks to FILE as JSON "
                             "(what bench/run.py collects)")


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
                    + "\n", encoding="utf-8")


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def finish(result: Result, args: argparse.Namespace) -> int:
    """The end of a benchmark's own run: its JSON if asked, then the checks (exit
    status 1 if one failed)."""
    if getattr(args, "json", None):
        write_json(Path(args.json), {"machine": machine_info(), "date": now_iso(),
                                     **result.to_json()})
    return report_checks(result.failures, result.all_passed)
