"""An event loop on virtual time, for the pacing and rate-limit tests: its clock jumps
straight to the next timer instead of waiting for it, so minutes of waiting take milliseconds and
the times a test reads are exact. Pacers get the loop's clock; ``asyncio.sleep`` on that loop is
the fake sleep that moves it."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that never blocks: where the loop would wait ``timeout`` seconds for its next
    timer, the virtual clock moves forward by ``timeout`` instead."""

    now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("deadlock: every task is waiting and no timer is set")
        self.now += max(0.0, timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: it starts at 0 and jumps to each timer when idle."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


@dataclass
class VirtualTime:
    loop: VirtualTimeLoop = field(default_factory=VirtualTimeLoop)

    def now(self) -> float:
        return self.loop.time()

    def run(self, scenario: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(scenario)


def virtual_time() -> Iterator[VirtualTime]:
    """A fresh virtual-time loop for one test, closed after it (a fixture's body)."""
    time = VirtualTime()
    yield time
    time.run(_cancel_leftovers())  # a failed scenario may leave tasks behind
    time.loop.run_until_complete(time.loop.shutdown_asyncgens())
    time.loop.close()


async def _cancel_leftovers() -> None:
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


def most_in_any_window(times: Sequence[float], period: float) -> int:
    """The largest number of ``times`` inside one window ``[t, t + period)``, over every t."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - period:
            start += 1
        most = max(most, end - start + 1)
    return most
