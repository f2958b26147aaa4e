"""Shared helpers for the hand-run benchmarks: a territory built the way the product
builds it (operator, communes, shops by invite), statistics and the machine description.

Not a test module: nothing here is collected by pytest.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


async def open_territory(folder: Path) -> Territory:
    """A fresh migrated database in ``folder`` and services with one operator."""
    store = await open_store(folder / "bench.db")
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


def machine_description() -> list[str]:
    """Lines saying where the figures were measured."""
    return [
        f"machine : {_cpu_model()} ({platform.machine()}), os.cpu_count()={os.cpu_count()},"
        f" {platform.system()} {platform.release()}",
        f"python  : {sys.version.split()[0]} ({platform.python_implementation()}),"
        f" sqlite {sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__}",
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
